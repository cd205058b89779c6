import type { AlbumResponseDto, AssetResponseDto, SharedLinkResponseDto } from '@immish/contracts';
import type { AssetRow, Db, SharedLinkRow } from '@immish/db';
import { assetNotTrashed } from '../access.ts';
import { listAlbumDtos } from '../albums/queries.ts';
import { toAssetResponseDto } from '../assets/dto.ts';
import { assetColumns } from '../assets/queries.ts';
import { toUserDto } from '../identity/dto.ts';
import type { LinkWithAssets } from './queries.ts';
import { shareUrl } from './rules.ts';

/**
 * SharedLinkResponseDto of one link, from its row and its already-mapped assets/album. `password` is always
 * null (only the argon2id hash is stored; docs/spec.md §13) and `hasPassword` says whether there is one.
 */
export function toSharedLinkResponseDto(
  link: SharedLinkRow,
  opts: { publicUrl: string; assets?: readonly AssetResponseDto[]; album?: AlbumResponseDto | null },
): SharedLinkResponseDto {
  return {
    id: link.id,
    description: link.description,
    password: null,
    hasPassword: link.password_hash !== null,
    userId: link.owner_id,
    key: link.key,
    type: link.type,
    createdAt: link.created_at.toISOString(),
    expiresAt: link.expires_at ? link.expires_at.toISOString() : null,
    assets: [...(opts.assets ?? [])],
    ...(opts.album ? { album: opts.album } : {}),
    allowUpload: link.allow_upload,
    allowDownload: link.allow_download,
    showMetadata: link.show_metadata,
    slug: link.slug,
    url: shareUrl(opts.publicUrl, link),
    views: Number(link.view_count),
    downloads: Number(link.download_count),
    uploads: Number(link.upload_count),
    lastAccessedAt: link.last_accessed_at ? link.last_accessed_at.toISOString() : null,
  };
}

/** Asset rows of INDIVIDUAL links, by link id, in the order they were added: one query for any number of links. */
export async function loadLinkAssetRows(db: Db, linkIds: readonly string[]): Promise<Map<string, AssetRow[]>> {
  const byLink = new Map<string, AssetRow[]>();
  if (linkIds.length === 0) return byLink;
  const rows = await db
    .selectFrom('shared_link_assets')
    .innerJoin('assets', 'assets.id', 'shared_link_assets.asset_id')
    .select([...assetColumns, 'shared_link_assets.link_id'])
    .where('shared_link_assets.link_id', 'in', linkIds)
    .orderBy('shared_link_assets.added_at')
    .orderBy('assets.id')
    .execute();
  for (const { link_id, ...asset } of rows) {
    const list = byLink.get(link_id) ?? [];
    if (list.length === 0) byLink.set(link_id, list);
    list.push(asset);
  }
  return byLink;
}

/**
 * Albums of ALBUM links as Immich's AlbumResponseDto (no assets), by album id, as `viewerId` (the links'
 * owner) sees them: the albums module's mapper (`listAlbumDtos`, two queries for any number), and for an
 * album the owner is no longer a member of, the minimal mapper below.
 */
export async function loadLinkAlbums(
  db: Db,
  viewerId: string,
  albumIds: readonly string[],
): Promise<Map<string, AlbumResponseDto>> {
  const ids = [...new Set(albumIds)];
  if (ids.length === 0) return new Map();
  const result = new Map<string, AlbumResponseDto>((await listAlbumDtos(db, viewerId, { ids })).map((a) => [a.id, a]));
  const rest = ids.filter((id) => !result.has(id));
  for (const [id, album] of await loadAlbumsMinimal(db, rest)) result.set(id, album);
  return result;
}

/** AlbumResponseDto of any albums (no viewer), two queries for any number. */
async function loadAlbumsMinimal(db: Db, albumIds: readonly string[]): Promise<Map<string, AlbumResponseDto>> {
  const result = new Map<string, AlbumResponseDto>();
  const ids = [...new Set(albumIds)];
  if (ids.length === 0) return result;
  const [albums, members] = await Promise.all([
    db
      .selectFrom('albums')
      .selectAll('albums')
      .select((eb) => [
        eb
          .selectFrom('album_assets')
          .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
          .select((e) => e.fn.countAll<string>().as('n'))
          .whereRef('album_assets.album_id', '=', 'albums.id')
          .where(assetNotTrashed())
          .as('asset_count'),
      ])
      .where('albums.id', 'in', ids)
      .where('albums.deleted_at', 'is', null)
      .execute(),
    db
      .selectFrom('album_users')
      .innerJoin('users', 'users.id', 'album_users.user_id')
      .selectAll('users')
      .select(['album_users.album_id', 'album_users.role'])
      .where('album_users.album_id', 'in', ids)
      .orderBy('users.name')
      .execute(),
  ]);
  const usersByAlbum = new Map<string, AlbumResponseDto['albumUsers']>();
  for (const { album_id, role, ...user } of members) {
    const list = usersByAlbum.get(album_id) ?? [];
    if (list.length === 0) usersByAlbum.set(album_id, list);
    list.push({ role, user: toUserDto(user) });
  }
  for (const a of albums) {
    const users = usersByAlbum.get(a.id) ?? [];
    // Immich: the first entry is always the owner.
    users.sort((x, y) => Number(y.user.id === a.owner_id) - Number(x.user.id === a.owner_id));
    const owner = users[0]?.user;
    if (!owner || owner.id !== a.owner_id) continue; // no owner row: the link is shown without its album
    result.set(a.id, {
      id: a.id,
      albumName: a.name,
      description: a.description,
      albumThumbnailAssetId: a.thumbnail_asset_id,
      albumUsers: users,
      assetCount: Number(a.asset_count ?? 0),
      createdAt: a.created_at.toISOString(),
      updatedAt: a.updated_at.toISOString(),
      hasSharedLink: true,
      isActivityEnabled: a.is_activity_enabled,
      order: a.sort_order,
      shared: true,
      ownerId: a.owner_id,
      owner,
    });
  }
  return result;
}

/** Response DTOs of links loaded by `findLinksWithAssets`, in the order given (albums: two more queries at most). */
export async function toSharedLinkResponseDtos(
  db: Db,
  viewerId: string,
  links: readonly LinkWithAssets[],
  publicUrl: string,
): Promise<SharedLinkResponseDto[]> {
  const albumIds = links.flatMap((l) => (l.link.album_id ? [l.link.album_id] : []));
  const albums = await loadLinkAlbums(db, viewerId, albumIds);
  return links.map(({ link, assets }) =>
    toSharedLinkResponseDto(link, {
      publicUrl,
      assets: assets.map((a) => toAssetResponseDto(a)),
      album: link.album_id ? (albums.get(link.album_id) ?? null) : null,
    }),
  );
}
