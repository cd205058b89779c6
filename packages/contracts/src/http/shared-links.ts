import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';
import { AlbumResponseDto } from './albums.ts';
import { AssetResponseDto } from './assets.ts';

/**
 * Shared links, owner side (docs/spec.md §4.4). Immich-compatible: SharedLinkCreateDto, SharedLinkEditDto,
 * SharedLinkResponseDto, AssetIdsDto, AssetIdsResponseDto of reference/immich-openapi-3.1.0.json.
 * immish additions (docs/spec.md §13): `changeExpiryTime` on edit (the seed's field), and on the response
 * `url`, `hasPassword`, `views`, `downloads`, `uploads`, `lastAccessedAt` (`password` is always null); the
 * limited-link fields `maxVisits|maxDownloads|maxUploads` (create, edit, response) and `visitsUsed|downloadsUsed|
 * uploadsUsed` (response).
 */

export const SharedLinkType = Type.Enum(['ALBUM', 'INDIVIDUAL'], { description: 'Shared link type' });
export type SharedLinkType = Type.Static<typeof SharedLinkType>;

/** Largest `assetIds` array accepted in one request. */
export const SHARED_LINK_MAX_ASSET_IDS = 10_000;
const AssetIdList = Type.Array(Uuid, { maxItems: SHARED_LINK_MAX_ASSET_IDS, description: 'Asset IDs' });

// PostgreSQL text cannot hold NUL characters: refuse them here (400) rather than fail in the database.
const Description = Type.Union([Type.String({ maxLength: 10_000, pattern: '^[^\\u0000]*$' }), Type.Null()], {
  description: 'Link description',
});
const Expiry = Type.Union([IsoDateTime, Type.Null()], {
  description: 'Expiration date (ISO-8601 with a time zone); null = never expires',
});
const Password = Type.Union([Type.String({ maxLength: 1024 }), Type.Null()], {
  description: 'Link password (stored as an argon2id hash). On edit, null or "" removes it',
});
// immish extensions (issue 19 item 3, guest-upload moderation); Immich clients do not send them.
const UploadReview = Type.Boolean({
  description: "immish: uploads through the link wait for the owner's review before anyone else sees them",
});
const MaxUploadBytes = Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
  description: 'immish: byte budget for uploads through the link; null = none',
});
const Slug = Type.Union([Type.String({ maxLength: 200 }), Type.Null()], {
  description: 'Custom URL slug: 3–40 of [A-Za-z0-9_-], unique case-insensitively, not a reserved word; null = none',
});

// Limited links (issue 19, README "Limited links"): immish extensions, absent from Immich's shapes (its clients
// simply don't send them). A positive integer caps that use; null (or absent on create) = no limit.
const UseLimit = (what: string) =>
  Type.Optional(
    Type.Union([Type.Integer({ minimum: 1, maximum: 2_147_483_647 }), Type.Null()], {
      description: `immish: at most this many ${what} (a positive integer); null = no limit`,
    }),
  );
const LinkLimitFields = {
  maxVisits: UseLimit('recipient visits (a new unlock, or a first page/`/me` load from a client not seen in 30 min)'),
  maxDownloads: UseLimit('downloads started (originals and export archives)'),
  maxUploads: UseLimit('files uploaded through the link'),
};

export const SharedLinkCreateDto = Type.Object(
  {
    type: SharedLinkType,
    assetIds: Type.Optional(AssetIdList),
    albumId: Type.Optional(Uuid),
    description: Type.Optional(Description),
    expiresAt: Type.Optional(Expiry),
    allowDownload: Type.Optional(Type.Boolean({ default: true, description: 'Allow downloads' })),
    allowUpload: Type.Optional(Type.Boolean({ default: false, description: 'Allow uploads (immish default: false)' })),
    showMetadata: Type.Optional(Type.Boolean({ default: true, description: 'Show metadata' })),
    password: Type.Optional(Password),
    slug: Type.Optional(Slug),
    ...LinkLimitFields,
    uploadReview: Type.Optional(UploadReview),
    maxUploadBytes: Type.Optional(MaxUploadBytes),
  },
  { additionalProperties: false },
);
export type SharedLinkCreateDto = Type.Static<typeof SharedLinkCreateDto>;

export const SharedLinkEditDto = Type.Object(
  {
    description: Type.Optional(Description),
    expiresAt: Type.Optional(Expiry),
    /**
     * The seed's field. true: apply `expiresAt` (absent = never expires); false: keep the expiry whatever
     * `expiresAt` says. Absent: a present `expiresAt` (null included) is applied, an absent one keeps it.
     */
    changeExpiryTime: Type.Optional(
      Type.Boolean({ description: 'true: apply expiresAt (absent = never); false: keep the current expiry' }),
    ),
    allowDownload: Type.Optional(Type.Boolean({ description: 'Allow downloads' })),
    allowUpload: Type.Optional(Type.Boolean({ description: 'Allow uploads' })),
    showMetadata: Type.Optional(Type.Boolean({ description: 'Show metadata' })),
    password: Type.Optional(Password),
    slug: Type.Optional(Slug),
    ...LinkLimitFields,
    uploadReview: Type.Optional(UploadReview),
    maxUploadBytes: Type.Optional(MaxUploadBytes),
  },
  { additionalProperties: false },
);
export type SharedLinkEditDto = Type.Static<typeof SharedLinkEditDto>;

export const SharedLinkSearchQuery = Type.Object({
  albumId: Type.Optional(Uuid),
  id: Type.Optional(Uuid),
});
export type SharedLinkSearchQuery = Type.Static<typeof SharedLinkSearchQuery>;

export const SharedLinkResponseDto = Type.Object(
  {
    id: Uuid,
    description: Type.Union([Type.String(), Type.Null()]),
    /** Always null: immish stores only an argon2id hash (docs/spec.md §13); see `hasPassword`. */
    password: Type.Union([Type.String(), Type.Null()], { description: 'Always null (see hasPassword)' }),
    hasPassword: Type.Boolean({ description: 'immish: the link is password-protected' }),
    userId: Uuid,
    key: Type.String({ description: 'Link key (base64url, 256 bits)' }),
    type: SharedLinkType,
    createdAt: IsoDateTime,
    expiresAt: Type.Union([IsoDateTime, Type.Null()]),
    assets: Type.Array(AssetResponseDto, { description: 'INDIVIDUAL links: the assets; ALBUM links: []' }),
    album: Type.Optional(AlbumResponseDto),
    allowUpload: Type.Boolean(),
    allowDownload: Type.Boolean(),
    showMetadata: Type.Boolean(),
    slug: Type.Union([Type.String(), Type.Null()]),
    url: Type.String({ description: 'immish: the share URL ({PUBLIC_URL}/share/{slug or key})' }),
    views: Type.Integer({ description: 'immish: share page/API views' }),
    downloads: Type.Integer({ description: 'immish: downloads through the link' }),
    uploads: Type.Integer({ description: 'immish: files uploaded through the link' }),
    lastAccessedAt: Type.Union([IsoDateTime, Type.Null()], { description: 'immish: last recipient access' }),
    maxVisits: Type.Union([Type.Integer(), Type.Null()], { description: 'immish: visit limit (null = none)' }),
    maxDownloads: Type.Union([Type.Integer(), Type.Null()], { description: 'immish: download limit (null = none)' }),
    maxUploads: Type.Union([Type.Integer(), Type.Null()], { description: 'immish: upload limit (null = none)' }),
    visitsUsed: Type.Integer({ description: 'immish: visits counted against maxVisits' }),
    downloadsUsed: Type.Integer({ description: 'immish: downloads started, counted against maxDownloads' }),
    uploadsUsed: Type.Integer({ description: 'immish: uploads accepted, counted against maxUploads' }),
    uploadReview: Type.Optional(UploadReview),
    maxUploadBytes: Type.Optional(MaxUploadBytes),
    uploadBytes: Type.Optional(Type.Integer({ description: 'immish: bytes taken by uploads through the link' })),
  },
  { description: 'Shared link response' },
);
export type SharedLinkResponseDto = Type.Static<typeof SharedLinkResponseDto>;

export const AssetIdsDto = Type.Object({ assetIds: AssetIdList }, { additionalProperties: false });
export type AssetIdsDto = Type.Static<typeof AssetIdsDto>;

export const AssetIdErrorReason = Type.Enum(['duplicate', 'no_permission', 'not_found'], {
  description: 'Error reason if failed',
});
export type AssetIdErrorReason = Type.Static<typeof AssetIdErrorReason>;

export const AssetIdsResponseDto = Type.Object({
  assetId: Uuid,
  success: Type.Boolean(),
  error: Type.Optional(AssetIdErrorReason),
});
export type AssetIdsResponseDto = Type.Static<typeof AssetIdsResponseDto>;

/** immish: whether a custom URL (slug) may be used, for the console's as-you-type check. */
export const SlugAvailabilityQuery = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 200 }) });
export const SlugAvailabilityDto = Type.Object({
  slug: Type.String(),
  available: Type.Boolean(),
  /** why not: the slug rule in words, or that another link has it */
  problem: Type.Union([Type.String(), Type.Null()]),
});
export type SlugAvailabilityDto = Type.Static<typeof SlugAvailabilityDto>;

// Guest-upload moderation (issue 19 item 3): the owner's review queue of a link with `uploadReview`.
export const LinkUploadStatus = Type.Enum(['pending', 'approved', 'rejected'], {
  description: 'pending: waiting for the owner; approved: placed in the album/link; rejected: deleted',
});
export type LinkUploadStatus = Type.Static<typeof LinkUploadStatus>;

export const LinkUploadsQuery = Type.Object({ status: Type.Optional(LinkUploadStatus) });
export type LinkUploadsQuery = Type.Static<typeof LinkUploadsQuery>;

export const LinkUploadDto = Type.Object({
  assetId: Uuid,
  status: LinkUploadStatus,
  bytes: Type.Integer(),
  fileName: Type.String(),
  type: Type.String({ description: 'IMAGE | VIDEO | OTHER' }),
  /** null until the ingest worker has made it (or for a rejected upload) */
  thumbnailUrl: Type.Union([Type.String(), Type.Null()], {
    description: "the owner's thumbnail URL (/api/assets/{id}/thumbnail); null until ingested or once rejected",
  }),
  createdAt: IsoDateTime,
  decidedAt: Type.Union([IsoDateTime, Type.Null()]),
});
export type LinkUploadDto = Type.Static<typeof LinkUploadDto>;

export const LinkUploadDecisionDto = Type.Object(
  { assetIds: Type.Array(Uuid, { minItems: 1, maxItems: 1000, description: 'pending uploads of the link' }) },
  { additionalProperties: false },
);
export type LinkUploadDecisionDto = Type.Static<typeof LinkUploadDecisionDto>;

export const LinkUploadDecisionResponseDto = Type.Object({
  status: LinkUploadStatus,
  assetIds: Type.Array(Uuid),
});
export type LinkUploadDecisionResponseDto = Type.Static<typeof LinkUploadDecisionResponseDto>;
