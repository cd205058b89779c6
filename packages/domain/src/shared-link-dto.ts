import type { AssetResponseDto, SharedLinkResponseDto } from '@immish/contracts';
import type { AlbumRole, Db, SharedLinkRow } from '@immish/db';
import { assetColumns, toAssetResponseDto } from './assets.ts';
import { shareUrl } from './shared-link-rules.ts';
import { toUserDto } from './users.ts';

/** Immich's AlbumResponseDto, as embedded in a link response (without the album's assets). */
export interface LinkAlbumDto {
  id: string;
  albumName: string;
  description: string;
  albumThumbnailAssetId: string | null;
  albumUsers: { role: AlbumRole; user: ReturnType<typeof toUserDto> }[];
  assetCount: number;
  createdAt: string;
  updatedAt: string;
  hasSharedLink: boolean;
  isActivityEnabled: boolean;
  order: 'asc' | 'desc';
  shared: boolean;
}

/**
 * SharedLinkResponseDto of one link, from its row and its already-mapped assets/album. `password` is always
 * null (only the argon2id hash is stored; SPEC §13) and `hasPassword` says whether there is one.
 */
export function toSharedLinkResponseDto(
  link: SharedLinkRow,
  opts: { publicUrl: string; assets?: readonly AssetResponseDto[]; album?: LinkAlbumDto | null },
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

/** Assets of INDIVIDUAL links, by link id, in the order they were added. One query for any number of links. */
export async function loadLinkAssets(db: Db, linkIds: readonly string[]): Promise<Map<string, AssetResponseDto[]>> {
  const byLink = new Map<string, AssetResponseDto[]>();
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
    list.push(toAssetResponseDto(asset));
  }
  return byLink;
}

/**
 * Albums of ALBUM links as Immich's AlbumResponseDto (no assets), by album id: two queries for any number.
 * Local mapper until the albums module offers a bulk one; the shape follows the reference document.
 */
export async function loadLinkAlbums(db: Db, albumIds: readonly string[]): Promise<Map<string, LinkAlbumDto>> {
  const result = new Map<string, LinkAlbumDto>();
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
          .where('assets.trashed_at', 'is', null)
          .as('asset_count'),
      ])
      .where('albums.id', 'in', ids)
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
  const usersByAlbum = new Map<string, LinkAlbumDto['albumUsers']>();
  for (const { album_id, role, ...user } of members) {
    const list = usersByAlbum.get(album_id) ?? [];
    if (list.length === 0) usersByAlbum.set(album_id, list);
    list.push({ role, user: toUserDto(user) });
  }
  for (const a of albums) {
    const users = usersByAlbum.get(a.id) ?? [];
    // Immich: the first entry is always the owner.
    users.sort((x, y) => Number(y.user.id === a.owner_id) - Number(x.user.id === a.owner_id));
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
    });
  }
  return result;
}

/** Response DTOs of many links with a fixed number of queries (no N+1), in the order given. */
export async function toSharedLinkResponseDtos(
  db: Db,
  links: readonly SharedLinkRow[],
  publicUrl: string,
): Promise<SharedLinkResponseDto[]> {
  const individual = links.filter((l) => l.type === 'INDIVIDUAL').map((l) => l.id);
  const albumIds = links.flatMap((l) => (l.album_id ? [l.album_id] : []));
  const [assets, albums] = await Promise.all([loadLinkAssets(db, individual), loadLinkAlbums(db, albumIds)]);
  return links.map((link) =>
    toSharedLinkResponseDto(link, {
      publicUrl,
      assets: assets.get(link.id) ?? [],
      album: link.album_id ? (albums.get(link.album_id) ?? null) : null,
    }),
  );
}
