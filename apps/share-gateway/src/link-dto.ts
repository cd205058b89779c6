import type { AlbumResponseDto, AssetResponseDto, SharedLinkResponseDto, UserResponseDto } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { toAssetResponseDto, toSharedLinkResponseDto, toUserDto } from '@immish/domain';
import type { ActiveLink } from './link-resolver.ts';

/**
 * What a recipient sees of a link (Immich's SharedLinkResponseDto, SPEC §5.3), through the shared-links
 * serializer. Assets go through the sanitized shape when the link hides metadata. The album is reduced to
 * what a recipient needs: name, description, counts, dates and the owner (anonymous when metadata is hidden).
 */
/**
 * Who owns what when a link hides metadata. Immich's schema pins ids to UUIDv4, which the nil UUID is not,
 * so a fixed v4-shaped id stands for "hidden" (NOTE for domain/assets.ts: its NIL_UUID fails that pattern).
 */
export const HIDDEN_OWNER_ID = '00000000-0000-4000-8000-000000000000';

export function toRecipientAsset(link: ActiveLink, row: AssetRow): AssetResponseDto {
  if (link.link.show_metadata) return toAssetResponseDto(row);
  return { ...toAssetResponseDto(row, { hideMetadata: true }), ownerId: HIDDEN_OWNER_ID };
}

/** Who shared it: the owner as Immich shows them, or nobody in particular when the link hides metadata. */
function recipientOwner(link: ActiveLink): UserResponseDto {
  if (link.link.show_metadata) return toUserDto(link.owner);
  return {
    id: HIDDEN_OWNER_ID,
    // Immich's schema requires an e-mail address; `.invalid` is reserved (RFC 2606) and reveals nothing
    email: 'hidden@immish.invalid',
    name: '',
    avatarColor: 'primary',
    profileImagePath: '',
    profileChangedAt: link.link.created_at.toISOString(),
  };
}

export function toRecipientAlbum(link: ActiveLink, assetCount: number): AlbumResponseDto {
  const album = link.album!;
  const owner = recipientOwner(link);
  return {
    id: album.id,
    albumName: album.name,
    description: album.description,
    albumThumbnailAssetId: album.thumbnail_asset_id,
    // other members are none of a recipient's business
    albumUsers: [{ role: 'owner', user: owner }],
    assetCount,
    createdAt: album.created_at.toISOString(),
    updatedAt: album.updated_at.toISOString(),
    hasSharedLink: true,
    isActivityEnabled: false,
    order: album.sort_order,
    shared: true,
    ownerId: owner.id,
    owner,
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
