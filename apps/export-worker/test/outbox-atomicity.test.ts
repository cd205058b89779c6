import type { ExportJobData } from '@immish/contracts';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { acceptAllEvents, eventCounts, installOutboxFault, listStoredFiles, refuseEvents } from '@immish/testkit';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from '../../links-api/test/harness.ts';
import { processExportJob } from '../src/processor.ts';
import { seedAsset } from './export-helpers.ts';

/**
 * docs/spec.md §6 for the export worker: an export becomes ready (parts, expiry) in the same commit as its
 * `export.completed` event. When the event cannot be written the export is not ready, the job fails for BullMQ to
 * retry, and the retry completes it once, leaving in storage exactly the parts the export names.
 */

const logger = pino({ level: 'silent' });
let h: LinksApiHarness;
let owner: TestUser;
let store: BlobStore;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  store = createBlobStore({ driver: 'fs', root: h.storageRoot });
  await installOutboxFault(h.tdb.pool);
});
afterAll(async () => {
  await store?.close();
  await h?.close();
});
beforeEach(async () => {
  await acceptAllEvents(h.tdb.pool);
});

const deps = () => ({ db: h.tdb.db, storage: store, logger, ttlHours: 24 });

async function queuedExport(): Promise<{ id: string; job: ExportJobData }> {
  const assets = [];
  for (let i = 0; i < 3; i++) {
    assets.push(await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: `p${i}.jpg`, size: 5000 + i }));
  }
  const res = await h.app.inject({
    method: 'POST',
    url: '/api/exports',
    headers: owner.headers,
    payload: { assetIds: assets.map((a) => a.id) },
  });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json().id as string;
  const row = await h.tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('aggregate_id', '=', id)
    .where('type', '=', 'export.requested')
    .executeTakeFirstOrThrow();
  return { id, job: row.payload as ExportJobData };
}

const exportRow = (id: string) =>
  h.tdb.db.selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('the export processor and its events are atomic', () => {
  it('a refused export.completed event leaves the export unfinished; the retry completes it once', async () => {
    const { id, job } = await queuedExport();
    const before = await eventCounts(h.tdb.pool);
    await refuseEvents(h.tdb.pool, ['export.completed']);
    await expect(processExportJob(job, deps(), { attempt: 1, maxAttempts: 3 })).rejects.toThrow(/outbox refuses/);
    const during = await exportRow(id);
    expect(during.status).not.toBe('ready');
    expect(during.completed_at).toBeNull();
    expect((await eventCounts(h.tdb.pool))['export.completed'] ?? 0).toBe(before['export.completed'] ?? 0);
    // the parts of the refused attempt are not served: the row names none
    expect(during.parts).toEqual([]);

    await acceptAllEvents(h.tdb.pool);
    const retried = await processExportJob(job, deps(), { attempt: 2, maxAttempts: 3 });
    expect(retried).toMatchObject({ outcome: 'completed', parts: 1 });
    const done = await exportRow(id);
    expect(done.status).toBe('ready');
    expect((await eventCounts(h.tdb.pool))['export.completed']).toBe((before['export.completed'] ?? 0) + 1);
    // storage holds the export's named parts and nothing left from the refused attempt
    const stored = listStoredFiles(h.storageRoot).filter((f) => f.includes(id));
    const named = (done.parts as { storageKey: string }[]).map((p) => p.storageKey);
    expect(stored.sort()).toEqual(named.sort());
  });
});
