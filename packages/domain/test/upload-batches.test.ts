import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../src/identity/service.ts';
import {
  addUploadItem,
  createUploadBatch,
  endBatchReception,
  failUploadItem,
  finalizeUploadItem,
  getUploadBatch,
} from '../src/uploads/batches.ts';

/**
 * The upload batch state machine (docs/spec.md §4.2) on a real PostgreSQL: a batch completes once it has stopped
 * receiving files AND every item is final (ready, duplicate, failed), whichever comes last, exactly once.
 */
let tdb: TestDatabase;
let ownerId: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  ownerId = (await createUser(tdb.db, { email: 'batches@immish.test', name: 'b', password: 'pw' })).id;
});
afterAll(async () => {
  await tdb?.drop();
});

const completedEvents = async (batchId: string) =>
  tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'upload-batch.completed')
    .where('aggregate_id', '=', batchId)
    .execute();

const newBatch = () => createUploadBatch(tdb.db, { ownerId, uploadedByUserId: ownerId });

describe('upload batch state machine', () => {
  it('should stay processing while receiving, even with every item final, and complete when reception ends', async () => {
    const batch = await newBatch();
    const item = await addUploadItem(tdb.db, batch.id, 0, 'a.jpg');
    await failUploadItem(tdb.db, batch.id, item.id, 'too large');
    expect((await getUploadBatch(tdb.db, batch.id, { userId: ownerId })).status).toBe('processing');
    await endBatchReception(tdb.db, batch.id);
    const done = await getUploadBatch(tdb.db, batch.id, { userId: ownerId });
    expect(done.status).toBe('completed');
    expect(done.totals).toMatchObject({ total: 1, failed: 1 });
    expect(await completedEvents(batch.id)).toHaveLength(1);
  });

  it('should wait for the last item after reception ended, then complete once with the totals', async () => {
    const batch = await newBatch();
    const first = await addUploadItem(tdb.db, batch.id, 0, 'a.jpg');
    const second = await addUploadItem(tdb.db, batch.id, 1, 'b.jpg');
    await endBatchReception(tdb.db, batch.id);
    const finish = (itemId: string, status: 'failed' | 'duplicate') =>
      tdb.db.transaction().execute(async (trx) => finalizeUploadItem(trx, batch.id, itemId, { status, error: 'x' }));
    expect(await finish(first.id, 'failed')).toEqual([]);
    expect((await getUploadBatch(tdb.db, batch.id, { userId: ownerId })).status).toBe('processing');
    const events = await finish(second.id, 'duplicate');
    expect(events).toMatchObject([
      { type: 'upload-batch.completed', data: { batchId: batch.id, total: 2, failed: 1, duplicate: 1, ready: 0 } },
    ]);
    // finalizing again (a retried job) completes nothing twice
    expect(await finish(second.id, 'duplicate')).toEqual([]);
  });
});
