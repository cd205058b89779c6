import { createHash } from 'node:crypto';
import type { DomainEvent } from '@immish/contracts';
import { type BlobStore, createBlobStore } from '@immish/storage';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processIngestJob } from '../../ingest-worker/src/processor.ts';
import { EXIF, photo } from '../../ingest-worker/test/fixtures.ts';
import { assetForm } from '../../ingest-worker/test/http-helpers.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

let h: LinksApiHarness;
let storage: BlobStore;
let owner: TestUser;
let other: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  storage = createBlobStore({ driver: 'fs', root: h.storageRoot });
  owner = await h.newUser('owner');
  other = await h.newUser('other');
});
afterAll(async () => {
  await storage?.close();
  await h?.close();
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest();

async function uploadAs(user: TestUser, data: Buffer, filename: string, extra: Record<string, string> = {}) {
  const form = assetForm(data, filename, extra);
  return h.app.inject({
    method: 'POST',
    url: '/api/assets',
    headers: { ...user.headers, ...form.headers },
    payload: form.payload,
  });
}

async function ingest(assetId: string): Promise<void> {
  const row = await h.tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'asset.stored')
    .where('aggregate_id', '=', assetId)
    .executeTakeFirstOrThrow();
  await processIngestJob(row.payload as DomainEvent, {
    db: h.tdb.db,
    storage,
    maxPixels: 100_000_000,
    keepFailedOriginals: true,
  });
}

async function newAsset(user: TestUser, seed: number, name = `photo-${seed}.jpg`) {
  const bytes = await photo('jpeg', { seed, exif: EXIF });
  const res = await uploadAs(user, bytes, name);
  expect(res.statusCode).toBe(201);
  return { id: res.json().id as string, bytes };
}

describe('POST /api/assets', () => {
  it('should require an API key', async () => {
    const form = assetForm(Buffer.from('x'), 'a.jpg');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: form.headers,
      payload: form.payload,
    });
    expect(res.statusCode).toBe(401);
  });

  it('should answer 201 created, then 200 duplicate for the same file without keeping a second copy', async () => {
    const bytes = await photo('jpeg', { seed: 100 });
    const first = await uploadAs(owner, bytes, 'dup.jpg');
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ id: expect.any(String), status: 'created' });
    const second = await uploadAs(owner, bytes, 'dup-again.jpg');
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual({ id: first.json().id, status: 'duplicate' });

    const rows = await h.tdb.db
      .selectFrom('assets')
      .selectAll()
      .where('owner_id', '=', owner.id)
      .where('checksum', '=', sha1(bytes))
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'uploaded', original_file_name: 'dup.jpg', size: String(bytes.length) });
    const stored = [];
    for await (const o of storage.list(`assets/${owner.id}/`)) stored.push(o.key);
    expect(stored.filter((k) => k.endsWith('/original.jpg'))).toHaveLength(
      (await h.tdb.db.selectFrom('assets').select('id').where('owner_id', '=', owner.id).execute()).length,
    );
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .selectAll()
      .where('aggregate_id', '=', first.json().id)
      .execute();
    expect(events.map((e) => e.type)).toEqual(['asset.stored']);
  });

  it('should let another user upload the same bytes as their own asset', async () => {
    const bytes = await photo('jpeg', { seed: 101 });
    const a = await uploadAs(owner, bytes, 'shared.jpg');
    const b = await uploadAs(other, bytes, 'shared.jpg');
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
  });

  it('should answer a duplicate from x-immich-checksum (hex or base64) before reading the body', async () => {
    const { id, bytes } = await newAsset(owner, 102);
    for (const checksum of [sha1(bytes).toString('hex'), sha1(bytes).toString('base64')]) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/assets',
        headers: { ...owner.headers, 'x-immich-checksum': checksum, 'content-type': 'multipart/form-data; boundary=x' },
        payload: 'not even multipart',
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ id, status: 'duplicate' });
    }
  });

  it('should upload normally when x-immich-checksum names an unknown file, and refuse a malformed one', async () => {
    const bytes = await photo('jpeg', { seed: 103 });
    const form = assetForm(bytes, 'new.jpg');
    const ok = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...owner.headers, ...form.headers, 'x-immich-checksum': sha1(bytes).toString('hex') },
      payload: form.payload,
    });
    expect(ok.statusCode).toBe(201);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...owner.headers, ...form.headers, 'x-immich-checksum': 'abc' },
      payload: form.payload,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/x-immich-checksum/);
  });

  it('should refuse a missing fileCreatedAt or a body without assetData with 400, storing nothing', async () => {
    const form = assetForm(await photo('jpeg', { seed: 104 }), 'x.jpg', { fileCreatedAt: 'yesterday' });
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...other.headers, ...form.headers },
      payload: form.payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      statusCode: 400,
      error: 'Bad Request',
      message: expect.stringMatching(/fileCreatedAt/),
    });
    const none = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...other.headers, 'content-type': 'application/json' },
      payload: {},
    });
    expect(none.statusCode).toBe(400);
  });

  it('should answer a malformed multipart body with 400, not 500', async () => {
    const a = assetForm(Buffer.from('abc'), 'a.jpg');
    const b = assetForm(Buffer.from('abc'), 'a.jpg');
    const wrongBoundary = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...owner.headers, ...a.headers },
      payload: b.payload,
    });
    expect(wrongBoundary.statusCode).toBe(400);
    expect(wrongBoundary.json().message).toMatch(/Malformed multipart/);
    const noBoundary = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...owner.headers, 'content-type': 'multipart/form-data' },
      payload: 'xx',
    });
    expect(noBoundary.statusCode).toBe(400);
  });

  it('should make two concurrent uploads of the same file one asset (one created, one duplicate)', async () => {
    const bytes = await photo('jpeg', { seed: 105, width: 900, height: 700 });
    const [a, b] = await Promise.all([uploadAs(owner, bytes, 'race-a.jpg'), uploadAs(owner, bytes, 'race-b.jpg')]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 201]);
    expect(a.json().id).toBe(b.json().id);
  });

  it('should refuse an upload over the owner quota with a clear 400', async () => {
    const user = await h.newUser('quota');
    await h.tdb.db.updateTable('users').set({ quota_bytes: 5000 }).where('id', '=', user.id).execute();
    const res = await uploadAs(user, await photo('jpeg', { seed: 106 }), 'big.jpg');
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/Quota has been exceeded/);
    expect(await h.tdb.db.selectFrom('assets').select('id').where('owner_id', '=', user.id).execute()).toEqual([]);
  });
});

describe('POST /api/assets/bulk-upload-check', () => {
  it('should accept unknown checksums and reject owned ones as duplicates with their assetId', async () => {
    const { id, bytes } = await newAsset(owner, 200);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/assets/bulk-upload-check',
      headers: owner.headers,
      payload: {
        assets: [
          { id: 'known-hex', checksum: sha1(bytes).toString('hex') },
          { id: 'known-b64', checksum: sha1(bytes).toString('base64') },
          { id: 'new', checksum: sha1(Buffer.from('new')).toString('hex') },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      results: [
        { id: 'known-hex', action: 'reject', reason: 'duplicate', assetId: id, isTrashed: false },
        { id: 'known-b64', action: 'reject', reason: 'duplicate', assetId: id, isTrashed: false },
        { id: 'new', action: 'accept' },
      ],
    });
    const foreign = await h.app.inject({
      method: 'POST',
      url: '/api/assets/bulk-upload-check',
      headers: other.headers,
      payload: { assets: [{ id: 'x', checksum: sha1(bytes).toString('hex') }] },
    });
    expect(foreign.json().results[0]).toEqual({ id: 'x', action: 'accept' });
  });

  it('should answer the library asset when a link upload brought in the same bytes (docs/spec.md §14)', async () => {
    const { id, bytes } = await newAsset(owner, 201);
    // a recipient uploaded the same bytes through a link: its own asset of the owner, outside their uniqueness
    const viaLink = await h.tdb.db
      .insertInto('assets')
      .values({
        owner_id: owner.id,
        type: 'IMAGE',
        original_file_name: 'guest.jpg',
        checksum: sha1(bytes),
        original_key: `assets/${owner.id}/guest/original.jpg`,
        origin: 'shared-link',
        created_at: new Date(Date.now() - 3600_000),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const check = await h.app.inject({
      method: 'POST',
      url: '/api/assets/bulk-upload-check',
      headers: owner.headers,
      payload: { assets: [{ id: 'again', checksum: sha1(bytes).toString('hex') }] },
    });
    expect(check.json().results).toEqual([
      { id: 'again', action: 'reject', reason: 'duplicate', assetId: id, isTrashed: false },
    ]);
    const upload = await uploadAs(owner, bytes, 'again.jpg');
    expect(upload.json()).toEqual({ id, status: 'duplicate' });
    expect(upload.json().id).not.toBe(viaLink.id);
  });

  it('should refuse a checksum that is not a SHA-1 with 400', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/assets/bulk-upload-check',
      headers: owner.headers,
      payload: { assets: [{ id: 'x', checksum: 'nope' }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/SHA-1/);
  });
});

describe('GET /api/assets/:id', () => {
  it('should answer the AssetResponseDto with status, then EXIF once ingested', async () => {
    const { id, bytes } = await newAsset(owner, 300, 'holiday.jpg');
    const before = await h.app.inject({ url: `/api/assets/${id}`, headers: owner.headers });
    expect(before.statusCode).toBe(200);
    expect(before.json()).toMatchObject({
      id,
      type: 'IMAGE',
      status: 'uploaded',
      originalFileName: 'holiday.jpg',
      ownerId: owner.id,
      checksum: sha1(bytes).toString('base64'),
      fileCreatedAt: '2024-05-06T07:08:09.000Z',
      isTrashed: false,
      thumbhash: null,
      visibility: 'timeline',
    });
    await ingest(id);
    const after = (await h.app.inject({ url: `/api/assets/${id}`, headers: owner.headers })).json();
    expect(after).toMatchObject({
      status: 'ready',
      width: 320,
      height: 200,
      originalMimeType: 'image/jpeg',
      exifInfo: { make: 'ImmishCam', model: 'Model X', iso: 400, fNumber: 2.8, exposureTime: '1/250' },
    });
    expect(after.exifInfo.latitude).toBeCloseTo(52.52, 1);
    expect(after.thumbhash).toEqual(expect.any(String));
    expect(after.error).toBeUndefined();
  });

  it('should answer 400 for another user asset, an unknown id and a malformed id', async () => {
    const { id } = await newAsset(owner, 301);
    for (const [user, url] of [
      [other, `/api/assets/${id}`],
      [owner, '/api/assets/00000000-0000-4000-8000-000000000000'],
      [owner, '/api/assets/not-a-uuid'],
    ] as const) {
      const res = await h.app.inject({ url, headers: user.headers });
      expect(res.statusCode).toBe(400);
    }
    const res = await h.app.inject({ url: `/api/assets/${id}`, headers: other.headers });
    expect(res.json().message).toBe('Not found or no access');
  });
});

describe('GET /api/assets/:id/original', () => {
  it('should serve the original with ETag, Content-Disposition filename* and Content-Length', async () => {
    const { id, bytes } = await newAsset(owner, 400, 'Ürlaub 1.jpg');
    const res = await h.app.inject({ url: `/api/assets/${id}/original`, headers: owner.headers });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(bytes)).toBe(true);
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers.etag).toMatch(/^"/);
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="_rlaub 1.jpg"; filename*=UTF-8''%C3%9Crlaub%201.jpg`,
    );
    expect(res.headers['content-type']).toBe('image/jpeg');
  });

  it('should answer a Range with 206 and Content-Range, If-None-Match with 304, an unsatisfiable range with 416', async () => {
    const { id, bytes } = await newAsset(owner, 401);
    const url = `/api/assets/${id}/original`;
    const part = await h.app.inject({ url, headers: { ...owner.headers, range: 'bytes=10-19' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-19/${bytes.length}`);
    expect(part.rawPayload.equals(bytes.subarray(10, 20))).toBe(true);
    const tail = await h.app.inject({ url, headers: { ...owner.headers, range: 'bytes=-5' } });
    expect(tail.rawPayload.equals(bytes.subarray(bytes.length - 5))).toBe(true);

    const etag = part.headers.etag as string;
    const cached = await h.app.inject({ url, headers: { ...owner.headers, 'if-none-match': etag } });
    expect(cached.statusCode).toBe(304);
    expect(cached.rawPayload.length).toBe(0);

    const past = await h.app.inject({ url, headers: { ...owner.headers, range: `bytes=${bytes.length}-` } });
    expect(past.statusCode).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${bytes.length}`);
    expect(past.json().statusCode).toBe(416);
  });

  it('should answer 400 to another user', async () => {
    const { id } = await newAsset(owner, 402);
    const res = await h.app.inject({ url: `/api/assets/${id}/original`, headers: other.headers });
    expect(res.statusCode).toBe(400);
  });
});

describe('GET /api/assets/:id/thumbnail', () => {
  it('should answer 404 while processing, then the WebP thumbnail and the JPEG preview', async () => {
    const { id } = await newAsset(owner, 500);
    const url = `/api/assets/${id}/thumbnail`;
    const early = await h.app.inject({ url, headers: owner.headers });
    expect(early.statusCode).toBe(404);
    expect(early.json().message).toMatch(/still being processed/);
    await ingest(id);
    const thumb = await h.app.inject({ url, headers: owner.headers });
    expect(thumb.statusCode).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/webp');
    expect((await sharp(thumb.rawPayload).metadata()).width).toBeLessThanOrEqual(250);
    const preview = await h.app.inject({ url: `${url}?size=preview`, headers: owner.headers });
    expect(preview.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(preview.rawPayload).metadata()).format).toBe('jpeg');
    const again = await h.app.inject({
      url,
      headers: { ...owner.headers, 'if-none-match': thumb.headers.etag as string },
    });
    expect(again.statusCode).toBe(304);
  });

  it('should serve the preview for size=fullsize and size=original (as Immich does), and refuse an unknown size with 400', async () => {
    const { id } = await newAsset(owner, 501);
    await ingest(id);
    for (const size of ['fullsize', 'original']) {
      const res = await h.app.inject({ url: `/api/assets/${id}/thumbnail?size=${size}`, headers: owner.headers });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/jpeg');
    }
    const bad = await h.app.inject({ url: `/api/assets/${id}/thumbnail?size=huge`, headers: owner.headers });
    expect(bad.statusCode).toBe(400);
  });
});

describe('DELETE /api/assets', () => {
  it('should move owned assets to the trash (204) and refuse another user assets with 400', async () => {
    const { id } = await newAsset(owner, 600);
    const denied = await h.app.inject({
      method: 'DELETE',
      url: '/api/assets',
      headers: other.headers,
      payload: { ids: [id] },
    });
    expect(denied.statusCode).toBe(400);
    const res = await h.app.inject({
      method: 'DELETE',
      url: '/api/assets',
      headers: owner.headers,
      payload: { ids: [id] },
    });
    expect(res.statusCode).toBe(204);
    expect((await h.app.inject({ url: `/api/assets/${id}`, headers: owner.headers })).json().isTrashed).toBe(true);
  });
});

describe('GET /api/assets/statistics', () => {
  it('should count the caller own assets in Immich shape', async () => {
    const user = await h.newUser('stats');
    await newAsset(user, 700);
    await newAsset(user, 701);
    const res = await h.app.inject({ url: '/api/assets/statistics', headers: user.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ images: 2, videos: 0, total: 2 });
    const trashed = await h.app.inject({ url: '/api/assets/statistics?isTrashed=true', headers: user.headers });
    expect(trashed.json()).toEqual({ images: 0, videos: 0, total: 0 });
  });
});
