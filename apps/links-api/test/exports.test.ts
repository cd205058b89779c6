import { type BlobStore, createBlobStore } from '@immish/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAlbum, seedAsset } from '../../export-worker/test/export-helpers.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

let h: LinksApiHarness;
let owner: TestUser;
let other: TestUser;
let store: BlobStore;
beforeAll(async () => {
  h = await startLinksApi();
  store = createBlobStore({ driver: 'fs', root: h.storageRoot });
  owner = await h.newUser('owner');
  other = await h.newUser('other');
});
afterAll(async () => {
  await store?.close();
  await h?.close();
});

const seed = (ownerId: string, fileName: string, extra: { status?: 'processing'; trashed?: boolean } = {}) =>
  seedAsset(h.tdb.db, store, { ownerId, fileName, size: 2000, ...extra });

async function post(user: TestUser, payload: unknown) {
  return h.app.inject({ method: 'POST', url: '/api/exports', headers: user.headers, payload: payload as object });
}

describe('POST /api/exports', () => {
  it('should require an API key', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/exports', payload: { assetIds: [] } });
    expect(res.statusCode).toBe(401);
  });

  it('should queue an export of the caller’s assets and answer 202 with an ExportDto', async () => {
    const a = await seed(owner.id, 'a.jpg');
    const b = await seed(owner.id, 'b.jpg');
    const res = await post(owner, { assetIds: [a.id, b.id] });
    expect(res.statusCode).toBe(202);
    const dto = res.json();
    expect(dto).toEqual({
      id: expect.any(String),
      status: 'queued',
      progress: { bytesDone: 0, bytesTotal: 4000 },
      parts: [],
      expiresAt: null,
    });
    const event = await h.tdb.db
      .selectFrom('outbox_events')
      .select(['type', 'payload'])
      .where('aggregate_id', '=', dto.id)
      .executeTakeFirstOrThrow();
    expect(event.type).toBe('export.requested');
    expect(event.payload).toMatchObject({ data: { exportId: dto.id }, actor: { type: 'user', id: owner.id } });
  });

  it('should answer 400 for an empty selection', async () => {
    const res = await post(owner, { assetIds: [] });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, message: expect.stringMatching(/Nothing to export/) });
  });

  it('should answer 400 when no selected asset is ready or all are trashed', async () => {
    const processing = await seed(owner.id, 'p.jpg', { status: 'processing' });
    const trashed = await seed(owner.id, 't.jpg', { trashed: true });
    const res = await post(owner, { assetIds: [processing.id, trashed.id] });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/none of the selected assets is ready/);
  });

  it('should answer 400 "not found or no access" for another user’s asset', async () => {
    const mine = await seed(owner.id, 'mine.jpg');
    const foreign = await seed(other.id, 'foreign.jpg');
    const res = await post(owner, { assetIds: [mine.id, foreign.id] });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('Not found or no access');
  });

  it("should check a selection as long as the schema allows (beyond PostgreSQL's 65,535 bind parameters)", async () => {
    // the access check sends the ids as one array parameter: a 70,000-id selection is answered, not a 500
    const big = await startLinksApi({ BODY_LIMIT_BYTES: String(8 * 1024 * 1024) });
    try {
      const u = await big.newUser('bulk');
      const bigStore = createBlobStore({ driver: 'fs', root: big.storageRoot });
      const mine = await seedAsset(big.tdb.db, bigStore, { ownerId: u.id, fileName: 'mine.jpg', size: 2000 });
      await bigStore.close();
      const filler = Array.from(
        { length: 70_000 },
        (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      );
      const res = await big.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: u.headers,
        payload: { assetIds: [mine.id, ...filler] },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toBe('Not found or no access');
    } finally {
      await big.close();
    }
  });

  it('should refuse bad bodies with 400', async () => {
    const a = await seed(owner.id, 'x.jpg');
    const album = await seedAlbum(h.tdb.db, owner.id, 'Album', [a.id]);
    for (const payload of [
      {},
      { assetIds: ['not-a-uuid'] },
      { assetIds: [a.id], albumId: album },
      { assetIds: [a.id], maxPartSize: 1000 },
      { assetIds: [a.id], maxPartSize: '2000000' },
      { assetIds: [a.id], extra: true },
    ]) {
      const res = await post(owner, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().statusCode).toBe(400);
    }
  });

  it('should export an album for a member with album.download and refuse a non-member', async () => {
    const a = await seed(owner.id, 'in-album.jpg');
    const albumId = await seedAlbum(h.tdb.db, owner.id, 'Holiday', [a.id]);
    expect((await post(other, { albumId })).statusCode).toBe(400);
    await h.tdb.db.insertInto('album_users').values({ album_id: albumId, user_id: other.id, role: 'viewer' }).execute();
    const res = await post(other, { albumId });
    expect(res.statusCode).toBe(202);
    const row = await h.tdb.db
      .selectFrom('exports')
      .selectAll()
      .where('id', '=', res.json().id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ requested_by_user_id: other.id, album_id: albumId, asset_ids: [a.id] });
  });

  it('should reuse a queued export for an identical request, and not across users', async () => {
    const a = await seed(owner.id, 'same.jpg');
    const first = (await post(owner, { assetIds: [a.id] })).json();
    const again = (await post(owner, { assetIds: [a.id, a.id] })).json();
    expect(again.id).toBe(first.id);
    const split = (await post(owner, { assetIds: [a.id], maxPartSize: 2 * 1024 * 1024 })).json();
    expect(split.id).not.toBe(first.id);
  });

  it('should reuse an export for part sizes within the tolerance (rounded down to 1/8 of a power of two)', async () => {
    const a = await seed(owner.id, 'parts.jpg');
    const MiB = 1024 * 1024;
    const first = (await post(owner, { assetIds: [a.id], maxPartSize: 3 * MiB })).json();
    // 3 MiB … 3.25 MiB − 1 round down to 3 MiB (the step is 2 MiB / 8 = 256 KiB between 2 and 4 MiB)
    for (const size of [3 * MiB + 1, 3 * MiB + 100_000, 3.25 * MiB - 1]) {
      expect((await post(owner, { assetIds: [a.id], maxPartSize: size })).json().id).toBe(first.id);
    }
    const next = (await post(owner, { assetIds: [a.id], maxPartSize: 3.25 * MiB })).json();
    expect(next.id).not.toBe(first.id);
    const rows = await h.tdb.db
      .selectFrom('exports')
      .select(['id', 'options'])
      .where('id', 'in', [first.id, next.id])
      .execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.options.maxPartSize]))).toEqual({
      [first.id]: 3 * MiB,
      [next.id]: 3.25 * MiB,
    });
  });
});

describe('GET /api/exports/:id', () => {
  it('should show the requester its export and nobody else', async () => {
    const a = await seed(owner.id, 'g.jpg');
    const { id } = (await post(owner, { assetIds: [a.id] })).json();
    const mine = await h.app.inject({ url: `/api/exports/${id}`, headers: owner.headers });
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ id, status: 'queued' });
    const theirs = await h.app.inject({ url: `/api/exports/${id}`, headers: other.headers });
    expect(theirs.statusCode).toBe(400);
    expect(theirs.json().message).toBe('Not found or no access');
  });

  it('should answer 400 for a malformed id', async () => {
    const res = await h.app.inject({ url: '/api/exports/nope', headers: owner.headers });
    expect(res.statusCode).toBe(400);
  });
});

describe('GET /api/exports/:id/parts/:n/download', () => {
  it('should answer 409 while the export is not ready', async () => {
    const a = await seed(owner.id, 'd.jpg');
    const { id } = (await post(owner, { assetIds: [a.id] })).json();
    const res = await h.app.inject({ url: `/api/exports/${id}/parts/1/download`, headers: owner.headers });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toMatch(/not ready yet/);
  });

  it('should answer 400 for another user’s export and for a bad part number', async () => {
    const a = await seed(owner.id, 'e.jpg');
    const { id } = (await post(owner, { assetIds: [a.id] })).json();
    expect(
      (await h.app.inject({ url: `/api/exports/${id}/parts/1/download`, headers: other.headers })).statusCode,
    ).toBe(400);
    expect(
      (await h.app.inject({ url: `/api/exports/${id}/parts/zero/download`, headers: owner.headers })).statusCode,
    ).toBe(400);
  });
});

describe('DELETE /api/exports/:id', () => {
  it('should delete the requester’s export (204) and refuse others (400)', async () => {
    const a = await seed(owner.id, 'del.jpg');
    const { id } = (await post(owner, { assetIds: [a.id] })).json();
    const foreign = await h.app.inject({ method: 'DELETE', url: `/api/exports/${id}`, headers: other.headers });
    expect(foreign.statusCode).toBe(400);
    const res = await h.app.inject({ method: 'DELETE', url: `/api/exports/${id}`, headers: owner.headers });
    expect(res.statusCode).toBe(204);
    expect((await h.app.inject({ url: `/api/exports/${id}`, headers: owner.headers })).statusCode).toBe(400);
  });
});

describe('GET /api/openapi.json (exports)', () => {
  it('should document the export operations from the same schemas', async () => {
    const doc = (await h.app.inject('/api/openapi.json')).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/exports', '/api/exports/{id}', '/api/exports/{id}/parts/{n}/download']),
    );
    expect(doc.paths['/api/exports'].post.responses['202']).toBeDefined();
  });
});
