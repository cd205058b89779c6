import {
  type Actor,
  FINAL_UPLOAD_ITEM_STATUSES,
  type NewEvent,
  noAccess,
  type UploadBatchDto,
} from '@immish/contracts';
import { appendEvents, type Db, type UploadBatchRow, type UploadItemRow, type UploadItemStatus } from '@immish/db';
import { toUploadBatchDto } from './dto.ts';

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
  const done = await trx
    .updateTable('upload_batches')
    .set({ status: 'completed', completed_at: new Date(), updated_at: new Date() })
    .where('id', '=', batchId)
    .where('status', '=', 'processing')
    .where('receiving', '=', false)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('upload_items')
            .select('upload_items.id')
            .whereRef('upload_items.batch_id', '=', 'upload_batches.id')
            .where('upload_items.status', 'not in', [...FINAL_UPLOAD_ITEM_STATUSES]),
        ),
      ),
    )
    .returning(['id', 'owner_id', 'uploaded_by_user_id', 'shared_link_id'])
    .executeTakeFirst();
  if (!done) return [];
  const totals = await trx
    .selectFrom('upload_items')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('batch_id', '=', batchId)
    .groupBy('status')
    .execute();
  const count = (s: string) => Number(totals.find((t) => t.status === s)?.n ?? 0);
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
        total: totals.reduce((a, t) => a + Number(t.n), 0),
        ready: count('ready'),
        duplicate: count('duplicate'),
        failed: count('failed'),
      },
    },
  ];
}

/** Row lock on the batch: serializes the transactions that may complete it. */
export async function lockBatch(trx: Db, batchId: string): Promise<void> {
  await trx.selectFrom('upload_batches').select('id').where('id', '=', batchId).forUpdate().executeTakeFirst();
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
  await trx
    .updateTable('upload_items')
    .set({
      status: outcome.status,
      error: outcome.status === 'failed' ? (outcome.error ?? 'failed') : null,
      ...(outcome.assetId !== undefined ? { asset_id: outcome.assetId } : {}),
      ...(outcome.size !== undefined ? { size: outcome.size } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', itemId)
    .where('batch_id', '=', batchId)
    .execute();
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
  return db
    .insertInto('upload_batches')
    .values({
      owner_id: input.ownerId,
      uploaded_by_user_id: input.uploadedByUserId,
      shared_link_id: input.sharedLinkId ?? null,
      album_id: input.albumId ?? null,
      receiving: true,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function addUploadItem(
  db: Db,
  batchId: string,
  position: number,
  fileName: string,
): Promise<UploadItemRow> {
  // the batch's updated_at says the request is alive (closeAbandonedUploadBatches)
  await db.updateTable('upload_batches').set({ updated_at: new Date() }).where('id', '=', batchId).execute();
  return db
    .insertInto('upload_items')
    .values({ batch_id: batchId, position, file_name: fileName.slice(0, 1024) || 'file', status: 'receiving' })
    .returningAll()
    .executeTakeFirstOrThrow();
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
    await trx
      .updateTable('upload_batches')
      .set({ receiving: false, updated_at: new Date() })
      .where('id', '=', batchId)
      .execute();
    await appendEvents(trx, [...extraEvents, ...(await completeBatchIfDone(trx, batchId))]);
  });
}

/** The batch with its items (in upload order); `ownerScope` restricts to batches the caller may see. */
export async function getUploadBatch(
  db: Db,
  batchId: string,
  scope: { userId?: string; sharedLinkId?: string },
): Promise<UploadBatchDto> {
  let q = db.selectFrom('upload_batches').selectAll().where('id', '=', batchId);
  if (scope.userId)
    q = q.where((eb) => eb.or([eb('owner_id', '=', scope.userId!), eb('uploaded_by_user_id', '=', scope.userId!)]));
  if (scope.sharedLinkId) q = q.where('shared_link_id', '=', scope.sharedLinkId);
  if (!scope.userId && !scope.sharedLinkId) throw noAccess();
  const batch = await q.executeTakeFirst();
  if (!batch) throw noAccess();
  const items = await db
    .selectFrom('upload_items')
    .selectAll()
    .where('batch_id', '=', batchId)
    .orderBy('position')
    .execute();
  return toUploadBatchDto(batch, items);
}

/**
 * Crash recovery: a batch still `receiving` long after any request could have ended (the API process died
 * mid-upload) gets its unfinished files failed ("the upload was interrupted") and may then complete.
 * Idempotent and safe to run from several processes (each batch is handled under its row lock).
 * Returns how many batches were closed.
 */
export async function closeAbandonedUploadBatches(db: Db, olderThanMs: number): Promise<number> {
  const cutoff = new Date(Date.now() - olderThanMs);
  const stale = await db
    .selectFrom('upload_batches')
    .select('id')
    .where('receiving', '=', true)
    .where('updated_at', '<', cutoff)
    .limit(100)
    .execute();
  let closed = 0;
  for (const { id } of stale) {
    const done = await db.transaction().execute(async (trx) => {
      const batch = await trx
        .selectFrom('upload_batches')
        .select(['id', 'receiving', 'updated_at'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!batch?.receiving || batch.updated_at >= cutoff) return false;
      await trx
        .updateTable('upload_items')
        .set({ status: 'failed', error: 'the upload was interrupted', updated_at: new Date() })
        .where('batch_id', '=', id)
        .where('status', '=', 'receiving')
        .execute();
      await trx
        .updateTable('upload_batches')
        .set({ receiving: false, updated_at: new Date() })
        .where('id', '=', id)
        .execute();
      await appendEvents(trx, await completeBatchIfDone(trx, id));
      return true;
    });
    if (done) closed++;
  }
  return closed;
}
