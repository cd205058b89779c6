import { randomBytes as cryptoRandom } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { DomainEvent } from '@immish/contracts';
import {
  addUploadItem,
  closeAbandonedUploadBatches,
  createUploadBatch,
  createUser,
  receiveUpload,
  receiveUploadBatch,
  type ThroughLink,
  type UploadPart,
} from '@immish/domain';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestDeps, processIngestJob } from '../src/processor.ts';
import { photo, randomBytes, webmHead } from './fixtures.ts';

let tdb: TestDatabase;
let storage: BlobStore;
let root: string;
let ownerId: string;
let deps: IngestDeps;

beforeAll(async () => {
  tdb = await createTestDatabase();
  root = mkdtempSync(join(tmpdir(), 'immish-placement-test-'));
  storage = createBlobStore({ driver: 'fs', root });
  ownerId = (await createUser(tdb.db, { email: 'owner@immish.test', name: 'Owner', password: 'pw' })).id;
  deps = { db: tdb.db, storage, maxPixels: 100_000_000, keepFailedOriginals: true };
});
afterAll(async () => {
  await storage?.close();
  await tdb?.drop();
  rmSync(root, { recursive: true, force: true });
});

async function link(type: 'ALBUM' | 'INDIVIDUAL', albumId: string | null = null): Promise<string> {
  const row = await tdb.db
    .insertInto('shared_links')
    .values({
      owner_id: ownerId,
      type,
      album_id: albumId,
      key: cryptoRandom(32).toString('base64url'),
      allow_upload: true,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function album(name: string): Promise<string> {
  const row = await tdb.db
    .insertInto('albums')
    .values({ owner_id: ownerId, name })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function ingestAll(): Promise<void> {
  const events = await tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'asset.stored')
    .execute();
  for (const e of events) await processIngestJob(e.payload as DomainEvent, deps);
}

const events = async (type: string, aggregateId: string) =>
  (
    await tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', type)
      .where('aggregate_id', '=', aggregateId)
      .execute()
  ).map((r) => (r.payload as DomainEvent).data);

const linkActor = (id: string) => ({ type: 'link' as const, id });
const dates = { fileCreatedAt: '2024-01-01T00:00:00.000Z', fileModifiedAt: '2024-01-01T00:00:00.000Z' };

/**
 * What a link shows, for the `throughLink` dedupe (the gateway asks its link-assets module; the rule under test
 * here is the domain's: nothing but this answer ever makes a link upload a duplicate).
 */
function throughLink(linkId: string, albumId: string | null = null): ThroughLink {
  return {
    linkId,
    findShown: async (checksum) => {
      const members = albumId
        ? tdb.db.selectFrom('album_assets').select('asset_id').where('album_id', '=', albumId)
        : tdb.db.selectFrom('shared_link_assets').select('asset_id').where('link_id', '=', linkId);
      const row = await tdb.db
        .selectFrom('assets')
        .select('id')
        .where('id', 'in', members)
        .where('checksum', '=', checksum)
        .where('trashed_at', 'is', null)
        .executeTakeFirst();
      return row?.id;
    },
  };
}

describe('receiveUpload through a link', () => {
  it('should put an ingested upload into an INDIVIDUAL link; the same bytes are a duplicate only while shown', async () => {
    const linkId = await link('INDIVIDUAL');
    const bytes = await photo('jpeg', { seed: 1 });
    const upload = () =>
      receiveUpload(
        { db: tdb.db, storage },
        {
          ownerId,
          actor: linkActor(linkId),
          file: Readable.from(bytes),
          metadata: { fileName: 'from-guest.jpg', ...dates },
          maxFileBytes: 10_000_000,
          placement: { sharedLinkId: linkId },
          throughLink: throughLink(linkId),
        },
      );
    const created = await upload();
    expect(created.status).toBe('created');
    const inLink = async () =>
      (await tdb.db.selectFrom('shared_link_assets').select('asset_id').where('link_id', '=', linkId).execute()).map(
        (r) => r.asset_id,
      );
    expect(await inLink()).toEqual([]); // placed once ingested, never while it might still fail
    await ingestAll();
    expect(await inLink()).toEqual([created.assetId]);
    expect(await events('shared-link.assets-added', linkId)).toEqual([{ linkId, assetIds: [created.assetId] }]);

    // shown by the link: a duplicate naming it, nothing placed again
    expect(await upload()).toMatchObject({ status: 'duplicate', assetId: created.assetId });
    expect(await events('shared-link.assets-added', linkId)).toHaveLength(1);

    // removed by the owner: the upload never puts it back; it is a new asset, placed once ingested
    await tdb.db.deleteFrom('shared_link_assets').where('link_id', '=', linkId).execute();
    const again = await upload();
    expect(again.status).toBe('created');
    expect(again.assetId).not.toBe(created.assetId);
    await ingestAll();
    expect(await inLink()).toEqual([again.assetId]);
    // each created single upload is announced to the owner in its own commit (the duplicate is not): the event
    // cannot be lost after the asset is stored (apps/share-gateway/test/outbox-atomicity.test.ts)
    expect(await events('shared-link.upload-received', linkId)).toEqual([
      { linkId, ownerId, batchId: null, assetIds: [created.assetId] },
      { linkId, ownerId, batchId: null, assetIds: [again.assetId] },
    ]);
  });

  it("should ingest and place a link upload of bytes the owner already has as its own asset, never the owner's", async () => {
    const bytes = await photo('jpeg', { seed: 11 });
    const own = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId,
        actor: { type: 'user', id: ownerId },
        file: Readable.from(bytes),
        metadata: { fileName: 'mine.jpg', ...dates },
        maxFileBytes: 10_000_000,
      },
    );
    await ingestAll();
    const albumId = await album('Party');
    const linkId = await link('ALBUM', albumId);
    const viaLink = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId,
        actor: linkActor(linkId),
        file: Readable.from(bytes),
        metadata: { fileName: 'guest.jpg', ...dates },
        maxFileBytes: 10_000_000,
        placement: { albumId },
        throughLink: throughLink(linkId, albumId),
      },
    );
    expect(viaLink.status).toBe('created');
    expect(viaLink.assetId).not.toBe(own.assetId);
    const stored = await tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', 'asset.stored')
      .where('aggregate_id', '=', viaLink.assetId)
      .executeTakeFirstOrThrow();
    expect(await processIngestJob(stored.payload as DomainEvent, deps)).toEqual({
      outcome: 'ready',
      assetId: viaLink.assetId,
    });
    const inAlbum = await tdb.db
      .selectFrom('album_assets')
      .select('asset_id')
      .where('album_id', '=', albumId)
      .execute();
    expect(inAlbum.map((r) => r.asset_id)).toEqual([viaLink.assetId]);
    const rows = await tdb.db
      .selectFrom('assets')
      .select(['id', 'origin', 'original_file_name', 'status'])
      .where('id', 'in', [own.assetId, viaLink.assetId])
      .orderBy('origin')
      .execute();
    expect(rows).toEqual([
      { id: own.assetId, origin: 'library', original_file_name: 'mine.jpg', status: 'ready' },
      { id: viaLink.assetId, origin: 'shared-link', original_file_name: 'guest.jpg', status: 'ready' },
    ]);
    // owner-side dedupe is unchanged: the owner's own upload of the bytes answers the library's asset
    const ownAgain = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId,
        actor: { type: 'user', id: ownerId },
        file: Readable.from(bytes),
        metadata: { fileName: 'mine-again.jpg', ...dates },
        maxFileBytes: 10_000_000,
      },
    );
    expect(ownAgain).toMatchObject({ status: 'duplicate', assetId: own.assetId });
  });

  it('should let owner-side dedupe find an asset that came in through a link (it is in their library)', async () => {
    const linkId = await link('INDIVIDUAL');
    const bytes = await photo('jpeg', { seed: 12 });
    const viaLink = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId,
        actor: linkActor(linkId),
        file: Readable.from(bytes),
        metadata: { fileName: 'guest.jpg', ...dates },
        maxFileBytes: 10_000_000,
        placement: { sharedLinkId: linkId },
        throughLink: throughLink(linkId),
      },
    );
    const own = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId,
        actor: { type: 'user', id: ownerId },
        file: Readable.from(bytes),
        metadata: { fileName: 'mine.jpg', ...dates },
        maxFileBytes: 10_000_000,
      },
    );
    expect(own).toMatchObject({ status: 'duplicate', assetId: viaLink.assetId });
  });

  it('should put a batch through an ALBUM link into the album, leaving failed files out', async () => {
    const albumId = await album('Guests');
    const linkId = await link('ALBUM', albumId);
    const files: UploadPart[] = [
      { type: 'file', fieldname: 'files', filename: 'good.jpg', file: Readable.from(await photo('jpeg', { seed: 2 })) },
      { type: 'file', fieldname: 'files', filename: 'bad.jpg', file: Readable.from(randomBytes(500, 2)) },
    ];
    async function* parts() {
      yield* files;
    }
    const batch = await receiveUploadBatch(
      { db: tdb.db, storage },
      {
        ownerId,
        uploadedByUserId: null,
        actor: linkActor(linkId),
        parts: parts(),
        maxFileBytes: 10_000_000,
        maxFiles: 10,
        throughLink: throughLink(linkId, albumId),
        albumId,
      },
    );
    expect(batch).toMatchObject({ albumId, status: 'processing', totals: { total: 2, stored: 2 } });
    expect(await events('shared-link.upload-received', linkId)).toEqual([
      { linkId, ownerId, batchId: batch.id, assetIds: batch.items.map((i) => i.assetId) },
    ]);
    await ingestAll();
    const inAlbum = await tdb.db
      .selectFrom('album_assets')
      .select('asset_id')
      .where('album_id', '=', albumId)
      .execute();
    expect(inAlbum).toEqual([{ asset_id: batch.items[0]?.assetId }]);
    expect(await events('upload-batch.completed', batch.id)).toEqual([
      { batchId: batch.id, total: 2, ready: 1, duplicate: 0, failed: 1 },
    ]);
  });
});

describe('processIngestJob (batch items)', () => {
  it('should mark a batch item processing with its asset, and leave a finished one alone', async () => {
    async function* parts(): AsyncGenerator<UploadPart> {
      yield {
        type: 'file',
        fieldname: 'files',
        filename: 'slow.jpg',
        file: Readable.from(await photo('jpeg', { seed: 3 })),
      };
    }
    const batch = await receiveUploadBatch(
      { db: tdb.db, storage },
      {
        ownerId,
        uploadedByUserId: ownerId,
        actor: { type: 'user', id: ownerId },
        parts: parts(),
        maxFileBytes: 10_000_000,
        maxFiles: 10,
      },
    );
    const assetId = batch.items[0]?.assetId as string;
    const stored = await tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', 'asset.stored')
      .where('aggregate_id', '=', assetId)
      .executeTakeFirstOrThrow();
    const event = stored.payload as DomainEvent;
    const item = async () =>
      (
        await tdb.db
          .selectFrom('upload_items')
          .select('status')
          .where('asset_id', '=', assetId)
          .executeTakeFirstOrThrow()
      ).status;
    expect(await item()).toBe('stored');

    const down = Object.assign(Object.create(storage) as BlobStore, {
      get: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
      },
    });
    await expect(processIngestJob(event, { ...deps, storage: down })).rejects.toThrow(/ECONNREFUSED/);
    expect(await item()).toBe('processing');

    expect(await processIngestJob(event, deps)).toEqual({ outcome: 'ready', assetId });
    expect(await item()).toBe('ready');
    expect(await processIngestJob(event, deps)).toEqual({ outcome: 'skipped', assetId, reason: 'already ready' });
    expect(await item()).toBe('ready');
  });
});

describe('processIngestJob (video)', () => {
  it('should make a WebM ready as a VIDEO with a generic thumbnail', async () => {
    const outcome = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId,
        actor: { type: 'user', id: ownerId },
        file: Readable.from(webmHead()),
        metadata: { fileName: 'clip.webm', ...dates },
        maxFileBytes: 10_000_000,
      },
    );
    await ingestAll();
    const row = await tdb.db
      .selectFrom('assets')
      .selectAll()
      .where('id', '=', outcome.assetId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'ready', type: 'VIDEO', mime_type: 'video/webm', width: null, height: null });
    const chunks: Buffer[] = [];
    for await (const c of await storage.get(row.thumbnail_key!)) chunks.push(c as Buffer);
    expect((await sharp(Buffer.concat(chunks)).metadata()).format).toBe('webp');
  });
});

describe('closeAbandonedUploadBatches', () => {
  it('should fail the unfinished files of a batch whose request died and complete it, once', async () => {
    const batch = await createUploadBatch(tdb.db, { ownerId, uploadedByUserId: ownerId });
    await addUploadItem(tdb.db, batch.id, 0, 'half-sent.jpg');
    const recent = await createUploadBatch(tdb.db, { ownerId, uploadedByUserId: ownerId });
    await addUploadItem(tdb.db, recent.id, 0, 'still-coming.jpg');
    await tdb.db
      .updateTable('upload_batches')
      .set({ updated_at: new Date(Date.now() - 2 * 3600_000) })
      .where('id', '=', batch.id)
      .execute();

    expect(await closeAbandonedUploadBatches(tdb.db, 3600_000)).toBe(1);
    expect(await closeAbandonedUploadBatches(tdb.db, 3600_000)).toBe(0);
    const items = await tdb.db.selectFrom('upload_items').selectAll().where('batch_id', '=', batch.id).execute();
    expect(items.map((i) => [i.status, i.error])).toEqual([['failed', 'the upload was interrupted']]);
    const rows = await tdb.db
      .selectFrom('upload_batches')
      .selectAll()
      .where('id', 'in', [batch.id, recent.id])
      .execute();
    expect(rows.find((r) => r.id === batch.id)).toMatchObject({ status: 'completed', receiving: false });
    expect(rows.find((r) => r.id === recent.id)).toMatchObject({ status: 'processing', receiving: true });
    expect(await events('upload-batch.completed', batch.id)).toEqual([
      { batchId: batch.id, total: 1, ready: 0, duplicate: 0, failed: 1 },
    ]);
  });
});
