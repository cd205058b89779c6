import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';
import { AssetResponseDto } from './assets.ts';
import { UserResponseDto } from './users.ts';

// Albums and members (docs/spec.md §4.3), Immich-compatible shapes (reference/immich-openapi-3.1.0.json).

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const AlbumUserRole = Type.Enum(['editor', 'owner', 'viewer']);
export type AlbumUserRole = Type.Static<typeof AlbumUserRole>;
export const AssetOrder = Type.Enum(['asc', 'desc']);
export type AssetOrder = Type.Static<typeof AssetOrder>;

export const AlbumUserResponseDto = Type.Object({ role: AlbumUserRole, user: UserResponseDto });
export type AlbumUserResponseDto = Type.Static<typeof AlbumUserResponseDto>;

export const ContributorCountResponseDto = Type.Object({ userId: Uuid, assetCount: Type.Integer({ minimum: 0 }) });

/**
 * Immich 3.1's AlbumResponseDto. `albumUsers` always starts with the owner, then the caller (when not the
 * owner), then the rest by name. immish adds `ownerId` and `owner` (older Immich clients read them).
 * `startDate`, `endDate`, `lastModifiedAssetTimestamp` are present only when the album has assets.
 */
export const AlbumResponseDto = Type.Object({
  id: Uuid,
  albumName: Type.String(),
  description: Type.String(),
  albumThumbnailAssetId: Nullable(Uuid),
  albumUsers: Type.Array(AlbumUserResponseDto, { minItems: 1 }),
  assetCount: Type.Integer({ minimum: 0 }),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  hasSharedLink: Type.Boolean(),
  isActivityEnabled: Type.Boolean(),
  shared: Type.Boolean(),
  order: AssetOrder,
  startDate: Type.Optional(IsoDateTime),
  endDate: Type.Optional(IsoDateTime),
  lastModifiedAssetTimestamp: Type.Optional(IsoDateTime),
  contributorCounts: Type.Optional(Type.Array(ContributorCountResponseDto)),
  ownerId: Uuid,
  owner: UserResponseDto,
});
export type AlbumResponseDto = Type.Static<typeof AlbumResponseDto>;

const AlbumName = Type.String({ maxLength: 1000 });
const AlbumDescription = Nullable(Type.String({ maxLength: 10_000 }));
const IdList = Type.Array(Uuid, { maxItems: 10_000 });

export const AlbumUserCreateDto = Type.Object({ userId: Uuid, role: AlbumUserRole }, { additionalProperties: false });

export const CreateAlbumDto = Type.Object(
  {
    albumName: AlbumName,
    description: Type.Optional(AlbumDescription),
    assetIds: Type.Optional(IdList),
    albumUsers: Type.Optional(Type.Array(AlbumUserCreateDto, { maxItems: 1000 })),
  },
  { additionalProperties: false },
);
export type CreateAlbumDto = Type.Static<typeof CreateAlbumDto>;

export const UpdateAlbumDto = Type.Object(
  {
    albumName: Type.Optional(AlbumName),
    description: Type.Optional(AlbumDescription),
    albumThumbnailAssetId: Type.Optional(Uuid),
    isActivityEnabled: Type.Optional(Type.Boolean()),
    order: Type.Optional(AssetOrder),
  },
  { additionalProperties: false },
);
export type UpdateAlbumDto = Type.Static<typeof UpdateAlbumDto>;

/** Immich's BulkIdsDto. */
export const BulkIdsDto = Type.Object({ ids: IdList }, { additionalProperties: false });
export type BulkIdsDto = Type.Static<typeof BulkIdsDto>;

/** Immich's BulkIdErrorReason (immish never answers `validation` per id: a malformed id fails the whole body). */
export const BulkIdErrorReason = Type.Enum(['duplicate', 'no_permission', 'not_found', 'unknown']);
export type BulkIdErrorReason = Type.Static<typeof BulkIdErrorReason>;

export const BulkIdResponseDto = Type.Object({
  id: Uuid,
  success: Type.Boolean(),
  error: Type.Optional(BulkIdErrorReason),
  errorMessage: Type.Optional(Type.String()),
});
export type BulkIdResponseDto = Type.Static<typeof BulkIdResponseDto>;

/** Immich's AlbumUserAddDto: `role` defaults to `editor`. */
export const AlbumUserAddDto = Type.Object(
  { userId: Uuid, role: Type.Optional(AlbumUserRole) },
  { additionalProperties: false },
);
export const AddUsersDto = Type.Object(
  { albumUsers: Type.Array(AlbumUserAddDto, { minItems: 1, maxItems: 1000 }) },
  { additionalProperties: false },
);
export type AddUsersDto = Type.Static<typeof AddUsersDto>;

export const UpdateAlbumUserDto = Type.Object({ role: AlbumUserRole }, { additionalProperties: false });
export type UpdateAlbumUserDto = Type.Static<typeof UpdateAlbumUserDto>;

/**
 * `GET /api/albums` filters: Immich 3.1's (`id`, `name`, `isOwned`, `isShared`, `assetId`) and the older
 * `shared` (true: albums with other members or a shared link, or shared with me; false: my albums that are
 * not shared). No filter: every album I own or am a member of. `assetId` ignores the other filters.
 */
export const GetAlbumsQuery = Type.Object(
  {
    assetId: Type.Optional(Uuid),
    id: Type.Optional(Uuid),
    name: Type.Optional(Type.String({ maxLength: 1000 })),
    isOwned: Type.Optional(Type.Boolean()),
    isShared: Type.Optional(Type.Boolean()),
    shared: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type GetAlbumsQuery = Type.Static<typeof GetAlbumsQuery>;

export const AlbumIdParams = Type.Object({ id: Uuid });
/** `userId` is a user id or `me` (Immich: "me" references the caller). */
export const AlbumUserParams = Type.Object({
  id: Uuid,
  userId: Type.Union([Uuid, Type.Literal('me')]),
});

/** immish: `GET /api/albums/:id/assets?page=1&size=100`. */
export const AlbumAssetsQuery = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    size: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);
export type AlbumAssetsQuery = Type.Static<typeof AlbumAssetsQuery>;

export const AlbumAssetsPageDto = Type.Object({
  items: Type.Array(AssetResponseDto),
  total: Type.Integer({ minimum: 0 }),
  page: Type.Integer({ minimum: 1 }),
  size: Type.Integer({ minimum: 1 }),
});
export type AlbumAssetsPageDto = Type.Static<typeof AlbumAssetsPageDto>;

/** Immich's AlbumsAddAssetsDto (`PUT /api/albums/assets`): every asset into every album. */
export const AlbumsAddAssetsDto = Type.Object(
  { albumIds: Type.Array(Uuid, { maxItems: 1000 }), assetIds: IdList },
  { additionalProperties: false },
);
export type AlbumsAddAssetsDto = Type.Static<typeof AlbumsAddAssetsDto>;

/** Immich's AlbumsAddAssetsResponseDto: success when anything was added; else why not. */
export const AlbumsAddAssetsResponseDto = Type.Object({
  success: Type.Boolean(),
  error: Type.Optional(BulkIdErrorReason),
});
export type AlbumsAddAssetsResponseDto = Type.Static<typeof AlbumsAddAssetsResponseDto>;

/** Immich's AlbumStatisticsResponseDto (`GET /api/albums/statistics`). */
export const AlbumStatisticsResponseDto = Type.Object({
  owned: Type.Integer({ minimum: 0 }),
  shared: Type.Integer({ minimum: 0 }),
  notShared: Type.Integer({ minimum: 0 }),
});
export type AlbumStatisticsResponseDto = Type.Static<typeof AlbumStatisticsResponseDto>;
