import type { Readable } from 'node:stream';
import type { Actor, NewEvent, UploadBatchDto } from '@immish/contracts';
import { DomainError, invalid, tooLarge } from '@immish/runtime';
import {
  addUploadItem,
  createUploadBatch,
  drain,
  endBatchReception,
  failUploadItem,
  getUploadBatch,
  receiveUpload,
  type UploadDeps,
  uploadFailureReason,
} from './uploads.ts';

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
  /** upload through a link: placement in the link (INDIVIDUAL) and the `shared-link.upload-received` event */
  sharedLinkId?: string;
  /** a fixed target album (ALBUM link); otherwise the request's optional `albumId` field */
  albumId?: string;
  /** authorizes the request's `albumId` field (throws a DomainError when the caller may not add to it) */
  authorizeAlbum?: (albumId: string) => Promise<void>;
  correlationId?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An upload batch from a multipart stream (SPEC §4.2): an optional `albumId` field first, then file parts
 * (any field name). Each file becomes an item and goes through `receiveUpload`; a file refused at upload
 * time (too large, over quota…) fails only its own item. Returns the batch as it stands when the request
 * has been read (items `stored`/`duplicate`/`failed`; the ingest worker completes the rest).
 */
export async function receiveUploadBatch(deps: UploadDeps, input: ReceiveBatchInput): Promise<UploadBatchDto> {
  let albumId = input.albumId;
  let batchId: string | null = null;
  let position = 0;
  const placedAssetIds: string[] = [];
  try {
    for await (const part of input.parts) {
      if (part.type === 'field') {
        if (part.fieldname !== 'albumId' || input.albumId) continue;
        if (batchId) throw invalid('albumId must come before the files in the multipart body');
        const value = typeof part.value === 'string' ? part.value.trim() : '';
        if (value === '') continue;
        if (!UUID.test(value)) throw invalid('albumId must be a UUID');
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
          sharedLinkId: input.sharedLinkId ?? null,
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
            ...(input.sharedLinkId ? { sharedLinkId: input.sharedLinkId } : {}),
          },
          batch: { batchId, itemId: item.id },
          ...(input.correlationId ? { correlationId: input.correlationId } : {}),
        });
        placedAssetIds.push(outcome.assetId);
      } catch (err) {
        drain(part.file);
        await failUploadItem(deps.db, batchId, item.id, uploadFailureReason(err));
      }
    }
  } catch (err) {
    if (batchId) await abandonReception(deps, batchId);
    throw err;
  }
  if (!batchId) throw invalid('No file in the request: send one or more file parts (multipart/form-data)');
  const events: NewEvent[] = [];
  if (input.sharedLinkId) {
    events.push({
      type: 'shared-link.upload-received',
      actor: input.actor,
      subject: { type: 'shared-link', id: input.sharedLinkId },
      data: { linkId: input.sharedLinkId, ownerId: input.ownerId, batchId, assetIds: placedAssetIds },
    });
  }
  await endBatchReception(deps.db, batchId, events);
  return getUploadBatch(deps.db, batchId, { userId: input.ownerId });
}

/** The request broke off: items still `receiving` fail, and the batch may complete with what it has. */
async function abandonReception(deps: UploadDeps, batchId: string): Promise<void> {
  try {
    const open = await deps.db
      .selectFrom('upload_items')
      .select('id')
      .where('batch_id', '=', batchId)
      .where('status', '=', 'receiving')
      .execute();
    for (const item of open) await failUploadItem(deps.db, batchId, item.id, 'the upload was interrupted');
    await endBatchReception(deps.db, batchId);
  } catch {
    // the original error is what the caller needs to see
  }
}

/**
 * Multipart parts, with a malformed body (bad boundary, cut-off part, not multipart at all) turned into a
 * 400 instead of surfacing as a parser exception (→ 500). Parser limit errors (413) keep their status.
 */
export async function* partsOrBadRequest<T>(open: () => AsyncIterable<T>): AsyncGenerator<T> {
  let iterator: AsyncIterator<T>;
  try {
    iterator = open()[Symbol.asyncIterator]();
  } catch (err) {
    throw asBadRequest(err);
  }
  while (true) {
    let next: IteratorResult<T>;
    try {
      next = await iterator.next();
    } catch (err) {
      throw asBadRequest(err);
    }
    if (next.done) return;
    yield next.value;
  }
}

function asBadRequest(err: unknown): unknown {
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (err instanceof DomainError || (e.statusCode && e.statusCode < 500) || e.code?.startsWith('FST_')) return err;
  return invalid(`Malformed multipart/form-data body: ${e.message ?? String(err)}`);
}
