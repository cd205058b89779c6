import { FINAL_UPLOAD_ITEM_STATUSES } from '@immish/contracts';
import type { Db, UploadBatchRow, UploadItemRow, UploadItemStatus } from '@immish/db';
import { touchAlbum } from '../albums/queries.ts';

/**
 * The SQL of upload batches and their items. The state machine that uses these (what completes a batch, which
 * events go out, which transaction) is batches.ts; every function here runs in the caller's `db` or transaction.
 */

/** Row lock on the batch: serializes the transactions that may complete it. */
export async function lockBatch(trx: Db, batchId: string): Promise<void> {
  await trx.selectFrom('upload_batches').select('id').where('id', '=', batchId).forUpdate().executeTakeFirst();
}

/**
 * `processing` → `completed` when the batch no longer receives files and every item is final; the completed
 * batch's actors, or undefined when it is not done (or already completed: the status guards it).
 */
export async function markBatchCompletedIfDone(trx: Db, batchId: string) {
  return trx
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
}

/** How many of the batch's items are in each status. */
export async function countItemsByStatus(trx: Db, batchId: string): Promise<Map<string, number>> {
  const totals = await trx
    .selectFrom('upload_items')
    .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
    .where('batch_id', '=', batchId)
    .groupBy('status')
    .execute();
  return new Map(totals.map((t) => [t.status, Number(t.n)]));
}

export async function setItemOutcome(
  trx: Db,
  batchId: string,
  itemId: string,
  outcome: { status: UploadItemStatus; assetId?: string | null; error: string | null; size?: number },
): Promise<void> {
  await trx
    .updateTable('upload_items')
    .set({
      status: outcome.status,
      error: outcome.error,
      ...(outcome.assetId !== undefined ? { asset_id: outcome.assetId } : {}),
      ...(outcome.size !== undefined ? { size: outcome.size } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', itemId)
    .where('batch_id', '=', batchId)
    .execute();
}

export async function insertUploadBatch(
  db: Db,
  values: { ownerId: string; uploadedByUserId: string | null; sharedLinkId: string | null; albumId: string | null },
): Promise<UploadBatchRow> {
  return db
    .insertInto('upload_batches')
    .values({
      owner_id: values.ownerId,
      uploaded_by_user_id: values.uploadedByUserId,
      shared_link_id: values.sharedLinkId,
      album_id: values.albumId,
      receiving: true,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The batch's `updated_at` says its request is alive (closeAbandonedUploadBatches). */
export async function touchBatch(db: Db, batchId: string): Promise<void> {
  await db.updateTable('upload_batches').set({ updated_at: new Date() }).where('id', '=', batchId).execute();
}

export async function insertUploadItem(
  db: Db,
  batchId: string,
  position: number,
  fileName: string,
): Promise<UploadItemRow> {
  return db
    .insertInto('upload_items')
    .values({ batch_id: batchId, position, file_name: fileName, status: 'receiving' })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The request has delivered all its files. */
export async function setBatchReceived(trx: Db, batchId: string): Promise<void> {
  await trx
    .updateTable('upload_batches')
    .set({ receiving: false, updated_at: new Date() })
    .where('id', '=', batchId)
    .execute();
}

/** The batch, if the scope may see it: the uploader or owner (`userId`), or the link it came through. */
export async function findBatch(
  db: Db,
  batchId: string,
  scope: { userId?: string; sharedLinkId?: string },
): Promise<UploadBatchRow | undefined> {
  let q = db.selectFrom('upload_batches').selectAll().where('id', '=', batchId);
  if (scope.userId)
    q = q.where((eb) => eb.or([eb('owner_id', '=', scope.userId!), eb('uploaded_by_user_id', '=', scope.userId!)]));
  if (scope.sharedLinkId) q = q.where('shared_link_id', '=', scope.sharedLinkId);
  return q.executeTakeFirst();
}

/** The batch's items, in upload order. */
export async function listBatchItems(db: Db, batchId: string): Promise<UploadItemRow[]> {
  return db.selectFrom('upload_items').selectAll().where('batch_id', '=', batchId).orderBy('position').execute();
}

/** Batches still receiving whose request has not started a file since `cutoff` (100 at a time). */
export async function staleReceivingBatchIds(db: Db, cutoff: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('upload_batches')
    .select('id')
    .where('receiving', '=', true)
    .where('updated_at', '<', cutoff)
    .limit(100)
    .execute();
  return rows.map((r) => r.id);
}

/** The batch row locked for the rest of the transaction, as far as crash recovery needs it. */
export async function lockBatchReception(trx: Db, batchId: string) {
  return trx
    .selectFrom('upload_batches')
    .select(['id', 'receiving', 'updated_at'])
    .where('id', '=', batchId)
    .forUpdate()
    .executeTakeFirst();
}

/** Every item of the batch still receiving its file fails with `reason`. */
export async function failReceivingItems(trx: Db, batchId: string, reason: string): Promise<void> {
  await trx
    .updateTable('upload_items')
    .set({ status: 'failed', error: reason, updated_at: new Date() })
    .where('batch_id', '=', batchId)
    .where('status', '=', 'receiving')
    .execute();
}

/** Removes one item, and its batch when that was the batch's last item; how many items the batch keeps. */
export async function deleteItemAndEmptyBatch(trx: Db, batchId: string, itemId: string): Promise<number> {
  await trx.deleteFrom('upload_items').where('id', '=', itemId).execute();
  const rest = await trx
    .selectFrom('upload_items')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('batch_id', '=', batchId)
    .executeTakeFirstOrThrow();
  if (Number(rest.n) === 0) await trx.deleteFrom('upload_batches').where('id', '=', batchId).execute();
  return Number(rest.n);
}

/** The ids of the batch's items still receiving their file. */
export async function receivingItemIds(db: Db, batchId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('upload_items')
    .select('id')
    .where('batch_id', '=', batchId)
    .where('status', '=', 'receiving')
    .execute();
  return rows.map((r) => r.id);
}

/** The item's file is in storage as `assetId` (ingest makes it final). */
export async function markItemStored(trx: Db, itemId: string, assetId: string, size: number): Promise<void> {
  await trx
    .updateTable('upload_items')
    .set({ status: 'stored', asset_id: assetId, size, updated_at: new Date() })
    .where('id', '=', itemId)
    .execute();
}

/** The owner's quota (null: none) and the bytes their assets use; undefined when the user does not exist. */
export async function quotaUsage(db: Db, ownerId: string): Promise<{ quota: number | null; used: number } | undefined> {
  const user = await db.selectFrom('users').select('quota_bytes').where('id', '=', ownerId).executeTakeFirst();
  if (!user) return undefined;
  if (user.quota_bytes === null) return { quota: null, used: 0 };
  const used = await db
    .selectFrom('assets')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<string>('size'), eb.val('0')).as('used'))
    .where('owner_id', '=', ownerId)
    .executeTakeFirstOrThrow();
  return { quota: Number(user.quota_bytes), used: Number(used.used) };
}

// Placement (placement.ts) ---------------------------------------------------------------------------------------

/** Whether the album exists and is not deleted. */
export async function isLiveAlbum(trx: Db, albumId: string): Promise<boolean> {
  const album = await trx
    .selectFrom('albums')
    .select('id')
    .where('id', '=', albumId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return album !== undefined;
}

/** Puts the assets into the album (already there: skipped), marking the album changed; the ones added. */
export async function placeInAlbum(
  trx: Db,
  albumId: string,
  assetIds: readonly string[],
  addedBy: string | null,
): Promise<string[]> {
  const rows = await trx
    .insertInto('album_assets')
    .values(assetIds.map((asset_id) => ({ album_id: albumId, asset_id, added_by: addedBy })))
    .onConflict((oc) => oc.columns(['album_id', 'asset_id']).doNothing())
    .returning('asset_id')
    .execute();
  if (rows.length > 0) await touchAlbum(trx, albumId);
  return rows.map((r) => r.asset_id);
}

/** The link's type; undefined when it is gone. */
export async function linkType(trx: Db, sharedLinkId: string): Promise<'ALBUM' | 'INDIVIDUAL' | undefined> {
  const link = await trx
    .selectFrom('shared_links')
    .select(['id', 'type'])
    .where('id', '=', sharedLinkId)
    .executeTakeFirst();
  return link?.type;
}

/** Puts the assets on the link (already there: skipped); the ones added. */
export async function placeOnLink(trx: Db, sharedLinkId: string, assetIds: readonly string[]): Promise<string[]> {
  const rows = await trx
    .insertInto('shared_link_assets')
    .values(assetIds.map((asset_id) => ({ link_id: sharedLinkId, asset_id })))
    .onConflict((oc) => oc.columns(['link_id', 'asset_id']).doNothing())
    .returning('asset_id')
    .execute();
  return rows.map((r) => r.asset_id);
}
