import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExportJobData } from '@immish/contracts';
import { createUser, exportPartToServe, getExport, requestExport } from '@immish/domain';
import { serveDownloadPart } from '@immish/runtime';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, type S3Emulator, startS3Emulator, type TestDatabase } from '@immish/testkit';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processExportJob } from '../src/processor.ts';
import { expectValidZip, seedAsset } from './export-helpers.ts';

/** The export path on the S3 driver (s3rver): multipart parts, abort on failure, presigned part downloads. */

const MiB = 1024 * 1024;
const logger = pino({ level: process.env.DEBUG_EXPORT ? 'debug' : 'silent' });
let tdb: TestDatabase;
let s3: S3Emulator;
let store: BlobStore;
const bucket = 'immish-exports';

beforeAll(async () => {
  tdb = await createTestDatabase();
  s3 = await startS3Emulator();
  store = createBlobStore(await s3.bucket(bucket, { partSizeBytes: 5 * MiB }));
});

afterAll(async () => {
  await store?.close();
  await s3?.close();
  await tdb?.drop();
});

const incompleteUploads = () => readdir(path.join(s3.dir, bucket, '._S3rver_uploads')).catch(() => []);
const deps = () => ({ db: tdb.db, storage: store, logger, ttlHours: 1 });

async function requestedEvent(exportId: string): Promise<ExportJobData> {
  const row = await tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('aggregate_id', '=', exportId)
    .where('type', '=', 'export.requested')
    .executeTakeFirstOrThrow();
  return row.payload as ExportJobData;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}

describe('export job on the S3 driver', () => {
  it('should write the archive as a multipart upload and serve parts as a 302 to a presigned URL', async () => {
    const user = await createUser(tdb.db, { email: 's3@immish.test', name: 's3', password: 'pw' });
    const assets = [
      await seedAsset(tdb.db, store, { ownerId: user.id, fileName: 'big.mov', size: 7 * MiB }),
      await seedAsset(tdb.db, store, { ownerId: user.id, fileName: 'small.jpg', size: 3000 }),
    ];
    const requester = { userId: user.id };
    const { export: requested } = await requestExport(tdb.db, { requester, assetIds: assets.map((a) => a.id) });
    await processExportJob(await requestedEvent(requested.id), deps());
    const row = await getExport(tdb.db, requester, requested.id);
    expect(row.status).toBe('ready');
    expect(await incompleteUploads()).toEqual([]);
    expect(await keysUnder(`exports/${row.id}/`)).toEqual([`exports/${row.id}/part-1.zip`]);

    const reply = {
      statusCode: 0,
      headers: {} as Record<string, string>,
      status(code: number) {
        this.statusCode = code;
      },
      header(name: string, value: string) {
        this.headers[name] = value;
      },
      send() {},
    };
    const served = await serveDownloadPart(reply, store, exportPartToServe(row, 1), { presignedRedirects: true });
    expect(served.statusCode).toBe(302);
    expect(reply.statusCode).toBe(302);
    const location = reply.headers.location ?? '';
    expect(new URL(location).searchParams.get('X-Amz-Expires')).toBe('60');
    const res = await fetch(location);
    expect(res.status).toBe(200);
    const file = path.join(s3.dir, 'presigned.zip');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    const ordered = [...assets].sort((a, b) => row.asset_ids.indexOf(a.id) - row.asset_ids.indexOf(b.id));
    await expectValidZip(
      file,
      ordered.map((a) => ({ name: a.fileName, size: a.size, crc: a.crc })),
    );
  });

  // s3rver implements neither AbortMultipartUpload nor ListMultipartUploads, so its upload folder cannot
  // prove the abort here; what a client can see (no object, a failed export) is checked.
  it('should fail the export and publish nothing when an original is missing mid-upload', async () => {
    const user = await createUser(tdb.db, { email: 's3-fail@immish.test', name: 's3f', password: 'pw' });
    const t0 = Date.parse('2024-01-01T00:00:00Z');
    const first = await seedAsset(tdb.db, store, {
      ownerId: user.id,
      fileName: 'first.mov',
      size: 12 * MiB,
      createdAt: new Date(t0),
    });
    const missing = await seedAsset(tdb.db, store, {
      ownerId: user.id,
      fileName: 'missing.jpg',
      size: 1000,
      createdAt: new Date(t0 + 1000),
    });
    const { original_key } = await tdb.db
      .selectFrom('assets')
      .select('original_key')
      .where('id', '=', missing.id)
      .executeTakeFirstOrThrow();
    await store.delete(original_key);
    const { export: requested } = await requestExport(tdb.db, {
      requester: { userId: user.id },
      assetIds: [first.id, missing.id],
    });
    await expect(processExportJob(await requestedEvent(requested.id), deps())).rejects.toThrow();
    const row = await tdb.db.selectFrom('exports').selectAll().where('id', '=', requested.id).executeTakeFirstOrThrow();
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/No object is stored/);
    expect(await keysUnder(`exports/${row.id}/`)).toEqual([]);
  });
});
