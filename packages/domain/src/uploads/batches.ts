import {
  type Actor,
  FINAL_UPLOAD_ITEM_STATUSES,
  type NewEvent,
  noAccess,
  type UploadBatchDto,
} from '@immish/contracts';
import { appendEvents, type Db, type UploadBatchRow, type UploadItemRow, type UploadItemStatus } from '@immish/db';
import { toUploadBatchDto } from './dto.ts';
import {
  countItemsByStatus,
  failReceivingItems,
  findBatch,
  insertUploadBatch,
  insertUploadItem,
  listBatchItems,
  lockBatch,
  lockBatchReception,
  markBatchCompletedIfDone,
  setBatchReceived,
  setItemOutcome,
  staleReceivingBatchIds,
  touchBatch,
} from './queries.ts';

/**
 * The upload batch state machine (docs/spec.md §3): items go from `receiving` to a final status, and a batch
 * completes once it no longer receives files and every item is final. The SQL is queries.ts.
 */

// Upload items and batch completion -------------------------------------------------------------------

const FINAL = new Set<string>(FINAL_UPLOAD_ITEM_STATUSES);

export const isFinalItemStatus = (s: UploadItemStatus): boolean => FINAL.has(s);

/**
 * Completes the batch if it is done: no longer receiving files and every item final. Race-free: callers
 * lock the batch row first (`lockBatch`) in the same transaction as their item update, so of two
 * transactions finishing the last two items the second sees the first's committed item.
 * Returns the `upload-batch.completed` event to append (at most once per batch: status guards it).
 */
export async function completeBatchIfDone(trx: Db, batchId: string, actor?: Actor): Promise<NewEvent[]> {
  const done = await markBatchCompletedIfDone(trx, batchId);
  if (!done) return [];
  const totals = await countItemsByStatus(trx, batchId);
  const count = (s: string) => totals.get(s) ?? 0;
  return [
    {
      type: 'upload-batch.completed',
      actor:
        actor ??
        (done.shared_link_id
          ? { type: 'link', id: done.shared_link_id }
          : { type: 'user', id: done.uploaded_by_user_id ?? done.owner_id }),
      subject: { type: 'upload-batch', id: batchId },
      data: {
        batchId,
        total: [...totals.values()].reduce((a, n) => a + n, 0),
        ready: count('ready'),
        duplicate: count('duplicate'),
        failed: count('failed'),
      },
    },
  ];
}

/**
 * Sets an item's final status (ready / duplicate / failed) and completes its batch if that was the last.
 * Must run inside a transaction; returns the events to append.
 */
export async function finalizeUploadItem(
  trx: Db,
  batchId: string,
  itemId: string,
  outcome: { status: 'ready' | 'duplicate' | 'failed'; assetId?: string | null; error?: string | null; size?: number },
): Promise<NewEvent[]> {
  await lockBatch(trx, batchId);
  await setItemOutcome(trx, batchId, itemId, {
    status: outcome.status,
    error: outcome.status === 'failed' ? (outcome.error ?? 'failed') : null,
    ...(outcome.assetId !== undefined ? { assetId: outcome.assetId } : {}),
    ...(outcome.size !== undefined ? { size: outcome.size } : {}),
  });
  return completeBatchIfDone(trx, batchId);
}

// Batches ------------------------------------------------------------------------------------------------

export interface CreateBatchInput {
  ownerId: string;
  uploadedByUserId: string | null;
  sharedLinkId?: string | null;
  albumId?: string | null;
}

/** A new batch, open for files (`receiving`) until `endBatchReception`. */
export async function createUploadBatch(db: Db, input: CreateBatchInput): Promise<UploadBatchRow> {
  return insertUploadBatch(db, {
    ownerId: input.ownerId,
    uploadedByUserId: input.uploadedByUserId,
    sharedLinkId: input.sharedLinkId ?? null,
    albumId: input.albumId ?? null,
  });
}

export async function addUploadItem(
  db: Db,
  batchId: string,
  position: number,
  fileName: string,
): Promise<UploadItemRow> {
  // the batch's updated_at says the request is alive (closeAbandonedUploadBatches)
  await touchBatch(db, batchId);
  return insertUploadItem(db, batchId, position, fileName.slice(0, 1024) || 'file');
}

/** A file refused at upload time (too large, over quota, storage refused it): fails only its item. */
export async function failUploadItem(db: Db, batchId: string, itemId: string, reason: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await appendEvents(trx, await finalizeUploadItem(trx, batchId, itemId, { status: 'failed', error: reason }));
  });
}

/** The request has delivered all its files: the batch may now complete (right away if all are final). */
export async function endBatchReception(db: Db, batchId: string, extraEvents: NewEvent[] = []): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await lockBatch(trx, batchId);
    await setBatchReceived(trx, batchId);
    await appendEvents(trx, [...extraEvents, ...(await completeBatchIfDone(trx, batchId))]);
  });
}

/** The batch with its items (in upload order); `ownerScope` restricts to batches the caller may see. */
export async function getUploadBatch(
  db: Db,
  batchId: string,
  scope: { userId?: string; sharedLinkId?: string },
): Promise<UploadBatchDto> {
  if (!scope.userId && !scope.sharedLinkId) throw noAccess();
  const batch = await findBatch(db, batchId, scope);
  if (!batch) throw noAccess();
  return toUploadBatchDto(batch, await listBatchItems(db, batchId));
}

/**
 * Crash recovery: a batch still `receiving` long after any request could have ended (the API process died
 * mid-upload) gets its unfinished files failed ("the upload was interrupted") and may then complete.
 * Idempotent and safe to run from several processes (each batch is handled under its row lock).
 * Returns how many batches were closed.
 */
export async function closeAbandonedUploadBatches(db: Db, olderThanMs: number): Promise<number> {
  const cutoff = new Date(Date.now() - olderThanMs);
  let closed = 0;
  for (const id of await staleReceivingBatchIds(db, cutoff)) {
    const done = await db.transaction().execute(async (trx) => {
      const batch = await lockBatchReception(trx, id);
      if (!batch?.receiving || batch.updated_at >= cutoff) return false;
      await failReceivingItems(trx, id, 'the upload was interrupted');
      await setBatchReceived(trx, id);
      await appendEvents(trx, await completeBatchIfDone(trx, id));
      return true;
    });
    if (done) closed++;
  }
  return closed;
}
