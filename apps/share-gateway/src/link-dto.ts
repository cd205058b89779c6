import type { AssetResponseDto, SharedLinkResponseDto } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { type LinkAlbumDto, toAssetResponseDto, toSharedLinkResponseDto } from '@immish/domain';
import type { ActiveLink } from './link-resolver.ts';

/**
 * What a recipient sees of a link (Immich's SharedLinkResponseDto, SPEC §5.3), through the shared-links
 * serializer. Assets go through the sanitized shape when the link hides metadata. The album is reduced to
 * what a recipient needs: name, description, counts and dates (no member list, so no owner e-mail).
 */
export function toRecipientAsset(link: ActiveLink, row: AssetRow): AssetResponseDto {
  return toAssetResponseDto(row, { hideMetadata: !link.link.show_metadata });
}

export function toRecipientAlbum(link: ActiveLink, assetCount: number): LinkAlbumDto {
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
  return toSharedLinkResponseDto(link.link, {
    publicUrl,
    assets: assets.map((row) => toRecipientAsset(link, row)),
    album: link.album ? toRecipientAlbum(link, albumAssetCount) : null,
  });
}
