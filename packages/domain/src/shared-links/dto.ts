import type { AlbumResponseDto, AssetResponseDto, SharedLinkResponseDto } from '@immish/contracts';
import type { Db, SharedLinkRow } from '@immish/db';
import { listAlbumDtos, listAlbumDtosWithoutViewer } from '../albums/queries.ts';
import { toAssetResponseDto } from '../assets/dto.ts';
import { limitFieldsOf } from './limits.ts';
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
    ...limitFieldsOf(link),
    ...uploadModerationDto(link),
  };
}

/** The guest-upload moderation options (issue 19 item 3), immish extensions of the response. */
const uploadModerationDto = (link: SharedLinkRow) => ({
  uploadReview: link.upload_review,
  maxUploadBytes: link.max_upload_bytes === null ? null : Number(link.max_upload_bytes),
  uploadBytes: Number(link.upload_bytes),
});

/**
 * Albums of ALBUM links as Immich's AlbumResponseDto (no assets), by album id, as `viewerId` (the links'
 * owner) sees them (`listAlbumDtos`, two queries for any number), and for an album the owner is no longer a
 * member of, without a viewer (`listAlbumDtosWithoutViewer`); both map through albums/dto.ts.
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
  for (const [id, album] of await listAlbumDtosWithoutViewer(db, rest)) result.set(id, album);
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
