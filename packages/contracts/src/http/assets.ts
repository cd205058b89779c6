import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';
import { UserResponseDto } from './users.ts';

// Immich-compatible asset shapes (reference/immich-openapi-3.1.0.json), plus immish's processing status.

const Nullable = <T extends Type.TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const AssetTypeEnum = Type.Enum(['IMAGE', 'VIDEO', 'AUDIO', 'OTHER']);
export type AssetTypeEnum = Type.Static<typeof AssetTypeEnum>;
export const AssetVisibility = Type.Enum(['archive', 'timeline', 'hidden', 'locked']);

/** immish: where an asset is in the ingest pipeline (docs/spec.md §3). */
export const AssetProcessingStatus = Type.Enum(['uploaded', 'processing', 'ready', 'failed']);
export type AssetProcessingStatus = Type.Static<typeof AssetProcessingStatus>;

/** Immich's ExifResponseDto: every field optional and nullable. */
export const ExifResponseDto = Type.Object({
  make: Type.Optional(Nullable(Type.String())),
  model: Type.Optional(Nullable(Type.String())),
  exifImageWidth: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  exifImageHeight: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  fileSizeInByte: Type.Optional(Nullable(Type.Integer({ minimum: 0 }))),
  orientation: Type.Optional(Nullable(Type.String())),
  dateTimeOriginal: Type.Optional(Nullable(IsoDateTime)),
  modifyDate: Type.Optional(Nullable(IsoDateTime)),
  timeZone: Type.Optional(Nullable(Type.String())),
  lensModel: Type.Optional(Nullable(Type.String())),
  fNumber: Type.Optional(Nullable(Type.Number())),
  focalLength: Type.Optional(Nullable(Type.Number())),
  iso: Type.Optional(Nullable(Type.Integer())),
  exposureTime: Type.Optional(Nullable(Type.String())),
  latitude: Type.Optional(Nullable(Type.Number())),
  longitude: Type.Optional(Nullable(Type.Number())),
  city: Type.Optional(Nullable(Type.String())),
  state: Type.Optional(Nullable(Type.String())),
  country: Type.Optional(Nullable(Type.String())),
  description: Type.Optional(Nullable(Type.String())),
  projectionType: Type.Optional(Nullable(Type.String())),
  rating: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 5 }))),
});
export type ExifResponseDto = Type.Static<typeof ExifResponseDto>;

/**
 * Immich's AssetResponseDto (required fields exactly as the reference), plus the immish fields
 * `status` and `error` (the failure reason when `status` is `failed`).
 * People, tags and stacks do not exist in immish: `people`/`tags` are omitted (optional in Immich).
 */
export const AssetResponseDto = Type.Object({
  id: Uuid,
  type: AssetTypeEnum,
  checksum: Type.String({ description: 'Base64 encoded SHA1 hash' }),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  fileCreatedAt: IsoDateTime,
  fileModifiedAt: IsoDateTime,
  localDateTime: IsoDateTime,
  duration: Nullable(Type.Integer({ minimum: 0, description: 'milliseconds (null for still images)' })),
  width: Nullable(Type.Integer({ minimum: 0 })),
  height: Nullable(Type.Integer({ minimum: 0 })),
  thumbhash: Nullable(Type.String({ description: 'base64' })),
  hasMetadata: Type.Boolean(),
  isArchived: Type.Boolean(),
  isEdited: Type.Boolean(),
  isFavorite: Type.Boolean(),
  isOffline: Type.Boolean(),
  isTrashed: Type.Boolean(),
  originalFileName: Type.String(),
  originalPath: Type.String(),
  ownerId: Uuid,
  visibility: AssetVisibility,
  originalMimeType: Type.Optional(Type.String()),
  owner: Type.Optional(UserResponseDto),
  exifInfo: Type.Optional(ExifResponseDto),
  libraryId: Type.Optional(Nullable(Uuid)),
  livePhotoVideoId: Type.Optional(Nullable(Type.String())),
  duplicateId: Type.Optional(Nullable(Uuid)),
  stack: Type.Optional(Type.Null()),
  resized: Type.Optional(Type.Boolean()),
  status: AssetProcessingStatus,
  error: Type.Optional(Type.String()),
  /**
   * immish: a video a browser cannot play as it is gets an H.264/AAC MP4 rendition made in the background; its
   * state and progress (0–100). Absent for everything that plays as it is.
   */
  rendition: Type.Optional(
    Type.Object({
      status: Type.Union([
        Type.Literal('queued'),
        Type.Literal('running'),
        Type.Literal('ready'),
        Type.Literal('failed'),
      ]),
      progress: Type.Integer({ minimum: 0, maximum: 100 }),
    }),
  ),
});
export type AssetResponseDto = Type.Static<typeof AssetResponseDto>;

/**
 * Immich's SanitizedAssetResponseDto (what a link with showMetadata=false may reveal, docs/spec.md §5.3).
 * `toAssetResponseDto(row, { hideMetadata: true })` returns the full AssetResponseDto shape filled
 * from these fields only (see packages/domain/src/assets/dto.ts); this schema is for routes that want
 * to answer with the narrow shape itself.
 */
export const SanitizedAssetDto = Type.Object({
  id: Uuid,
  type: AssetTypeEnum,
  thumbhash: Nullable(Type.String()),
  originalMimeType: Type.Optional(Type.String()),
  localDateTime: IsoDateTime,
  duration: Nullable(Type.Integer({ minimum: 0 })),
  width: Nullable(Type.Integer({ minimum: 0 })),
  height: Nullable(Type.Integer({ minimum: 0 })),
  hasMetadata: Type.Boolean(),
  livePhotoVideoId: Type.Optional(Nullable(Type.String())),
});
export type SanitizedAssetDto = Type.Static<typeof SanitizedAssetDto>;

// POST /api/assets ------------------------------------------------------------------------------

export const AssetMediaStatus = Type.Enum(['created', 'duplicate']);
export const AssetMediaResponseDto = Type.Object({ id: Uuid, status: AssetMediaStatus });
export type AssetMediaResponseDto = Type.Static<typeof AssetMediaResponseDto>;

/**
 * The non-file fields of Immich's AssetMediaCreateDto as they arrive in multipart (all strings).
 * Parsed by `parseAssetMediaFields`; unknown fields (e.g. the CLI's `fileSize`) are ignored.
 */
export const AssetMediaCreateFields = Type.Object({
  fileCreatedAt: IsoDateTime,
  fileModifiedAt: IsoDateTime,
  filename: Type.Optional(Type.String({ maxLength: 1024 })),
  deviceAssetId: Type.Optional(Type.String({ maxLength: 1024 })),
  deviceId: Type.Optional(Type.String({ maxLength: 1024 })),
  duration: Type.Optional(Type.String({ maxLength: 64 })),
  isFavorite: Type.Optional(Type.Boolean()),
});
export type AssetMediaCreateFields = Type.Static<typeof AssetMediaCreateFields>;

/** Query of `POST /api/assets` (`key`/`slug`: upload through a shared link, share-gateway). */
export const AssetUploadQuery = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 200 })),
  slug: Type.Optional(Type.String({ maxLength: 200 })),
});

// POST /api/assets/bulk-upload-check ---------------------------------------------------------------

export const AssetBulkUploadCheckItem = Type.Object(
  {
    id: Type.String({ maxLength: 4096 }),
    checksum: Type.String({ maxLength: 128, description: 'Base64 or hex encoded SHA1 hash' }),
  },
  { additionalProperties: false },
);
export const AssetBulkUploadCheckDto = Type.Object(
  { assets: Type.Array(AssetBulkUploadCheckItem, { maxItems: 10_000 }) },
  { additionalProperties: false },
);
export type AssetBulkUploadCheckDto = Type.Static<typeof AssetBulkUploadCheckDto>;

export const AssetUploadAction = Type.Enum(['accept', 'reject']);
export const AssetRejectReason = Type.Enum(['duplicate', 'unsupported-format']);
export const AssetBulkUploadCheckResult = Type.Object({
  id: Type.String(),
  action: AssetUploadAction,
  reason: Type.Optional(AssetRejectReason),
  assetId: Type.Optional(Uuid),
  isTrashed: Type.Optional(Type.Boolean()),
});
export type AssetBulkUploadCheckResult = Type.Static<typeof AssetBulkUploadCheckResult>;
export const AssetBulkUploadCheckResponseDto = Type.Object({ results: Type.Array(AssetBulkUploadCheckResult) });
export type AssetBulkUploadCheckResponseDto = Type.Static<typeof AssetBulkUploadCheckResponseDto>;

// GET /api/assets/:id/thumbnail, /original ----------------------------------------------------------

export const AssetMediaSize = Type.Enum(['original', 'fullsize', 'preview', 'thumbnail']);
export type AssetMediaSize = Type.Static<typeof AssetMediaSize>;
export const AssetThumbnailQuery = Type.Object({
  size: Type.Optional(AssetMediaSize),
  key: Type.Optional(Type.String({ maxLength: 200 })),
  slug: Type.Optional(Type.String({ maxLength: 200 })),
  c: Type.Optional(Type.String({ maxLength: 200, description: 'cache buster (thumbhash), ignored' })),
  edited: Type.Optional(Type.String({ maxLength: 10 })),
});
export const AssetOriginalQuery = Type.Object({
  key: Type.Optional(Type.String({ maxLength: 200 })),
  slug: Type.Optional(Type.String({ maxLength: 200 })),
  c: Type.Optional(Type.String({ maxLength: 200 })),
  edited: Type.Optional(Type.String({ maxLength: 10 })),
});

// DELETE /api/assets, GET /api/assets/statistics ---------------------------------------------------

export const AssetBulkDeleteDto = Type.Object(
  {
    ids: Type.Array(Uuid, { maxItems: 10_000 }),
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type AssetBulkDeleteDto = Type.Static<typeof AssetBulkDeleteDto>;

export const AssetStatsQuery = Type.Object({
  isFavorite: Type.Optional(Type.Boolean()),
  isTrashed: Type.Optional(Type.Boolean()),
  visibility: Type.Optional(AssetVisibility),
});
export type AssetStatsQuery = Type.Static<typeof AssetStatsQuery>;
export const AssetStatsResponseDto = Type.Object({
  images: Type.Integer(),
  videos: Type.Integer(),
  total: Type.Integer(),
});
export type AssetStatsResponseDto = Type.Static<typeof AssetStatsResponseDto>;
