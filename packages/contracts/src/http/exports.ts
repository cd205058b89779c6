import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';
import type { DomainEvent } from '../events.ts';

/**
 * Exports (docs/spec.md §4.5, §5.3, §7): a zip archive of assets built in the background by the export
 * worker and downloaded in one or more parts.
 */

/** Smallest `maxPartSize` accepted (1 MiB): smaller parts would mostly be zip headers. */
export const MIN_EXPORT_PART_SIZE = 1024 * 1024;
/** Largest `maxPartSize` accepted (1 TiB); absent = one archive whatever its size. */
export const MAX_EXPORT_PART_SIZE = 1024 ** 4;

export const ExportStatus = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('ready'),
  Type.Literal('failed'),
  Type.Literal('expired'),
]);
export type ExportStatusDto = Type.Static<typeof ExportStatus>;

const MaxPartSize = Type.Integer({
  minimum: MIN_EXPORT_PART_SIZE,
  maximum: MAX_EXPORT_PART_SIZE,
  description: `split the export into several zip archives of at most this many bytes each (≥ ${MIN_EXPORT_PART_SIZE}); a single file larger than this gets an archive of its own`,
});

export const ExportPartDto = Type.Object({
  /** 1-based */
  index: Type.Integer({ minimum: 1 }),
  fileName: Type.String(),
  size: Type.Integer({ minimum: 0, description: 'bytes' }),
  downloadUrl: Type.Optional(
    Type.String({ description: 'where to fetch this part, with the same credentials (present once ready)' }),
  ),
});
export type ExportPartDto = Type.Static<typeof ExportPartDto>;

/**
 * An asset of a metadata-hiding export (a link with showMetadata=false) whose original could not go into
 * the archive without its metadata (docs/spec.md §14): its type cannot be stripped losslessly (HEIC, video, RAW…)
 * or its original could not be parsed for stripping. It was replaced by its full-size preview JPEG
 * (`<asset id>.jpg`, metadata-free), or left out when it has no preview.
 */
export const ExportSubstitution = Type.Object({
  assetId: Uuid,
  reason: Type.Union([Type.Literal('not-strippable'), Type.Literal('unreadable')], {
    description:
      'not-strippable: the type cannot be stripped of metadata without re-encoding; unreadable: the original could not be parsed for stripping',
  }),
  substitute: Type.Union([Type.Literal('preview'), Type.Literal('omitted')], {
    description: 'preview: the entry is the full-size preview JPEG <assetId>.jpg; omitted: left out (no preview)',
  }),
});
export type ExportSubstitution = Type.Static<typeof ExportSubstitution>;

export const ExportDto = Type.Object({
  id: Uuid,
  status: ExportStatus,
  progress: Type.Object({
    bytesDone: Type.Integer({ minimum: 0 }),
    bytesTotal: Type.Integer({ minimum: 0 }),
  }),
  /** empty until the export is ready */
  parts: Type.Array(ExportPartDto),
  /** when a ready export is deleted; null before it is ready */
  expiresAt: Type.Union([IsoDateTime, Type.Null()]),
  error: Type.Optional(Type.String()),
  /**
   * Only on exports made through a link that hides metadata, once ready: the assets whose original was
   * replaced by its preview or left out (empty when every original could be stripped).
   */
  substitutions: Type.Optional(Type.Array(ExportSubstitution)),
});
export type ExportDto = Type.Static<typeof ExportDto>;

/** Owner API: `POST /api/exports` — explicit assets, or a whole album. */
export const ExportCreateDto = Type.Union([
  Type.Object(
    {
      assetIds: Type.Array(Uuid, { maxItems: 100_000 }),
      maxPartSize: Type.Optional(MaxPartSize),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      albumId: Uuid,
      maxPartSize: Type.Optional(MaxPartSize),
    },
    { additionalProperties: false },
  ),
]);
export type ExportCreateDto = Type.Static<typeof ExportCreateDto>;

/** Recipient API: `POST /share/:key/exports` — the link's assets, or a selection of them. */
export const ShareExportCreateDto = Type.Object(
  {
    assetIds: Type.Optional(Type.Array(Uuid, { maxItems: 100_000 })),
    /**
     * "Select all" but these: every asset of the link except the ones listed (assets the page never loaded
     * included). Not with `assetIds`.
     */
    exceptAssetIds: Type.Optional(Type.Array(Uuid, { maxItems: 100_000 })),
    maxPartSize: Type.Optional(MaxPartSize),
  },
  { additionalProperties: false },
);
export type ShareExportCreateDto = Type.Static<typeof ShareExportCreateDto>;

export const ExportPartParams = Type.Object({
  id: Uuid,
  n: Type.Integer({ minimum: 1, maximum: 100_000, description: 'part index (1-based)' }),
});
export type ExportPartParams = Type.Static<typeof ExportPartParams>;

/**
 * Queue `exports`: the job data is the `export.requested` event envelope (job id = event id); its
 * schema is `EventEnvelope` with `data` = `EventData['export.requested']`.
 */
export type ExportJobData = DomainEvent<'export.requested'>;

/** Queue `maintenance`, job `expire-exports` (repeatable): no payload. */
export const ExpireExportsJobData = Type.Object({}, { additionalProperties: false });
export type ExpireExportsJobData = Type.Static<typeof ExpireExportsJobData>;
