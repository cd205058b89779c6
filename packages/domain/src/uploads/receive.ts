import type { Readable } from 'node:stream';
import type { Actor, NewEvent, UploadBatchDto } from '@immish/contracts';
import { insufficientStorage, invalid, isUuid, tooLarge } from '@immish/contracts';
import { isInsufficientStorage } from '@immish/storage';
import { addUploadItem, createUploadBatch, endBatchReception, failUploadItem, getUploadBatch } from './batches.ts';
import type { UploadPlacement } from './placement.ts';
import { deleteItemAndEmptyBatch, receivingItemIds } from './queries.ts';
import {
  commitUpload,
  drain,
  linkBudgetLeft,
  receiveUpload,
  type StoredUpload,
  storeUpload,
  type ThroughLink,
  type UploadDeps,
  type UploadMetadata,
  type UploadOutcome,
  uploadFailureReason,
  validateUploadMetadata,
} from './service.ts';

/** One multipart part, structurally (what @fastify/multipart's `req.parts()` yields). */
export type UploadPart =
  | { type: 'file'; fieldname: string; filename: string; file: Readable }
  | { type: 'field'; fieldname: string; value: unknown };

export interface ReceiveBatchInput {
  ownerId: string;
  /** the user uploading (null for a link recipient) */
  uploadedByUserId: string | null;
  actor: Actor;
  parts: AsyncIterable<UploadPart>;
  maxFileBytes: number;
  maxFiles: number;
  /**
   * upload through a link: no dedupe against the owner's library (service.ts), placement in the link
   * (INDIVIDUAL) and the `shared-link.upload-received` event
   */
  throughLink?: ThroughLink;
  /** a fixed target album (ALBUM link); otherwise the request's optional `albumId` field */
  albumId?: string;
  /** authorizes the request's `albumId` field (throws a DomainError when the caller may not add to it) */
  authorizeAlbum?: (albumId: string) => Promise<void>;
  correlationId?: string;
}

/**
 * An upload batch from a multipart stream (docs/spec.md §4.2): an optional `albumId` field first, then file parts
 * (any field name). Each file becomes an item and goes through `receiveUpload`; a file refused at upload
 * time (too large, over quota…) fails only its own item. Returns the batch as it stands when the request
 * has been read (items `stored`/`duplicate`/`failed`; the ingest worker completes the rest).
 */
export async function receiveUploadBatch(deps: UploadDeps, input: ReceiveBatchInput): Promise<UploadBatchDto> {
  let albumId = input.albumId;
  let batchId: string | null = null;
  let position = 0;
  const sharedLinkId = input.throughLink?.linkId;
  /** new assets (what the owner is told a link brought in; a duplicate of a shown asset brings nothing) */
  const receivedAssetIds: string[] = [];
  try {
    for await (const part of input.parts) {
      if (part.type === 'field') {
        if (part.fieldname !== 'albumId' || input.albumId) continue;
        if (batchId) throw invalid('albumId must come before the files in the multipart body');
        const value = typeof part.value === 'string' ? part.value.trim() : '';
        if (value === '') continue;
        if (!isUuid(value)) throw invalid('albumId must be a UUID');
        await input.authorizeAlbum?.(value);
        albumId = value;
        continue;
      }
      if (position >= input.maxFiles) {
        drain(part.file);
        throw tooLarge(`Too many files: at most ${input.maxFiles} per batch (UPLOAD_MAX_FILES)`);
      }
      if (!batchId) {
        const batch = await createUploadBatch(deps.db, {
          ownerId: input.ownerId,
          uploadedByUserId: input.uploadedByUserId,
          sharedLinkId: sharedLinkId ?? null,
          albumId: albumId ?? null,
        });
        batchId = batch.id;
      }
      const item = await addUploadItem(deps.db, batchId, position++, part.filename || part.fieldname);
      try {
        const outcome = await receiveUpload(deps, {
          ownerId: input.ownerId,
          actor: input.actor,
          file: part.file,
          metadata: {
            fileName: item.file_name,
            fileCreatedAt: new Date(),
            fileModifiedAt: new Date(),
          },
          maxFileBytes: input.maxFileBytes,
          placement: {
            ...(albumId ? { albumId } : {}),
            ...(sharedLinkId ? { sharedLinkId } : {}),
          },
          ...(input.throughLink ? { throughLink: input.throughLink } : {}),
          batch: { batchId, itemId: item.id },
          ...(input.correlationId ? { correlationId: input.correlationId } : {}),
        });
        if (outcome.status === 'created') receivedAssetIds.push(outcome.assetId);
      } catch (err) {
        drain(part.file);
        // A full storage refuses the request itself (507), not just this file: the next files would not fit
        // either. The file leaves nothing behind (no stored bytes, no item); files before it stay stored.
        if (isInsufficientStorage(err)) throw await refuseForNoSpace(deps, batchId, item.id, err);
        await failUploadItem(deps.db, batchId, item.id, uploadFailureReason(err));
      }
    }
  } catch (err) {
    if (batchId) await abandonReception(deps, batchId);
    throw err;
  }
  if (!batchId) throw invalid('No file in the request: send one or more file parts (multipart/form-data)');
  const events: NewEvent[] = [];
  if (sharedLinkId && receivedAssetIds.length > 0) {
    events.push({
      type: 'shared-link.upload-received',
      actor: input.actor,
      subject: { type: 'shared-link', id: sharedLinkId },
      data: { linkId: sharedLinkId, ownerId: input.ownerId, batchId, assetIds: receivedAssetIds },
    });
  }
  await endBatchReception(deps.db, batchId, events);
  return getUploadBatch(deps.db, batchId, { userId: input.ownerId });
}

/**
 * The storage is full: the item of the file that did not fit is removed (and the batch too when that was its
 * only file), and the 507 to answer says what of the request was kept.
 */
async function refuseForNoSpace(deps: UploadDeps, batchId: string, itemId: string, cause: unknown): Promise<Error> {
  const kept = await deps.db.transaction().execute((trx) => deleteItemAndEmptyBatch(trx, batchId, itemId));
  return insufficientStorage(
    'Insufficient storage: the server has no space left for this file; nothing of it was kept' +
      (kept > 0 ? ` (the ${kept} file(s) sent before it were received: upload batch ${batchId})` : '') +
      '. Retry once space has been freed (ask the administrator)',
    cause,
  );
}

/** The request broke off: items still `receiving` fail, and the batch may complete with what it has. */
async function abandonReception(deps: UploadDeps, batchId: string): Promise<void> {
  try {
    for (const itemId of await receivingItemIds(deps.db, batchId)) {
      await failUploadItem(deps.db, batchId, itemId, 'the upload was interrupted');
    }
    await endBatchReception(deps.db, batchId);
  } catch {
    // the original error is what the caller needs to see
  }
}

/** Immich's upload form fields → upload metadata (`isFavorite` must be the text true/false). */
export function metadataFromFields(fields: Record<string, string>, partFileName: string): UploadMetadata {
  const favorite = fields.isFavorite;
  if (favorite !== undefined && favorite !== 'true' && favorite !== 'false') {
    throw invalid('isFavorite must be "true" or "false"');
  }
  return {
    fileName: fields.filename?.trim() || partFileName,
    ...(fields.fileCreatedAt !== undefined ? { fileCreatedAt: fields.fileCreatedAt } : {}),
    ...(fields.fileModifiedAt !== undefined ? { fileModifiedAt: fields.fileModifiedAt } : {}),
    ...(fields.deviceAssetId !== undefined ? { deviceAssetId: fields.deviceAssetId } : {}),
    ...(fields.deviceId !== undefined ? { deviceId: fields.deviceId } : {}),
    ...(fields.duration !== undefined ? { duration: fields.duration } : {}),
    ...(favorite !== undefined ? { isFavorite: favorite === 'true' } : {}),
  };
}

export interface AssetUploadInput {
  ownerId: string;
  actor: Actor;
  /** the multipart parts of an Immich `POST /api/assets` body (`assetData` file + its fields) */
  parts: AsyncIterable<UploadPart>;
  maxFileBytes: number;
  placement?: UploadPlacement;
  /** upload through a link: no dedupe against the owner's library (service.ts) */
  throughLink?: ThroughLink;
  correlationId?: string;
}

/**
 * Immich's single-file upload (`POST /api/assets`), for the owner API and for uploads through a link: reads
 * the fields and the `assetData` part (fields sent before the file are validated before any byte is stored;
 * extra files and `sidecarData` are drained), streams the file to storage while hashing, then records it
 * (created, or a duplicate: of an asset the owner has, or through a link of one the link shows). Nothing stays
 * in storage when it fails.
 */
export async function receiveAssetUpload(deps: UploadDeps, input: AssetUploadInput): Promise<UploadOutcome> {
  const fields: Record<string, string> = {};
  let stored: StoredUpload | null = null;
  let partFileName = '';
  try {
    for await (const part of input.parts) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (part.fieldname !== 'assetData' || stored) {
        drain(part.file);
        continue;
      }
      partFileName = part.filename || 'file';
      if (fields.fileCreatedAt !== undefined && fields.fileModifiedAt !== undefined) {
        validateUploadMetadata(metadataFromFields(fields, partFileName));
      }
      const budgetLeft = await linkBudgetLeft(deps.db, input.throughLink);
      if (budgetLeft !== null && budgetLeft <= 0) drain(part.file);
      stored = await storeUpload(deps.storage, {
        ownerId: input.ownerId,
        file: part.file,
        fileName: fields.filename?.trim() || partFileName,
        maxFileBytes: input.maxFileBytes,
        budgetLeft,
      });
    }
    if (!stored) throw invalid('assetData is required: the file part of the multipart body');
    const metadata = metadataFromFields(fields, partFileName);
    return await commitUpload(deps, {
      ownerId: input.ownerId,
      actor: input.actor,
      stored,
      metadata,
      ...(input.placement ? { placement: input.placement } : {}),
      ...(input.throughLink ? { throughLink: input.throughLink } : {}),
      ...(input.correlationId ? { correlationId: input.correlationId } : {}),
    });
  } catch (error) {
    if (stored) await deps.storage.delete(stored.key).catch(() => {});
    throw error;
  }
}
