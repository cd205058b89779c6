import type { AlbumResponseDto, AssetResponseDto, SharedLinkResponseDto, UserResponseDto } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { toAlbumResponseDto, toAssetResponseDto, toSharedLinkResponseDto, toUserDto } from '@immish/domain';
import type { ActiveLink } from './link-resolver.ts';

/**
 * What a recipient sees of a link (Immich's SharedLinkResponseDto, docs/spec.md §5.3), through the shared-links
 * serializer. Assets go through the sanitized shape when the link hides metadata. The album is reduced to
 * what a recipient needs: name, description, counts, dates and the owner (anonymous when metadata is hidden).
 */
/**
 * Who owns what when a link hides metadata. Immich's schema pins ids to UUIDv4, which the nil UUID is not,
 * so a fixed v4-shaped id stands for "hidden" (NOTE for domain/assets/dto.ts: its NIL_UUID fails that pattern).
 */
export const HIDDEN_OWNER_ID = '00000000-0000-4000-8000-000000000000';

/** Who the recipient is told shared the link: the id every owner field carries, and the owner's user DTO. */
export interface RecipientIdentity {
  ownerId: string;
  owner: UserResponseDto;
  /** the asset's `ownerId` as the recipient sees it */
  assetOwnerId(row: Pick<AssetRow, 'owner_id'>): string;
}

/**
 * THE one place that decides the owner identity a recipient sees (docs/spec.md §14 "no owner identifier on a
 * metadata-hiding link", issue 12 item 3): the link's `userId`, the album's `ownerId`, `owner` and
 * `albumUsers`, and every asset's `ownerId` (an album editor's asset included) all come from here. When the
 * link hides metadata they are all HIDDEN_OWNER_ID and an anonymous user; otherwise Immich's real values.
 */
export function recipientIdentity(link: ActiveLink): RecipientIdentity {
  if (link.link.show_metadata) {
    return { ownerId: link.link.owner_id, owner: toUserDto(link.owner), assetOwnerId: (row) => row.owner_id };
  }
  return {
    ownerId: HIDDEN_OWNER_ID,
    owner: {
      id: HIDDEN_OWNER_ID,
      // Immich's schema requires an e-mail address; `.invalid` is reserved (RFC 2606) and reveals nothing
      email: 'hidden@immish.invalid',
      name: '',
      avatarColor: 'primary',
      profileImagePath: '',
      profileChangedAt: link.link.created_at.toISOString(),
    },
    assetOwnerId: () => HIDDEN_OWNER_ID,
  };
}

export function toRecipientAsset(link: ActiveLink, row: AssetRow): AssetResponseDto {
  if (link.link.show_metadata) return toAssetResponseDto(row);
  return { ...toAssetResponseDto(row, { hideMetadata: true }), ownerId: recipientIdentity(link).assetOwnerId(row) };
}

/** The album of an ALBUM link as a recipient sees it: albums/dto.ts's mapper, told only what a recipient may know. */
export function toRecipientAlbum(link: ActiveLink, assetCount: number): AlbumResponseDto {
  const { owner } = recipientIdentity(link);
  return toAlbumResponseDto(
    // activity (comments, likes) is the members' business, not a recipient's
    { ...link.album!, is_activity_enabled: false },
    // other members are none of a recipient's business; no dates: the link's assets say them
    { owner, albumUsers: [{ role: 'owner', user: owner }], assetCount, hasSharedLink: true, shared: true },
  );
}

export function toRecipientLinkDto(
  publicUrl: string,
  link: ActiveLink,
  assets: AssetRow[],
  albumAssetCount = assets.length,
): SharedLinkResponseDto {
  const dto = toSharedLinkResponseDto(link.link, {
    publicUrl,
    assets: assets.map((row) => toRecipientAsset(link, row)),
    album: link.album ? toRecipientAlbum(link, albumAssetCount) : null,
  });
  return { ...dto, userId: recipientIdentity(link).ownerId };
}
