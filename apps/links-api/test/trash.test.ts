import type { ExportJobData } from '@immish/contracts';
import { type BlobStore, createBlobStore } from '@immish/storage';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processExportJob } from '../../export-worker/src/processor.ts';
import { seedAsset } from '../../export-worker/test/export-helpers.ts';
import { client } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * Issue 12 item 8: trash hides an asset from everyone but its owner, everywhere. An album member gets
 * "not found" for a trashed asset by id (info, original, thumbnail), never finds it in album lists, counts,
 * thumbnails or statistics, and no export made for them holds it; the owner still reads it by id and finds
 * it in their trash. (The recipients' side: share-gateway/test/trash.test.ts.)
 */
let h: LinksApiHarness;
let store: BlobStore;
let owner: TestUser;
let member: TestUser;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  h = await startLinksApi();
  store = createBlobStore({ driver: 'fs', root: h.storageRoot });
  owner = await h.newUser('owner');
  member = await h.newUser('member');
  call = client(h);
});
afterAll(async () => {
  await store?.close();
  await h?.close();
});

/** A ready asset with its original (and a thumbnail) in storage. */
async function storedAsset(ownerId: string, fileName: string) {
  const seeded = await seedAsset(h.tdb.db, store, { ownerId, fileName, size: 1500 });
  const row = await h.tdb.db
    .selectFrom('assets')
    .select('original_key')
    .where('id', '=', seeded.id)
    .executeTakeFirstOrThrow();
  await h.tdb.db.updateTable('assets').set({ thumbnail_key: row.original_key }).where('id', '=', seeded.id).execute();
  return seeded;
}

/** An album of the owner's with `member` as a viewer, holding `assetIds` (the first one is its thumbnail). */
async function sharedAlbum(assetIds: string[]) {
  const res = await call('POST', '/api/albums', owner, {
    albumName: 'Holidays',
    assetIds,
    albumUsers: [{ userId: member.id, role: 'viewer' }],
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; albumThumbnailAssetId: string };
}

const trash = async (ids: string[]) =>
  expect((await call('DELETE', '/api/assets', owner, { ids })).statusCode).toBe(204);

const notFound = { statusCode: 400, message: expect.stringMatching(/not found|no access/i) };

describe('a trashed asset, seen by an album member', () => {
  it('should be "not found" by id: GET /api/assets/:id, /original, /thumbnail', async () => {
    const kept = await storedAsset(owner.id, 'kept.jpg');
    const gone = await storedAsset(owner.id, 'gone.jpg');
    await sharedAlbum([gone.id, kept.id]);
    expect((await call('GET', `/api/assets/${gone.id}`, member)).statusCode).toBe(200);
    await trash([gone.id]);

    for (const path of ['', '/original', '/thumbnail']) {
      const res = await call('GET', `/api/assets/${gone.id}${path}`, member);
      expect(res.statusCode, path).toBe(400);
      expect(res.json(), path).toMatchObject(notFound);
    }
    // the other asset of the album is still the member's to read
    expect((await call('GET', `/api/assets/${kept.id}/original`, member)).statusCode).toBe(200);
  });

  it('should be absent from album lists, counts, thumbnails and asset filters', async () => {
    const kept = await storedAsset(owner.id, 'kept.jpg');
    const gone = await storedAsset(owner.id, 'gone.jpg');
    const album = await sharedAlbum([gone.id, kept.id]);
    expect(album.albumThumbnailAssetId).toBe(gone.id);
    await trash([gone.id]);

    for (const who of [member, owner]) {
      const one = (await call('GET', `/api/albums/${album.id}`, who)).json();
      expect(one).toMatchObject({ assetCount: 1, albumThumbnailAssetId: kept.id });
      const page = (await call('GET', `/api/albums/${album.id}/assets`, who)).json();
      expect(page.items.map((a: { id: string }) => a.id)).toEqual([kept.id]);
      expect(page.total).toBe(1);
      const listed = (await call('GET', '/api/albums', who)).json() as { id: string; assetCount: number }[];
      expect(listed.find((a) => a.id === album.id)?.assetCount).toBe(1);
    }
    // "which albums hold this asset?" names none to a member
    expect((await call('GET', `/api/albums?assetId=${gone.id}`, member)).json()).toEqual([]);
    // the album link's album (owner's shared-link list) no longer names it as its thumbnail
    const link = (await call('POST', '/api/shared-links', owner, { type: 'ALBUM', albumId: album.id })).json();
    const links = (await call('GET', `/api/shared-links?id=${link.id}`, owner)).json();
    expect(links[0].album).toMatchObject({ assetCount: 1, albumThumbnailAssetId: kept.id });
  });
});

describe('a trashed asset, seen by its owner', () => {
  it('should still be readable by id (isTrashed) and counted in the trash only', async () => {
    const gone = await storedAsset(owner.id, 'mine.jpg');
    await sharedAlbum([gone.id]);
    const before = (await call('GET', '/api/assets/statistics?isTrashed=true', owner)).json().total;
    await trash([gone.id]);
    const info = await call('GET', `/api/assets/${gone.id}`, owner);
    expect(info.statusCode).toBe(200);
    expect(info.json()).toMatchObject({ id: gone.id, isTrashed: true });
    expect((await call('GET', `/api/assets/${gone.id}/original`, owner)).statusCode).toBe(200);
    expect((await call('GET', '/api/assets/statistics?isTrashed=true', owner)).json().total).toBe(before + 1);
    // a member's statistics are their own assets: nothing of the owner's, trashed or not
    expect((await call('GET', '/api/assets/statistics', member)).json().total).toBe(0);
  });
});

describe('exports and trash', () => {
  const logger = pino({ level: 'silent' });
  const deps = () => ({ db: h.tdb.db, storage: store, logger, ttlHours: 24 });
  async function build(exportId: string) {
    const event = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', 'export.requested')
      .where('aggregate_id', '=', exportId)
      .executeTakeFirstOrThrow();
    return processExportJob(event.payload as ExportJobData, deps()).catch((err: Error) => err);
  }
  const requestAlbumExport = async (who: TestUser, albumId: string) => {
    const res = await call('POST', '/api/exports', who, { albumId });
    expect(res.statusCode).toBe(202);
    return res.json().id as string;
  };

  it("should void a member's ready archive that holds an asset trashed since (status expired, download 410)", async () => {
    const kept = await storedAsset(owner.id, 'kept.jpg');
    const gone = await storedAsset(owner.id, 'gone.jpg');
    const album = await sharedAlbum([gone.id, kept.id]);
    const mine = await requestAlbumExport(owner, album.id);
    const theirs = await requestAlbumExport(member, album.id);
    await build(mine);
    await build(theirs);
    const ready = (await call('GET', `/api/exports/${theirs}`, member)).json();
    expect(ready.status).toBe('ready');
    await trash([gone.id]);

    const after = (await call('GET', `/api/exports/${theirs}`, member)).json();
    expect(after).toMatchObject({ status: 'expired', parts: [] });
    const download = await call('GET', `/api/exports/${theirs}/parts/1/download`, member);
    expect(download.statusCode).toBe(410);
    // the owner's own archive of their own assets stays theirs
    expect((await call('GET', `/api/exports/${mine}`, owner)).json().status).toBe('ready');
    expect((await call('GET', `/api/exports/${mine}/parts/1/download`, owner)).statusCode).toBe(200);
  });

  it("should not build a member's archive holding an asset trashed after the request", async () => {
    const kept = await storedAsset(owner.id, 'kept.jpg');
    const gone = await storedAsset(owner.id, 'gone.jpg');
    const album = await sharedAlbum([gone.id, kept.id]);
    const theirs = await requestAlbumExport(member, album.id);
    await trash([gone.id]);
    await build(theirs);
    const after = (await call('GET', `/api/exports/${theirs}`, member)).json();
    expect(after.status).not.toBe('ready');
    expect((await call('GET', `/api/exports/${theirs}/parts/1/download`, member)).statusCode).not.toBe(200);
    // a new request freezes what the member may see: the live asset only
    const again = (await call('POST', '/api/exports', member, { albumId: album.id })).json();
    expect(again.id).not.toBe(theirs);
    expect(again.progress.bytesTotal).toBe(kept.size);
  });
});
