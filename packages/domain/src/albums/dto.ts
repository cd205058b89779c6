import type { AlbumResponseDto, UserResponseDto } from '@immish/contracts';
import type { AlbumRow } from '@immish/db';

/** The album columns the DTO shows. */
export type AlbumDtoRow = Pick<
  AlbumRow,
  | 'id'
  | 'name'
  | 'description'
  | 'thumbnail_asset_id'
  | 'created_at'
  | 'updated_at'
  | 'is_activity_enabled'
  | 'sort_order'
>;

/** What the album row alone does not say, computed by the caller's query (or chosen by the recipient view). */
export interface AlbumDtoParts {
  /** the owner as this viewer is told (its id is the DTO's `ownerId`) */
  owner: UserResponseDto;
  /** Immich's order: the owner first */
  albumUsers: AlbumResponseDto['albumUsers'];
  /** live (not trashed) assets */
  assetCount: number;
  hasSharedLink: boolean;
  shared: boolean;
  /** the oldest and newest asset times and the last asset change; given only when the album has assets */
  dates?: { start: Date; end: Date; lastModified: Date } | null;
}

/**
 * THE mapping of an album to Immich's AlbumResponseDto: the owner's and members' listings (`listAlbumDtos`), the
 * albums of an owner's links (`loadLinkAlbums`), and the recipient's view of an ALBUM link (the share gateway,
 * which builds on this one with what a recipient may see).
 */
export function toAlbumResponseDto(album: AlbumDtoRow, parts: AlbumDtoParts): AlbumResponseDto {
  return {
    id: album.id,
    albumName: album.name,
    description: album.description,
    albumThumbnailAssetId: album.thumbnail_asset_id,
    albumUsers: parts.albumUsers,
    assetCount: parts.assetCount,
    createdAt: album.created_at.toISOString(),
    updatedAt: album.updated_at.toISOString(),
    hasSharedLink: parts.hasSharedLink,
    isActivityEnabled: album.is_activity_enabled,
    order: album.sort_order,
    shared: parts.shared,
    ...(parts.assetCount > 0 && parts.dates
      ? {
          startDate: parts.dates.start.toISOString(),
          endDate: parts.dates.end.toISOString(),
          lastModifiedAssetTimestamp: parts.dates.lastModified.toISOString(),
        }
      : {}),
    ownerId: parts.owner.id,
    owner: parts.owner,
  };
}
