import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { crc32 } from 'node:zlib';
import type { ExportJobData } from '@immish/contracts';
import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { getExport, requestExport, toExportDto } from '@immish/domain';
import { createMetadataStripper } from '@immish/media';
import { createRedis } from '@immish/runtime';
import { type BlobStore, createBlobStore } from '@immish/storage';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL_EXIF, photo } from '../../../packages/media/test/helpers.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from '../../links-api/test/harness.ts';
import { processMaintenanceJob } from '../src/cleanup.ts';
import { processExportJob } from '../src/processor.ts';
import { startExportWorker } from '../src/worker.ts';
import { expectValidZip, listFiles, seedAlbum, seedAsset } from './export-helpers.ts';

const logger = pino({ level: 'silent' });
let h: LinksApiHarness;
let owner: TestUser;
let store: BlobStore;
let scratch: string;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  store = createBlobStore({ driver: 'fs', root: h.storageRoot });
  scratch = mkdtempSync(join(tmpdir(), 'immish-export-test-'));
});
afterAll(async () => {
  await store?.close();
  await h?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

const deps = () => ({ db: h.tdb.db, storage: store, logger, ttlHours: 24 });

async function requestedEvent(exportId: string): Promise<ExportJobData> {
  const row = await h.tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('aggregate_id', '=', exportId)
    .where('type', '=', 'export.requested')
    .executeTakeFirstOrThrow();
  return row.payload as ExportJobData;
}

async function postExport(payload: object, user = owner) {
  const res = await h.app.inject({ method: 'POST', url: '/api/exports', headers: user.headers, payload });
  expect(res.statusCode, res.body).toBe(202);
  return res.json() as { id: string; status: string };
}

async function getDto(id: string, user = owner) {
  const res = await h.app.inject({ url: `/api/exports/${id}`, headers: user.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function download(url: string, headers: Record<string, string> = {}) {
  return h.app.inject({ url, headers: { ...owner.headers, ...headers } });
}

let fileCounter = 0;
function saveZip(data: Buffer): string {
  const path = join(scratch, `download-${++fileCounter}.zip`);
  writeFileSync(path, data);
  return path;
}

describe('export job: POST /api/exports → worker → GET …/download', () => {
  it('should build one valid archive with safe, unique names and serve it with and without Range', async () => {
    const raw = [
      'Ünïcödé 東京 📷.jpg',
      '2024/trip/a.jpg',
      '../../etc/passwd',
      'dup.jpg',
      'dup.jpg',
      'DUP.JPG',
      'ok.png',
    ];
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const assets = [];
    for (const [i, fileName] of raw.entries()) {
      assets.push(
        await seedAsset(h.tdb.db, store, {
          ownerId: owner.id,
          fileName,
          size: 1000 + i * 777,
          createdAt: new Date(t0 + i * 1000),
        }),
      );
    }
    const queued = await postExport({ assetIds: assets.map((a) => a.id).reverse() });
    const result = await processExportJob(await requestedEvent(queued.id), deps());
    expect(result).toMatchObject({ outcome: 'completed', parts: 1 });

    const dto = await getDto(queued.id);
    const bytesTotal = assets.reduce((s, a) => s + a.size, 0);
    expect(dto).toMatchObject({ status: 'ready', progress: { bytesDone: bytesTotal, bytesTotal } });
    expect(dto.parts).toHaveLength(1);
    const [part] = dto.parts;
    expect(part).toMatchObject({
      index: 1,
      fileName: expect.stringMatching(/^immish-\d{8}-\d{6}\.zip$/),
      downloadUrl: `/api/exports/${queued.id}/parts/1/download`,
    });
    expect(Date.parse(dto.expiresAt) - Date.now()).toBeGreaterThan(23 * 3600_000);

    const full = await download(part.downloadUrl);
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-type']).toBe('application/zip');
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(Number(full.headers['content-length'])).toBe(part.size);
    expect(full.headers['content-disposition']).toBe(
      `attachment; filename="${part.fileName}"; filename*=UTF-8''${encodeURIComponent(part.fileName)}`,
    );
    expect(full.rawPayload.length).toBe(part.size);
    const names = [
      'Ünïcödé 東京 📷.jpg',
      '2024_trip_a.jpg',
      'etc_passwd',
      'dup.jpg',
      'dup (1).jpg',
      'DUP (2).JPG',
      'ok.png',
    ];
    await expectValidZip(
      saveZip(full.rawPayload),
      assets.map((a, i) => ({ name: names[i] as string, size: a.size, crc: a.crc })),
    );

    // Resume: the tail from byte 100, then stitched to the head.
    const tail = await download(part.downloadUrl, { range: 'bytes=100-' });
    expect(tail.statusCode).toBe(206);
    expect(tail.headers['content-range']).toBe(`bytes 100-${part.size - 1}/${part.size}`);
    expect(Number(tail.headers['content-length'])).toBe(part.size - 100);
    expect(Buffer.concat([full.rawPayload.subarray(0, 100), tail.rawPayload]).equals(full.rawPayload)).toBe(true);
    const suffix = await download(part.downloadUrl, { range: 'bytes=-22' });
    expect(suffix.statusCode).toBe(206);
    expect(suffix.rawPayload.equals(full.rawPayload.subarray(part.size - 22))).toBe(true);
    // If-Range with a stale validator: the whole part again.
    const stale = await download(part.downloadUrl, { range: 'bytes=100-', 'if-range': '"old"' });
    expect(stale.statusCode).toBe(200);
    const past = await download(part.downloadUrl, { range: `bytes=${part.size}-` });
    expect(past.statusCode).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${part.size}`);
    expect(past.json()).toMatchObject({ statusCode: 416, error: 'Range Not Satisfiable' });
    expect((await download(`/api/exports/${queued.id}/parts/2/download`)).statusCode).toBe(400);

    const progress = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', queued.id)
      .where('type', '=', 'export.progress')
      .execute();
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const { payload } of progress) {
      const data = (payload as { data: { bytesDone: number; bytesTotal: number } }).data;
      expect(data.bytesTotal).toBe(bytesTotal);
      expect(data.bytesDone).toBeLessThanOrEqual(bytesTotal);
    }
  });

  it('should stop and discard its writes when the export is deleted while being built', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'long.mov', size: 4 * 1024 * 1024 });
    const queued = await postExport({ assetIds: [a.id] });
    const running = processExportJob(await requestedEvent(queued.id), {
      ...deps(),
      readBytesPerSecond: 2 * 1024 * 1024,
      progressIntervalMs: 50,
    });
    for (let i = 0; i < 200; i++) {
      const row = await h.tdb.db
        .selectFrom('exports')
        .select('bytes_done')
        .where('id', '=', queued.id)
        .executeTakeFirst();
      if (row && Number(row.bytes_done) > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await h.app.inject({ method: 'DELETE', url: `/api/exports/${queued.id}`, headers: owner.headers });
    expect(res.statusCode).toBe(204);
    expect(await running).toMatchObject({ outcome: 'skipped', reason: 'deleted' });
    expect(await listFiles(join(h.storageRoot, 'exports', queued.id))).toEqual([]);
  });

  it('should split by maxPartSize into valid archives named after the album', async () => {
    const assets = [];
    for (let i = 0; i < 5; i++) {
      assets.push(
        await seedAsset(h.tdb.db, store, {
          ownerId: owner.id,
          fileName: `IMG_${i}.jpg`,
          size: 400 * 1024,
          createdAt: new Date(Date.parse('2024-02-01T00:00:00Z') + i * 1000),
        }),
      );
    }
    const albumId = await seedAlbum(
      h.tdb.db,
      owner.id,
      'Summer: 2024/Greece',
      assets.map((a) => a.id),
    );
    const maxPartSize = 1024 * 1024;
    const queued = await postExport({ albumId, maxPartSize });
    await processExportJob(await requestedEvent(queued.id), deps());
    const dto = await getDto(queued.id);
    expect(dto.status).toBe('ready');
    expect(dto.parts.map((p: { fileName: string }) => p.fileName)).toEqual([
      'Summer_ 2024_Greece (part 1 of 3).zip',
      'Summer_ 2024_Greece (part 2 of 3).zip',
      'Summer_ 2024_Greece (part 3 of 3).zip',
    ]);
    const seen: string[] = [];
    let next = 0;
    for (const part of dto.parts) {
      expect(part.size).toBeLessThanOrEqual(maxPartSize);
      const res = await download(part.downloadUrl);
      expect(res.statusCode).toBe(200);
      const row = await getExport(h.tdb.db, { userId: owner.id }, queued.id);
      const count = row.parts.find((p) => p.index === part.index)?.entryCount ?? 0;
      const expected = assets.slice(next, next + count).map((a) => ({ name: a.fileName, size: a.size, crc: a.crc }));
      next += count;
      await expectValidZip(saveZip(res.rawPayload), expected);
      seen.push(...expected.map((e) => e.name));
    }
    expect(seen).toEqual(assets.map((a) => a.fileName));
  });

  it('should reuse a ready archive for an identical request and ignore a redelivered job', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'reuse.jpg', size: 5000 });
    const first = await postExport({ assetIds: [a.id] });
    const event = await requestedEvent(first.id);
    await processExportJob(event, deps());
    const before = await getDto(first.id);

    const again = await postExport({ assetIds: [a.id] });
    expect(again).toMatchObject({ id: first.id, status: 'ready' });

    expect(await processExportJob(event, deps())).toMatchObject({ outcome: 'skipped', reason: 'not-pending' });
    await expect(processExportJob({ ...event, data: {} } as never, deps())).rejects.toThrow(
      /not an export.requested job/,
    );
    expect(await getDto(first.id)).toEqual(before);
    const completed = await h.tdb.db
      .selectFrom('outbox_events')
      .select('id')
      .where('aggregate_id', '=', first.id)
      .where('type', '=', 'export.completed')
      .execute();
    expect(completed).toHaveLength(1);
  });

  it('should name entries <asset id>.<ext> for a link that hides metadata, scoped to that link', async () => {
    const original = await photo('jpeg', { width: 32, height: 24, exif: FULL_EXIF });
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'secret name.JPG', data: original });
    const link = await h.tdb.db
      .insertInto('shared_links')
      .values({ owner_id: owner.id, type: 'INDIVIDUAL', key: `k${Date.now()}`, show_metadata: false })
      .returning('id')
      .executeTakeFirstOrThrow();
    const requester = { sharedLinkId: link.id, hidesMetadata: true };
    const { export: row, reused } = await requestExport(h.tdb.db, { requester, assetIds: [a.id] });
    expect(reused).toBe(false);
    await processExportJob(await requestedEvent(row.id), deps());
    const ready = await getExport(h.tdb.db, requester, row.id);
    const dto = toExportDto(ready, (n) => `/share/key/exports/${row.id}/parts/${n}/download`);
    expect(dto.parts[0]?.downloadUrl).toBe(`/share/key/exports/${row.id}/parts/1/download`);
    expect(dto.substitutions).toEqual([]);
    // The owner's API does not see the link's export.
    expect((await h.app.inject({ url: `/api/exports/${row.id}`, headers: owner.headers })).statusCode).toBe(400);
    const part = ready.parts[0];
    if (!part) throw new Error('no part');
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(part.storageKey)) chunks.push(chunk as Buffer);
    const stripped = await buffer(Readable.from([original]).pipe(createMetadataStripper('image/jpeg')!));
    expect(stripped.length).toBeLessThan(original.length);
    await expectValidZip(saveZip(Buffer.concat(chunks)), [
      { name: `${a.id}.jpg`, size: stripped.length, crc: crc32(stripped) },
    ]);
    const again = await requestExport(h.tdb.db, { requester, assetIds: [a.id] });
    expect(again).toMatchObject({ reused: true, export: { id: row.id } });
  });

  it('should mark the export failed, with export.failed, when an original is missing', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'ok.jpg', size: 4000 });
    const b = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'gone.jpg', size: 4000 });
    const key = (
      await h.tdb.db.selectFrom('assets').select('original_key').where('id', '=', b.id).executeTakeFirstOrThrow()
    ).original_key;
    await store.delete(key);
    const queued = await postExport({ assetIds: [a.id, b.id] });
    await expect(
      processExportJob(await requestedEvent(queued.id), deps(), { attempt: 1, maxAttempts: 5 }),
    ).rejects.toThrow(/No object is stored/);
    const dto = await getDto(queued.id);
    expect(dto).toMatchObject({ status: 'failed', error: expect.stringMatching(/No object is stored/), parts: [] });
    const failed = await h.tdb.db
      .selectFrom('outbox_events')
      .select('id')
      .where('aggregate_id', '=', queued.id)
      .where('type', '=', 'export.failed')
      .execute();
    expect(failed).toHaveLength(1);
    expect((await listFiles(join(h.storageRoot, 'exports'))).filter((f) => f.startsWith(queued.id))).toEqual([]);
  });

  it('should leave the export to BullMQ’s retry after a transient failure and fail it on the last attempt', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'flaky.jpg', size: 3000 });
    const queued = await postExport({ assetIds: [a.id] });
    const flaky: BlobStore = {
      driver: store.driver,
      put: store.put.bind(store),
      get: async () => {
        throw new Error('storage connection reset');
      },
      head: store.head.bind(store),
      delete: store.delete.bind(store),
      deletePrefix: store.deletePrefix.bind(store),
      list: store.list.bind(store),
      openWriter: store.openWriter.bind(store),
      abortIncompleteWrites: store.abortIncompleteWrites.bind(store),
      presignGet: store.presignGet.bind(store),
      check: store.check.bind(store),
      close: async () => {},
    };
    const event = await requestedEvent(queued.id);
    const job = (attempt: number) =>
      processExportJob(event, { ...deps(), storage: flaky }, { attempt, maxAttempts: 2 });
    await expect(job(1)).rejects.toThrow('storage connection reset');
    expect(await getDto(queued.id)).toMatchObject({ status: 'running' });
    await expect(job(2)).rejects.toThrow('storage connection reset');
    expect(await getDto(queued.id)).toMatchObject({ status: 'failed', error: 'storage connection reset' });
    const row = await getExport(h.tdb.db, { userId: owner.id }, queued.id);
    expect(row.attempts).toBe(2);
    expect(await listFiles(join(h.storageRoot, 'exports', queued.id))).toEqual([]);
  });

  it('should expire ready exports and delete their archives (cleanup job, run twice at once)', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'old.jpg', size: 2000 });
    const queued = await postExport({ assetIds: [a.id] });
    await processExportJob(await requestedEvent(queued.id), deps());
    expect(await listFiles(join(h.storageRoot, 'exports', queued.id))).toEqual(['part-1.zip']);
    await h.tdb.db
      .updateTable('exports')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', queued.id)
      .execute();
    // Past its expiry but not yet cleaned: already refused.
    expect((await download(`/api/exports/${queued.id}/parts/1/download`)).statusCode).toBe(410);

    const cleanup = { db: h.tdb.db, storage: store, logger };
    const results = await Promise.all([
      processMaintenanceJob('expire-exports', cleanup),
      processMaintenanceJob('expire-exports', cleanup),
    ]);
    expect(results.reduce((n, r) => n + (r?.expired ?? 0), 0)).toBe(1);
    expect(await getDto(queued.id)).toMatchObject({ status: 'expired', parts: [] });
    expect(await listFiles(join(h.storageRoot, 'exports', queued.id))).toEqual([]);
    expect((await download(`/api/exports/${queued.id}/parts/1/download`)).statusCode).toBe(410);
    // A new request for the same content builds a new archive.
    expect((await postExport({ assetIds: [a.id] })).id).not.toBe(queued.id);
  });

  it('should run expire-exports repeatedly on the maintenance queue once a worker is started', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'scheduled.jpg', size: 2000 });
    const queued = await postExport({ assetIds: [a.id] });
    await processExportJob(await requestedEvent(queued.id), deps());
    await h.tdb.db
      .updateTable('exports')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', queued.id)
      .execute();
    const worker = await startExportWorker({
      config: {
        REDIS_URL: h.redisUrl,
        QUEUE_PREFIX: h.prefix,
        EXPORT_CONCURRENCY: 1,
        EXPORT_TTL_HOURS: 24,
        EXPORT_CLEANUP_INTERVAL_MS: 1000,
        EXPORT_LOCK_DURATION_MS: 30_000,
        EXPORT_READ_BYTES_PER_SECOND: 0,
      },
      db: h.tdb.db,
      storage: store,
      logger,
    });
    try {
      // The DTO already says "expired" (past expires_at); the row changes only when the job has run.
      let row = await getExport(h.tdb.db, { userId: owner.id }, queued.id);
      for (let i = 0; i < 150 && row.status !== 'expired'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        row = await getExport(h.tdb.db, { userId: owner.id }, queued.id);
      }
      expect(row.status).toBe('expired');
      expect(await listFiles(join(h.storageRoot, 'exports', queued.id))).toEqual([]);
    } finally {
      await worker.close();
    }
  });

  it('should delete the archives with DELETE /api/exports/:id', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'bye.jpg', size: 2000 });
    const queued = await postExport({ assetIds: [a.id] });
    await processExportJob(await requestedEvent(queued.id), deps());
    expect(await listFiles(join(h.storageRoot, 'exports', queued.id))).toEqual(['part-1.zip']);
    const res = await h.app.inject({ method: 'DELETE', url: `/api/exports/${queued.id}`, headers: owner.headers });
    expect(res.statusCode).toBe(204);
    expect(await listFiles(join(h.storageRoot, 'exports', queued.id))).toEqual([]);
  });

  it('should complete an export through the outbox relay, the exports queue and a queue worker', async () => {
    const a = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: 'queued.jpg', size: 8000 });
    const publisher = new BullEventPublisher({
      connection: createRedis({ REDIS_URL: h.redisUrl }, 'producer'),
      prefix: h.prefix,
    });
    const relay = new OutboxRelay({ db: h.tdb.db, databaseUrl: h.tdb.url, publisher, logger });
    const worker = await startExportWorker({
      config: {
        REDIS_URL: h.redisUrl,
        QUEUE_PREFIX: h.prefix,
        EXPORT_CONCURRENCY: 1,
        EXPORT_TTL_HOURS: 24,
        EXPORT_CLEANUP_INTERVAL_MS: 60_000,
        EXPORT_LOCK_DURATION_MS: 30_000,
        EXPORT_READ_BYTES_PER_SECOND: 0,
      },
      db: h.tdb.db,
      storage: store,
      logger,
    });
    relay.start();
    try {
      const queued = await postExport({ assetIds: [a.id] });
      let dto = await getDto(queued.id);
      for (let i = 0; i < 200 && dto.status !== 'ready'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        dto = await getDto(queued.id);
      }
      expect(dto.status).toBe('ready');
      const res = await download(dto.parts[0].downloadUrl);
      await expectValidZip(saveZip(res.rawPayload), [{ name: 'queued.jpg', size: a.size, crc: a.crc }]);
    } finally {
      await relay.stop();
      await worker.close();
      await publisher.close();
    }
  });
});
