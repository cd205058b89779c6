import type { AssetResponseDto, SharedLinkResponseDto } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { shareUrl, toAssetResponseDto } from '@immish/domain';
import type { ActiveLink } from './link-resolver.ts';

/**
 * What a recipient sees of a link (Immich's SharedLinkResponseDto, SPEC §5.3). Assets go through the
 * sanitized shape when the link hides metadata. The album is reduced to what a recipient needs: name,
 * description, counts and dates (no member list, no owner).
 */
export function toRecipientAsset(link: ActiveLink, row: AssetRow): AssetResponseDto {
  return toAssetResponseDto(row, { hideMetadata: !link.link.show_metadata });
}

export function toRecipientAlbum(link: ActiveLink, assetCount: number): Record<string, unknown> & { id: string } {
  const album = link.album!;
  return {
    id: album.id,
    albumName: album.name,
    description: album.description,
    albumThumbnailAssetId: album.thumbnail_asset_id,
    albumUsers: [],
    assetCount,
    createdAt: album.created_at.toISOString(),
    updatedAt: album.updated_at.toISOString(),
    hasSharedLink: true,
    isActivityEnabled: false,
    order: album.sort_order,
    shared: true,
  };
}

export function toRecipientLinkDto(
  publicUrl: string,
  link: ActiveLink,
  assets: AssetRow[],
  albumAssetCount = assets.length,
): SharedLinkResponseDto {
  const l = link.link;
  return {
    id: l.id,
    description: l.description,
    password: null,
    hasPassword: l.password_hash !== null,
    userId: l.owner_id,
    key: l.key,
    type: l.type,
    createdAt: l.created_at.toISOString(),
    expiresAt: l.expires_at ? l.expires_at.toISOString() : null,
    assets: assets.map((row) => toRecipientAsset(link, row)),
    ...(link.album ? { album: toRecipientAlbum(link, albumAssetCount) } : {}),
    allowUpload: l.allow_upload,
    allowDownload: l.allow_download,
    showMetadata: l.show_metadata,
    slug: l.slug,
    url: shareUrl(publicUrl, l),
    views: Number(l.view_count),
    downloads: Number(l.download_count),
    uploads: Number(l.upload_count),
    lastAccessedAt: l.last_accessed_at ? l.last_accessed_at.toISOString() : null,
  };
}
