import type { AlbumResponseDto, CreateAlbumDto, NewEvent, UpdateAlbumDto } from '@immish/contracts';
import { invalid } from '@immish/contracts';
import { appendEvents, type Db } from '@immish/db';
import { shareableAssetIds } from './album-assets.ts';
import { memberAddedEvents, resolveNewMembers } from './members.ts';
import {
  type AlbumCaller,
  albumActor,
  albumSubject,
  getAlbumDto,
  insertAlbum,
  insertAlbumAssets,
  insertMembers,
  isLiveAlbumAsset,
  lockAlbum,
  revokeAlbumLinks,
  softDeleteAlbum,
  updateAlbumRow,
} from './queries.ts';

/**
 * Albums (docs/spec.md §4.3, Immich-compatible). Every change writes its docs/spec.md §6 event in the same transaction.
 * Authorization happens in the route through the access module; these functions enforce the album rules.
 */

/**
 * `POST /api/albums`: the caller becomes the owner (an `album_users` row with role `owner`); `albumUsers`
 * are added (role `owner` or an unknown user → 400; the caller and repeats are skipped); `assetIds` the
 * caller may not share are dropped silently, like Immich.
 */
export async function createAlbum(db: Db, caller: AlbumCaller, dto: CreateAlbumDto): Promise<AlbumResponseDto> {
  const albumId = await db.transaction().execute(async (trx) => {
    const members = await resolveNewMembers(trx, null, caller.userId, dto.albumUsers ?? []);
    const assetIds = await shareableAssetIds(trx, caller.userId, dto.assetIds ?? []);
    const album = {
      id: await insertAlbum(trx, {
        ownerId: caller.userId,
        name: dto.albumName,
        description: dto.description ?? '',
        thumbnailAssetId: assetIds[0] ?? null,
      }),
    };
    await insertMembers(trx, album.id, [{ userId: caller.userId, role: 'owner' }, ...members]);
    if (assetIds.length > 0) await insertAlbumAssets(trx, album.id, assetIds, caller.userId);
    const events: NewEvent[] = [
      {
        type: 'album.created',
        ...albumActor(caller),
        subject: albumSubject(album.id),
        data: { albumId: album.id, ownerId: caller.userId },
      },
      ...memberAddedEvents(caller, album.id, members),
    ];
    if (assetIds.length > 0) {
      events.push({
        type: 'album.assets-added',
        ...albumActor(caller),
        subject: albumSubject(album.id),
        data: { albumId: album.id, assetIds },
      });
    }
    await appendEvents(trx, events);
    return album.id;
  });
  return getAlbumDto(db, caller.userId, albumId);
}

/** `PATCH /api/albums/:id`: name, description, thumbnail (must be an asset of the album), activity, order. */
export async function updateAlbum(
  db: Db,
  caller: AlbumCaller,
  albumId: string,
  dto: UpdateAlbumDto,
): Promise<AlbumResponseDto> {
  await db.transaction().execute(async (trx) => {
    await lockAlbum(trx, albumId);
    const changed: string[] = [];
    const set: {
      name?: string;
      description?: string;
      thumbnail_asset_id?: string;
      is_activity_enabled?: boolean;
      sort_order?: 'asc' | 'desc';
    } = {};
    if (dto.albumName !== undefined) set.name = dto.albumName;
    if (dto.description !== undefined) set.description = dto.description ?? '';
    if (dto.isActivityEnabled !== undefined) set.is_activity_enabled = dto.isActivityEnabled;
    if (dto.order !== undefined) set.sort_order = dto.order;
    if (dto.albumThumbnailAssetId !== undefined) {
      if (!(await isLiveAlbumAsset(trx, albumId, dto.albumThumbnailAssetId)))
        throw invalid('albumThumbnailAssetId must be an asset of this album');
      set.thumbnail_asset_id = dto.albumThumbnailAssetId;
    }
    for (const key of Object.keys(dto) as (keyof UpdateAlbumDto)[]) if (dto[key] !== undefined) changed.push(key);
    if (changed.length === 0) return;
    await updateAlbumRow(trx, albumId, set);
    await appendEvents(trx, [
      { type: 'album.updated', ...albumActor(caller), subject: albumSubject(albumId), data: { albumId, changed } },
    ]);
  });
  return getAlbumDto(db, caller.userId, albumId);
}

/**
 * `DELETE /api/albums/:id`: soft delete (`deleted_at`): the album disappears from every listing and route.
 * Its shared links go with it (deleted in the same transaction, each with its `shared-link.deleted` event,
 * so the gateway drops them from its cache).
 */
export async function deleteAlbum(db: Db, caller: AlbumCaller, albumId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockAlbum(trx, albumId);
    await softDeleteAlbum(trx, albumId);
    const revoked = await revokeAlbumLinks(trx, caller, albumId, null);
    await appendEvents(trx, [
      { type: 'album.deleted', ...albumActor(caller), subject: albumSubject(albumId), data: { albumId } },
      ...revoked,
    ]);
  });
}
