import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';

/** docs/spec.md §3: per-file status of an upload batch item. */
export const UploadItemStatus = Type.Enum(['receiving', 'stored', 'processing', 'ready', 'duplicate', 'failed']);
export type UploadItemStatus = Type.Static<typeof UploadItemStatus>;
/** Item statuses after which nothing changes any more. */
export const FINAL_UPLOAD_ITEM_STATUSES = ['ready', 'duplicate', 'failed'] as const;

export const UploadBatchStatus = Type.Enum(['processing', 'completed']);
export type UploadBatchStatus = Type.Static<typeof UploadBatchStatus>;

export const UploadItemDto = Type.Object({
  fileName: Type.String(),
  status: UploadItemStatus,
  assetId: Type.Optional(Uuid),
  error: Type.Optional(Type.String()),
  size: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type UploadItemDto = Type.Static<typeof UploadItemDto>;

export const UploadBatchTotals = Type.Object({
  total: Type.Integer(),
  receiving: Type.Integer(),
  stored: Type.Integer(),
  processing: Type.Integer(),
  ready: Type.Integer(),
  duplicate: Type.Integer(),
  failed: Type.Integer(),
});
export type UploadBatchTotals = Type.Static<typeof UploadBatchTotals>;

/** immish: `POST /api/upload-batches` (202), `GET /api/upload-batches/:id`, and the gateway's `POST /share/:key/uploads`. */
export const UploadBatchDto = Type.Object({
  id: Uuid,
  status: UploadBatchStatus,
  albumId: Type.Union([Uuid, Type.Null()]),
  items: Type.Array(UploadItemDto),
  totals: UploadBatchTotals,
  createdAt: IsoDateTime,
  completedAt: Type.Union([IsoDateTime, Type.Null()]),
});
export type UploadBatchDto = Type.Static<typeof UploadBatchDto>;
