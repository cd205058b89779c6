import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { DomainEvent } from '@immish/contracts';
import { createUser, receiveUpload } from '@immish/domain';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, type S3Emulator, startS3Emulator, type TestDatabase } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processIngestJob } from '../src/processor.ts';
import { EXIF, photo, randomBytes } from './fixtures.ts';

let tdb: TestDatabase;
let storage: BlobStore;
let s3: S3Emulator;
let ownerId: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  s3 = await startS3Emulator();
  storage = createBlobStore(await s3.bucket('immish-ingest'));
  ownerId = (await createUser(tdb.db, { email: 's3@immish.test', name: 'S3', password: 'pw' })).id;
});
afterAll(async () => {
  await storage?.close();
  await s3?.close();
  await tdb?.drop();
});

const upload = (bytes: Buffer, fileName: string, maxFileBytes = 10_000_000) =>
  receiveUpload(
    { db: tdb.db, storage },
    {
      ownerId,
      actor: { type: 'user', id: ownerId },
      // several chunks, as a multipart part arrives
      file: Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]),
      metadata: { fileName, fileCreatedAt: '2024-01-01T00:00:00.000Z', fileModifiedAt: '2024-01-01T00:00:00.000Z' },
      maxFileBytes,
    },
  );

describe('uploads and ingest on the S3 driver', () => {
  it('should stream an upload to S3, ingest it from there and write the derivatives next to it', async () => {
    const outcome = await upload(await photo('jpeg', { seed: 1, exif: EXIF }), 's3.jpg');
    const row = await tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', outcome.assetId)
      .executeTakeFirstOrThrow();
    expect(
      await processIngestJob(row.payload as DomainEvent, {
        db: tdb.db,
        storage,
        maxPixels: 1e8,
        keepFailedOriginals: true,
      }),
    ).toMatchObject({
      outcome: 'ready',
    });
    const asset = await tdb.db
      .selectFrom('assets')
      .selectAll()
      .where('id', '=', outcome.assetId)
      .executeTakeFirstOrThrow();
    expect(asset).toMatchObject({ status: 'ready', exif_make: 'ImmishCam' });
    expect(await storage.head(asset.thumbnail_key!)).toMatchObject({ size: expect.any(Number) });
    expect(await storage.head(asset.preview_key!)).toMatchObject({ size: expect.any(Number) });
  });

  it('should verify the copy it decodes and leave no temp file behind, ready or failed', async () => {
    const tempDir = mkdtempSync(join(tmpdir(), 'immish-ingest-s3-'));
    try {
      const deps = { db: tdb.db, storage, maxPixels: 1e8, keepFailedOriginals: true, tempDir };
      const eventOf = async (assetId: string) =>
        (
          await tdb.db
            .selectFrom('outbox_events')
            .select('payload')
            .where('aggregate_id', '=', assetId)
            .executeTakeFirstOrThrow()
        ).payload as DomainEvent;
      const good = await upload(await photo('jpeg', { seed: 3 }), 'good.jpg');
      expect(await processIngestJob(await eventOf(good.assetId), deps)).toMatchObject({ outcome: 'ready' });
      const rotten = await upload(await photo('jpeg', { seed: 4 }), 'rotten.jpg');
      const { original_key } = await tdb.db
        .selectFrom('assets')
        .select('original_key')
        .where('id', '=', rotten.assetId)
        .executeTakeFirstOrThrow();
      await storage.put(original_key, await photo('jpeg', { seed: 5 }));
      expect(await processIngestJob(await eventOf(rotten.assetId), deps)).toMatchObject({
        outcome: 'failed',
        reason: expect.stringMatching(/SHA-1/),
      });
      expect(readdirSync(tempDir)).toEqual([]);
    } finally {
      rmSync(tempDir, { recursive: true, force: true });
    }
  });

  it('should leave nothing in the bucket for a duplicate or a file over the limit', async () => {
    const bytes = await photo('jpeg', { seed: 2 });
    const first = await upload(bytes, 'a.jpg');
    const second = await upload(bytes, 'b.jpg');
    expect(second).toMatchObject({ status: 'duplicate', assetId: first.assetId });
    await expect(upload(randomBytes(50_000), 'big.jpg', 20_000)).rejects.toMatchObject({ statusCode: 413 });
    const keys: string[] = [];
    for await (const o of storage.list(`assets/${ownerId}/`)) keys.push(o.key);
    const originals = keys.filter((k) => k.includes('/original.'));
    const assets = await tdb.db.selectFrom('assets').select('original_key').where('owner_id', '=', ownerId).execute();
    expect(originals.sort()).toEqual(assets.map((a) => a.original_key).sort());
  });
});
