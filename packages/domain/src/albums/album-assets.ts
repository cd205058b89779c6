import type { AlbumAssetsPageDto, AlbumsAddAssetsResponseDto, BulkIdResponseDto } from '@immish/contracts';
import { type AlbumRole, appendEvents, type Db } from '@immish/db';
import { checkAccess } from '../access.ts';
import { toAssetResponseDto } from '../assets/dto.ts';
import {
  type AlbumCaller,
  albumActor,
  albumAssetPage,
  albumAssetsAmong,
  albumSubject,
  deleteAlbumAssets,
  insertAlbumAssets,
  lockAlbum,
  newestLiveAlbumAsset,
  touchAlbumThumbnail,
} from './queries.ts';

/**
 * Album assets (docs/spec.md §4.3) with Immich's per-id results. The route has checked the album permission;
 * here: an asset can be added only by someone who may share it (its owner); an editor removes only the
 * assets they added.
 */

/** Assets the user may put into an album, in request order (ids not allowed are dropped). */
export async function shareableAssetIds(db: Db, userId: string, ids: readonly string[]): Promise<string[]> {
  const allowed = await checkAccess(db, userId, 'asset.share', ids);
  return [...new Set(ids)].filter((id) => allowed.has(id));
}

/** `PUT /api/albums/:id/assets`: `duplicate` (already in the album or repeated), `no_permission`, or success. */
export async function addAssetsToAlbum(
  db: Db,
  caller: AlbumCaller,
  albumId: string,
  ids: readonly string[],
): Promise<BulkIdResponseDto[]> {
  return db.transaction().execute(async (trx) => {
    const album = await lockAlbum(trx, albumId);
    const unique = [...new Set(ids)];
    const present = new Set((await albumAssetsAmong(trx, albumId, unique)).map((r) => r.asset_id));
    const allowed = await checkAccess(trx, caller.userId, 'asset.share', unique);
    const seen = new Set<string>();
    const added: string[] = [];
    const results: BulkIdResponseDto[] = ids.map((id) => {
      if (present.has(id) || seen.has(id)) return { id, success: false, error: 'duplicate' };
      seen.add(id);
      if (!allowed.has(id)) return { id, success: false, error: 'no_permission' };
      added.push(id);
      return { id, success: true };
    });
    if (added.length > 0) {
      await insertAlbumAssets(trx, albumId, added, caller.userId);
      await touchAlbumThumbnail(trx, albumId, album.thumbnail_asset_id ?? added[0]!);
      await appendEvents(trx, [
        {
          type: 'album.assets-added',
          ...albumActor(caller),
          subject: albumSubject(albumId),
          data: { albumId, assetIds: added },
        },
      ]);
    }
    return results;
  });
}

/** `DELETE /api/albums/:id/assets`: `not_found` (not in the album), `no_permission` (editor, not theirs), or success. */
export async function removeAssetsFromAlbum(
  db: Db,
  caller: AlbumCaller,
  albumId: string,
  callerRole: AlbumRole,
  ids: readonly string[],
): Promise<BulkIdResponseDto[]> {
  return db.transaction().execute(async (trx) => {
    const album = await lockAlbum(trx, albumId);
    const unique = [...new Set(ids)];
    const rows = await albumAssetsAmong(trx, albumId, unique);
    const addedBy = new Map(rows.map((r) => [r.asset_id, r.added_by]));
    const removed: string[] = [];
    const results: BulkIdResponseDto[] = ids.map((id) => {
      if (!addedBy.has(id) || removed.includes(id)) return { id, success: false, error: 'not_found' };
      if (callerRole === 'editor' && addedBy.get(id) !== caller.userId) {
        return { id, success: false, error: 'no_permission' };
      }
      if (callerRole === 'viewer') return { id, success: false, error: 'no_permission' };
      removed.push(id);
      return { id, success: true };
    });
    if (removed.length > 0) {
      await deleteAlbumAssets(trx, albumId, removed);
      let thumbnail = album.thumbnail_asset_id;
      if (thumbnail && removed.includes(thumbnail)) thumbnail = (await newestLiveAlbumAsset(trx, albumId)) ?? null;
      await touchAlbumThumbnail(trx, albumId, thumbnail);
      await appendEvents(trx, [
        {
          type: 'album.assets-removed',
          ...albumActor(caller),
          subject: albumSubject(albumId),
          data: { albumId, assetIds: removed },
        },
      ]);
    }
    return results;
  });
}

/** immish `GET /api/albums/:id/assets`: one page of the album's assets, newest first (trashed ones hidden). */
export async function listAlbumAssets(
  db: Db,
  albumId: string,
  page: number,
  size: number,
): Promise<AlbumAssetsPageDto> {
  const { rows, total } = await albumAssetPage(db, albumId, page, size);
  return { items: rows.map((r) => toAssetResponseDto(r)), total, page, size };
}

/**
 * Immich's `PUT /api/albums/assets`: every asset the caller may share into every album they may add to.
 * Like Immich: `no_permission` when no album or no asset is allowed, `duplicate` when nothing was new.
 */
export async function addAssetsToAlbums(
  db: Db,
  caller: AlbumCaller,
  albumIds: readonly string[],
  assetIds: readonly string[],
): Promise<AlbumsAddAssetsResponseDto> {
  const albums = await checkAccess(db, caller.userId, 'album.addAssets', albumIds);
  if (albums.size === 0) return { success: false, error: 'no_permission' };
  const assets = await shareableAssetIds(db, caller.userId, assetIds);
  if (assets.length === 0) return { success: false, error: 'no_permission' };
  let added = false;
  for (const albumId of new Set(albumIds)) {
    if (!albums.has(albumId)) continue;
    const results = await addAssetsToAlbum(db, caller, albumId, assets);
    added ||= results.some((r) => r.success);
  }
  return added ? { success: true } : { success: false, error: 'duplicate' };
}
