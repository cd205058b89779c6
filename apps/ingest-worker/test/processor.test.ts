import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { DomainEvent } from '@immish/contracts';
import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { createUser, receiveUpload } from '@immish/domain';
import { createLogger, createRedis } from '@immish/runtime';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestDeps, processIngestJob } from '../src/processor.ts';
import { startIngestWorker } from '../src/worker.ts';
import { EXIF, GPS, pdf, photo, pngBomb, randomBytes, truncated } from './fixtures.ts';

let tdb: TestDatabase;
let storage: BlobStore;
let root: string;
let ownerId: string;
let deps: IngestDeps;

beforeAll(async () => {
  tdb = await createTestDatabase();
  root = mkdtempSync(join(tmpdir(), 'immish-ingest-test-'));
  storage = createBlobStore({ driver: 'fs', root });
  ownerId = (await createUser(tdb.db, { email: 'owner@immish.test', name: 'Owner', password: 'pw' })).id;
  deps = { db: tdb.db, storage, maxPixels: 100_000_000, keepFailedOriginals: true };
});
afterAll(async () => {
  await storage?.close();
  await tdb?.drop();
  rmSync(root, { recursive: true, force: true });
});

/** Uploads bytes as the owner (the links-api's path) and returns the asset id and its asset.stored event. */
async function upload(bytes: Buffer, fileName: string): Promise<{ assetId: string; event: DomainEvent }> {
  const outcome = await receiveUpload(
    { db: tdb.db, storage },
    {
      ownerId,
      actor: { type: 'user', id: ownerId },
      file: Readable.from(bytes),
      metadata: { fileName, fileCreatedAt: '2024-01-02T03:04:05.000Z', fileModifiedAt: '2024-01-02T03:04:05.000Z' },
      maxFileBytes: 50_000_000,
    },
  );
  expect(outcome.status).toBe('created');
  const row = await tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'asset.stored')
    .where('aggregate_id', '=', outcome.assetId)
    .executeTakeFirstOrThrow();
  return { assetId: outcome.assetId, event: row.payload as DomainEvent };
}

const asset = (id: string) => tdb.db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
const eventsOf = (id: string, type: string) =>
  tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('aggregate_id', '=', id)
    .where('type', '=', type)
    .execute();

async function readAll(key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('processIngestJob', () => {
  it('should make a JPEG with EXIF ready with its EXIF columns, a WebP thumbnail, a JPEG preview and a thumbhash', async () => {
    const { assetId, event } = await upload(
      await photo('jpeg', { width: 1600, height: 1000, exif: EXIF }),
      'IMG_1.jpg',
    );
    const result = await processIngestJob(event, deps);
    expect(result).toEqual({ outcome: 'ready', assetId });

    const row = await asset(assetId);
    expect(row).toMatchObject({
      status: 'ready',
      error: null,
      type: 'IMAGE',
      mime_type: 'image/jpeg',
      width: 1600,
      height: 1000,
      exif_make: 'ImmishCam',
      exif_model: 'Model X',
      exif_lens_model: 'Immish 50mm',
      exif_exposure_time: '1/250',
      exif_f_number: 2.8,
      exif_focal_length: 50,
      exif_iso: 400,
      exif_description: 'A generated test photo',
    });
    expect(row.exif_latitude).toBeCloseTo(GPS.latitude, 5);
    expect(row.exif_longitude).toBeCloseTo(GPS.longitude, 5);
    expect(row.exif_date_time_original?.toISOString()).toBe('2023-07-14T13:16:17.000Z');
    expect(row.local_date_time.toISOString()).toBe('2023-07-14T15:16:17.000Z');
    expect(row.thumbhash?.length).toBeGreaterThan(5);

    const thumb = await sharp(await readAll(row.thumbnail_key!)).metadata();
    expect(thumb.format).toBe('webp');
    expect(Math.max(thumb.width, thumb.height)).toBeLessThanOrEqual(250);
    expect(thumb.exif).toBeUndefined();
    const preview = await sharp(await readAll(row.preview_key!)).metadata();
    expect(preview.format).toBe('jpeg');
    expect(preview.width).toBe(1440);
    expect(preview.exif).toBeUndefined();
    expect(row.thumbnail_key).toBe(`assets/${ownerId}/${assetId}/thumbnail.webp`);
    expect(row.preview_key).toBe(`assets/${ownerId}/${assetId}/preview.jpg`);
    expect(await eventsOf(assetId, 'asset.ingested')).toHaveLength(1);
  });

  it('should change nothing when the same job is delivered again', async () => {
    const { assetId, event } = await upload(await photo('jpeg', { seed: 2 }), 'again.jpg');
    await processIngestJob(event, deps);
    const before = await asset(assetId);
    const again = await processIngestJob(event, deps);
    expect(again).toMatchObject({ outcome: 'skipped', reason: 'already ready' });
    expect(await asset(assetId)).toEqual(before);
    expect(await eventsOf(assetId, 'asset.ingested')).toHaveLength(1);
  });

  it('should let exactly one of two concurrent deliveries finish the asset (one asset.ingested)', async () => {
    const { assetId, event } = await upload(await photo('jpeg', { seed: 8 }), 'twice.jpg');
    const outcomes = await Promise.all([processIngestJob(event, deps), processIngestJob(event, deps)]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['ready', 'skipped']);
    expect(await asset(assetId)).toMatchObject({ status: 'ready' });
    expect(await eventsOf(assetId, 'asset.ingested')).toHaveLength(1);
  });

  it('should produce the same rows and objects when an interrupted job runs again', async () => {
    const { assetId, event } = await upload(await photo('jpeg', { seed: 3 }), 'rerun.jpg');
    await processIngestJob(event, deps);
    const first = await asset(assetId);
    const thumb = await readAll(first.thumbnail_key!);
    // as if the worker died after writing the derivatives but before committing
    await tdb.db.updateTable('assets').set({ status: 'processing' }).where('id', '=', assetId).execute();
    await processIngestJob(event, deps);
    const second = await asset(assetId);
    expect({ ...second, updated_at: null }).toEqual({ ...first, updated_at: null });
    expect((await readAll(second.thumbnail_key!)).equals(thumb)).toBe(true);
  });

  it('should detect a PNG named .jpg by its content', async () => {
    const { assetId, event } = await upload(await photo('png', { seed: 4 }), 'not-really.jpg');
    expect((await asset(assetId)).mime_type).toBe('image/jpeg'); // guessed from the name at upload
    await processIngestJob(event, deps);
    expect(await asset(assetId)).toMatchObject({ status: 'ready', mime_type: 'image/png', type: 'IMAGE' });
  });

  it('should fail a zero-byte file with a readable reason', async () => {
    const { assetId, event } = await upload(Buffer.alloc(0), 'empty.jpg');
    expect(await processIngestJob(event, deps)).toMatchObject({ outcome: 'failed' });
    const row = await asset(assetId);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/empty/);
    const [failed] = await eventsOf(assetId, 'asset.ingest-failed');
    expect((failed?.payload as DomainEvent | undefined)?.data).toMatchObject({ assetId, reason: row.error });
  });

  it('should fail a truncated JPEG', async () => {
    const { assetId, event } = await upload(
      truncated(await photo('jpeg', { seed: 5, width: 800, height: 600 })),
      'cut.jpg',
    );
    await processIngestJob(event, deps);
    const row = await asset(assetId);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/JPG|JPEG|truncated|decoded|premature/i);
    expect(row.thumbnail_key).toBeNull();
  });

  it('should fail random bytes named .jpg as an unsupported file type', async () => {
    const { assetId, event } = await upload(randomBytes(4096), 'noise.jpg');
    await processIngestJob(event, deps);
    expect(await asset(assetId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^unsupported file type/),
    });
  });

  it('should fail an unsupported type (PDF) and name what it is', async () => {
    const { assetId, event } = await upload(pdf(), 'document.jpg');
    await processIngestJob(event, deps);
    expect(await asset(assetId)).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('application/pdf'),
    });
  });

  it('should refuse a 50,000×50,000 PNG bomb of a few hundred bytes by its pixel count', async () => {
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(1024);
    const { assetId, event } = await upload(bomb, 'bomb.png');
    await processIngestJob(event, deps);
    expect(await asset(assetId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/50000×50000 = 2500 megapixels; the limit is 100 megapixels/),
    });
  });

  it('should keep or remove the original of a failed file per INGEST_KEEP_FAILED_ORIGINALS', async () => {
    const kept = await upload(randomBytes(100, 1), 'kept.jpg');
    await processIngestJob(kept.event, deps);
    expect(await storage.head((await asset(kept.assetId)).original_key)).not.toBeNull();

    const removed = await upload(randomBytes(100, 2), 'removed.jpg');
    await processIngestJob(removed.event, { ...deps, keepFailedOriginals: false });
    expect(await storage.head((await asset(removed.assetId)).original_key)).toBeNull();
  });

  it('should fail a file whose stored original is gone', async () => {
    const { assetId, event } = await upload(await photo('jpeg', { seed: 7 }), 'gone.jpg');
    await storage.delete((await asset(assetId)).original_key);
    await processIngestJob(event, deps);
    expect(await asset(assetId)).toMatchObject({ status: 'failed', error: 'the stored file is missing' });
  });

  it('should fail a file whose stored bytes no longer match the upload checksum', async () => {
    const { assetId, event } = await upload(await photo('jpeg', { seed: 6 }), 'rot.jpg');
    await storage.put((await asset(assetId)).original_key, Buffer.from('bit rot'));
    await processIngestJob(event, deps);
    expect(await asset(assetId)).toMatchObject({ status: 'failed', error: expect.stringMatching(/SHA-1/) });
  });
});

describe('processIngestJob (infrastructure failures)', () => {
  it('should throw (so BullMQ retries) when storage fails, leaving the asset to a later attempt', async () => {
    const { assetId, event } = await upload(await photo('jpeg', { seed: 20 }), 'retry.jpg');
    const down = Object.assign(Object.create(storage) as BlobStore, {
      get: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
      },
    });
    await expect(processIngestJob(event, { ...deps, storage: down })).rejects.toThrow(/ECONNREFUSED/);
    expect((await asset(assetId)).status).toBe('processing');
    expect(await eventsOf(assetId, 'asset.ingest-failed')).toEqual([]);
    expect(await processIngestJob(event, deps)).toEqual({ outcome: 'ready', assetId });
  });
});

describe('ingest worker (BullMQ)', () => {
  it('should ingest assets whose asset.stored events the outbox relay publishes to the ingest queue', async () => {
    const { url: redisUrl, prefix } = testRedis();
    const publisher = new BullEventPublisher({ connection: createRedis({ REDIS_URL: redisUrl }, 'producer'), prefix });
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher, pollIntervalMs: 100 });
    const worker = startIngestWorker({
      config: {
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
        INGEST_CONCURRENCY: 2,
        INGEST_MAX_PIXELS: 100_000_000,
        INGEST_KEEP_FAILED_ORIGINALS: true,
      },
      db: tdb.db,
      storage,
      logger: createLogger({ service: 'ingest-test', level: 'silent' }),
    });
    try {
      const good = await upload(await photo('jpeg', { seed: 10, exif: EXIF }), 'queued.jpg');
      const bad = await upload(randomBytes(2048, 10), 'queued-bad.jpg');
      relay.start();
      await expect
        .poll(async () => [(await asset(good.assetId)).status, (await asset(bad.assetId)).status], {
          timeout: 30_000,
          interval: 100,
        })
        .toEqual(['ready', 'failed']);
      expect((await asset(good.assetId)).exif_make).toBe('ImmishCam');
    } finally {
      await relay.stop();
      await worker.close();
      await publisher.close();
    }
  });
});
