import type { DomainEvent } from '@immish/contracts';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photo, pngBomb, randomBytes, tinyJpeg, truncated } from '../../ingest-worker/test/fixtures.ts';
import {
  assetForm,
  type FormPart,
  multipartBody,
  startInProcessIngest,
} from '../../ingest-worker/test/http-helpers.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

const MAX_FILE = 200_000;

let h: LinksApiHarness;
let storage: BlobStore;
let ingest: { close(): Promise<void> };
let owner: TestUser;
let other: TestUser;

beforeAll(async () => {
  h = await startLinksApi({ UPLOAD_MAX_FILE_BYTES: String(MAX_FILE), UPLOAD_MAX_FILES: '300' });
  storage = createBlobStore({ driver: 'fs', root: h.storageRoot });
  ingest = startInProcessIngest({
    db: h.tdb.db,
    databaseUrl: h.tdb.url,
    storage,
    redisUrl: h.redisUrl,
    prefix: h.prefix,
    concurrency: 2,
  });
  owner = await h.newUser('owner');
  other = await h.newUser('other');
});
afterAll(async () => {
  await ingest?.close();
  await storage?.close();
  await h?.close();
});

async function postBatch(user: TestUser, parts: FormPart[]) {
  const form = multipartBody(parts);
  return h.app.inject({
    method: 'POST',
    url: '/api/upload-batches',
    headers: { ...user.headers, ...form.headers },
    payload: form.payload,
  });
}

async function waitForBatch(user: TestUser, id: string) {
  await expect
    .poll(async () => (await h.app.inject({ url: `/api/upload-batches/${id}`, headers: user.headers })).json().status, {
      timeout: 45_000,
      interval: 200,
    })
    .toBe('completed');
  return (await h.app.inject({ url: `/api/upload-batches/${id}`, headers: user.headers })).json();
}

async function createAlbum(user: TestUser, albumName: string): Promise<string> {
  const res = await h.app.inject({ method: 'POST', url: '/api/albums', headers: user.headers, payload: { albumName } });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

const completedEvents = (batchId: string) =>
  h.tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'upload-batch.completed')
    .where('aggregate_id', '=', batchId)
    .execute();

describe('POST /api/assets (size limit)', () => {
  it('should refuse a file over UPLOAD_MAX_FILE_BYTES with 413 and keep nothing', async () => {
    const form = assetForm(randomBytes(MAX_FILE + 1000), 'huge.jpg');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...owner.headers, ...form.headers },
      payload: form.payload,
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().message).toMatch(/larger than the limit of 200000 bytes/);
    expect(
      await h.tdb.db.selectFrom('assets').select('id').where('original_file_name', '=', 'huge.jpg').execute(),
    ).toEqual([]);
    const left = [];
    for await (const o of storage.list(`assets/${owner.id}/`)) left.push(o.key);
    expect(left.filter((k) => k.includes('huge'))).toEqual([]);
  });
});

describe('POST /api/upload-batches', () => {
  it('should require an API key', async () => {
    const form = multipartBody([{ name: 'files', filename: 'a.jpg', data: Buffer.from('x') }]);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/upload-batches',
      headers: form.headers,
      payload: form.payload,
    });
    expect(res.statusCode).toBe(401);
  });

  it('should answer 202 with per-file items, place the ingested files in the album and complete the batch', async () => {
    const albumId = await createAlbum(owner, 'Trip');
    const res = await postBatch(owner, [
      { name: 'albumId', value: albumId },
      { name: 'files', filename: 'one.jpg', data: await photo('jpeg', { seed: 1 }) },
      { name: 'files', filename: 'two.png', data: await photo('png', { seed: 2 }) },
      { name: 'files', filename: 'broken.jpg', data: randomBytes(3000, 3) },
    ]);
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ id: expect.any(String), status: 'processing', albumId, totals: { total: 3 } });
    expect(body.items.map((i: { fileName: string }) => i.fileName)).toEqual(['one.jpg', 'two.png', 'broken.jpg']);

    const done = await waitForBatch(owner, body.id);
    expect(done.items.map((i: { status: string }) => i.status)).toEqual(['ready', 'ready', 'failed']);
    expect(done.items[2].error).toMatch(/unsupported file type/);
    expect(done.totals).toMatchObject({ total: 3, ready: 2, failed: 1 });
    expect(done.completedAt).toEqual(expect.any(String));

    const inAlbum = await h.tdb.db
      .selectFrom('album_assets')
      .select('asset_id')
      .where('album_id', '=', albumId)
      .execute();
    expect(inAlbum.map((r) => r.asset_id).sort()).toEqual([done.items[0].assetId, done.items[1].assetId].sort());
    const events = await completedEvents(body.id);
    expect(events).toHaveLength(1);
    expect((events[0]?.payload as DomainEvent | undefined)?.data).toEqual({
      batchId: body.id,
      total: 3,
      ready: 2,
      duplicate: 0,
      failed: 1,
    });
  });

  it('should mark a file already owned as duplicate and still place it in the album', async () => {
    const bytes = await photo('jpeg', { seed: 20 });
    const first = await postBatch(owner, [{ name: 'files', filename: 'orig.jpg', data: bytes }]);
    const firstDone = await waitForBatch(owner, first.json().id);
    const albumId = await createAlbum(owner, 'Later');
    const res = await postBatch(owner, [
      { name: 'albumId', value: albumId },
      { name: 'files', filename: 'copy.jpg', data: bytes },
    ]);
    expect(res.json().items).toEqual([
      { fileName: 'copy.jpg', status: 'duplicate', assetId: firstDone.items[0].assetId, size: bytes.length },
    ]);
    const done = await waitForBatch(owner, res.json().id);
    expect(done.totals).toMatchObject({ duplicate: 1 });
    const inAlbum = await h.tdb.db
      .selectFrom('album_assets')
      .select('asset_id')
      .where('album_id', '=', albumId)
      .execute();
    expect(inAlbum.map((r) => r.asset_id)).toEqual([firstDone.items[0].assetId]);
  });

  it('should fail only the file over the size limit, with a reason, and go on with the others', async () => {
    const res = await postBatch(owner, [
      { name: 'files', filename: 'small.jpg', data: await photo('jpeg', { seed: 30 }) },
      { name: 'files', filename: 'huge.bin', data: randomBytes(MAX_FILE * 2, 30) },
      { name: 'files', filename: 'after.jpg', data: await photo('jpeg', { seed: 31 }) },
    ]);
    expect(res.statusCode).toBe(202);
    const items = res.json().items;
    expect(items[1]).toMatchObject({ fileName: 'huge.bin', status: 'failed' });
    expect(items[1].error).toMatch(/larger than the limit of 200000 bytes \(UPLOAD_MAX_FILE_BYTES\)/);
    const done = await waitForBatch(owner, res.json().id);
    expect(done.items.map((i: { status: string }) => i.status)).toEqual(['ready', 'failed', 'ready']);
  });

  it('should refuse an album the caller may not add to, a malformed albumId and a body without files with 400', async () => {
    const foreignAlbum = await createAlbum(other, 'Not yours');
    const file = { name: 'files', filename: 'x.jpg', data: await photo('jpeg', { seed: 40 }) };
    const foreign = await postBatch(owner, [{ name: 'albumId', value: foreignAlbum }, file]);
    expect(foreign.statusCode).toBe(400);
    expect(foreign.json().message).toBe('Not found or no access');
    const malformed = await postBatch(owner, [{ name: 'albumId', value: 'nope' }, file]);
    expect(malformed.statusCode).toBe(400);
    const empty = await postBatch(owner, [{ name: 'note', value: 'no files' }]);
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/No file/);
  });

  it('should ingest 200 files with 3 bad ones: 197 ready, 3 failed with reasons, one completion event', async () => {
    const bad = new Map<number, { name: string; data: Buffer }>([
      [17, { name: 'truncated.jpg', data: truncated(await photo('jpeg', { seed: 50, width: 400, height: 300 })) }],
      [99, { name: 'noise.jpg', data: randomBytes(5000, 99) }],
      [150, { name: 'bomb.png', data: pngBomb() }],
    ]);
    const parts: FormPart[] = [];
    for (let i = 0; i < 200; i++) {
      const b = bad.get(i);
      parts.push(
        b
          ? { name: 'files', filename: b.name, data: b.data }
          : { name: 'files', filename: `img-${i}.jpg`, data: await tinyJpeg(1000 + i) },
      );
    }
    const res = await postBatch(owner, parts);
    expect(res.statusCode).toBe(202);
    expect(res.json().totals.total).toBe(200);
    const done = await waitForBatch(owner, res.json().id);
    expect(done.totals).toMatchObject({ total: 200, ready: 197, failed: 3, duplicate: 0 });
    const failed = done.items.filter((i: { status: string }) => i.status === 'failed');
    expect(failed.map((i: { fileName: string }) => i.fileName)).toEqual(['truncated.jpg', 'noise.jpg', 'bomb.png']);
    expect(failed[0].error).toMatch(/cannot be decoded|truncated|premature/i);
    expect(failed[1].error).toMatch(/unsupported file type/);
    expect(failed[2].error).toMatch(/megapixels/);
    expect(await completedEvents(res.json().id)).toHaveLength(1);
  });
});

describe('GET /api/upload-batches/:id', () => {
  it('should answer 400 to another user and to a malformed id', async () => {
    const res = await postBatch(owner, [
      { name: 'files', filename: 'mine.jpg', data: await photo('jpeg', { seed: 60 }) },
    ]);
    const id = res.json().id;
    expect((await h.app.inject({ url: `/api/upload-batches/${id}`, headers: other.headers })).statusCode).toBe(400);
    expect((await h.app.inject({ url: '/api/upload-batches/zzz', headers: owner.headers })).statusCode).toBe(400);
    expect((await h.app.inject({ url: `/api/upload-batches/${id}`, headers: owner.headers })).statusCode).toBe(200);
  });
});
