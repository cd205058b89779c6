import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { DomainEvent } from '@immish/contracts';
import { createUser, receiveUpload } from '@immish/domain';
import { type BlobStore, createBlobStore } from '@immish/storage';
import {
  acceptAllEvents,
  createTestDatabase,
  installOutboxFault,
  refuseEvents,
  snapshotTables,
  type TestDatabase,
} from '@immish/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type IngestDeps, processIngestJob } from '../src/processor.ts';
import { photo, randomBytes } from './fixtures.ts';

/**
 * docs/spec.md §6 for the ingest worker: an asset becomes ready (or failed), is placed in its album and its batch
 * item is finalized in the same commit as its events. When the event cannot be written, the job fails (BullMQ
 * retries it) and the asset is left exactly as it was, so the retry does all of it, once.
 */

let tdb: TestDatabase;
let storage: BlobStore;
let root: string;
let ownerId: string;
let deps: IngestDeps;

beforeAll(async () => {
  tdb = await createTestDatabase();
  root = mkdtempSync(join(tmpdir(), 'immish-ingest-atomic-'));
  storage = createBlobStore({ driver: 'fs', root });
  ownerId = (await createUser(tdb.db, { email: 'owner@immish.test', name: 'Owner', password: 'pw' })).id;
  deps = { db: tdb.db, storage, maxPixels: 100_000_000, keepFailedOriginals: true };
  await installOutboxFault(tdb.pool);
});
afterAll(async () => {
  await storage?.close();
  await tdb?.drop();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(async () => {
  await acceptAllEvents(tdb.pool);
});

async function upload(bytes: Buffer, albumId?: string): Promise<{ assetId: string; event: DomainEvent }> {
  const outcome = await receiveUpload(
    { db: tdb.db, storage },
    {
      ownerId,
      actor: { type: 'user', id: ownerId },
      file: Readable.from(bytes),
      metadata: {
        fileName: 'a.jpg',
        fileCreatedAt: '2024-01-02T03:04:05.000Z',
        fileModifiedAt: '2024-01-02T03:04:05.000Z',
      },
      maxFileBytes: 50_000_000,
      ...(albumId ? { placement: { albumId } } : {}),
    },
  );
  const row = await tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'asset.stored')
    .where('aggregate_id', '=', outcome.assetId)
    .executeTakeFirstOrThrow();
  return { assetId: outcome.assetId, event: row.payload as DomainEvent };
}

async function album(): Promise<string> {
  const a = await tdb.db
    .insertInto('albums')
    .values({ owner_id: ownerId, name: 'Trip' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await tdb.db.insertInto('album_users').values({ album_id: a.id, user_id: ownerId, role: 'owner' }).execute();
  return a.id;
}

const status = async (id: string) =>
  (await tdb.db.selectFrom('assets').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

describe('the ingest processor and its events are atomic', () => {
  const cases = [
    {
      name: 'a ready asset (one-statement path)',
      refused: 'asset.ingested',
      bytes: () => photo('jpeg'),
      inAlbum: false,
    },
    { name: 'a ready asset placed in its album', refused: 'asset.ingested', bytes: () => photo('png'), inAlbum: true },
    { name: 'a placement of a ready asset', refused: 'album.assets-added', bytes: () => photo('webp'), inAlbum: true },
    {
      name: 'a failed asset',
      refused: 'asset.ingest-failed',
      bytes: async () => randomBytes(4096, 77),
      inAlbum: false,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: a refused ${c.refused} event leaves the asset as it was; the retry finishes it`, async () => {
      const { assetId, event } = await upload(await c.bytes(), c.inAlbum ? await album() : undefined);
      // the job claims the asset first (`processing`, its own commit): that claim is what a retry resumes from
      const CLAIM = ['status', 'updated_at'];
      const before = await snapshotTables(tdb.pool, CLAIM);
      await refuseEvents(tdb.pool, [c.refused]);
      await expect(processIngestJob(event, deps)).rejects.toThrow(/outbox refuses/);
      expect(await snapshotTables(tdb.pool, CLAIM)).toEqual(before);
      expect(await status(assetId)).toBe('processing');

      await acceptAllEvents(tdb.pool);
      const retried = await processIngestJob(event, deps);
      expect(retried.outcome).toBe(c.refused === 'asset.ingest-failed' ? 'failed' : 'ready');
      const events = await tdb.db
        .selectFrom('outbox_events')
        .select('type')
        .where('type', '=', c.refused)
        .where((eb) =>
          eb.or([
            eb('aggregate_id', '=', assetId),
            eb(eb.ref('payload'), '@>', { data: { assetIds: [assetId] } } as never),
          ]),
        )
        .execute();
      expect(events).toHaveLength(1);
    });
  }
});
