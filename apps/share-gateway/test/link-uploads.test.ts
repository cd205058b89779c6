import { createHash } from 'node:crypto';
import type { AssetRow, SharedLinkRow } from '@immish/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GatewayHarness, jpegWithExif, multipart, startGateway } from './harness.ts';

/**
 * docs/spec.md §14 "What a link can reach" and issue 12 item 1: an upload through a link never places, reveals or
 * names anything that was already in the owner's library. The only dedupe on the recipient surface is against
 * the assets the link already shows (the recipient sees those anyway). Placement of a new upload happens at
 * ingest (apps/ingest-worker/test/placement.test.ts covers it); here: what the gateway answers and writes.
 */

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

const sha1 = (bytes: Buffer) => createHash('sha1').update(bytes).digest();

/** An owner photo that is NOT in the link (the probe's target), and its bytes. */
async function ownerPhoto(seed: number): Promise<{ asset: AssetRow; bytes: Buffer }> {
  const bytes = await jpegWithExif({ r: seed % 255, g: (seed * 7) % 255, b: 99 });
  return { asset: await h.createAsset({ bytes, fileName: `private-${seed}.jpg` }), bytes };
}

async function uploadLink(kind: 'ALBUM' | 'INDIVIDUAL', shown: string[] = []) {
  if (kind === 'ALBUM') {
    const albumId = await h.createAlbum(shown);
    return { link: await h.createLink({ albumId, allowUpload: true }), albumId };
  }
  return { link: await h.createLink({ assetIds: shown, allowUpload: true }), albumId: null };
}

/** Everything the link shows or places: album members (ALBUM) or the link's own assets (INDIVIDUAL). */
async function placed(link: SharedLinkRow, albumId: string | null): Promise<string[]> {
  const rows = albumId
    ? await h.tdb.db.selectFrom('album_assets').select('asset_id').where('album_id', '=', albumId).execute()
    : await h.tdb.db.selectFrom('shared_link_assets').select('asset_id').where('link_id', '=', link.id).execute();
  return rows.map((r) => r.asset_id).sort();
}

/** Outbox events naming an asset id anywhere in their payload. */
async function eventsNaming(assetId: string): Promise<string[]> {
  const rows = await h.tdb.db.selectFrom('outbox_events').select(['type', 'payload']).execute();
  return rows.filter((r) => JSON.stringify(r.payload).includes(assetId)).map((r) => r.type);
}

const immichFields = [
  { name: 'deviceAssetId', value: 'guest-1' },
  { name: 'deviceId', value: 'guest-phone' },
  { name: 'fileCreatedAt', value: '2024-05-01T10:00:00.000Z' },
  { name: 'fileModifiedAt', value: '2024-05-01T10:00:00.000Z' },
];

async function immichUpload(link: SharedLinkRow, bytes: Buffer | null, headers: Record<string, string> = {}) {
  if (!bytes) return h.app.inject({ method: 'POST', url: `/api/assets?key=${link.key}`, headers });
  const body = await multipart([...immichFields, { name: 'assetData', value: bytes, fileName: 'from-guest.jpg' }]);
  return h.app.inject({
    method: 'POST',
    url: `/api/assets?key=${link.key}`,
    payload: body.payload,
    headers: { ...body.headers, ...headers },
  });
}

describe('x-immich-checksum through a link (the probe)', () => {
  for (const kind of ['ALBUM', 'INDIVIDUAL'] as const) {
    it(`should never answer with, nor place, an owner photo the ${kind} link does not show`, async () => {
      const { asset, bytes } = await ownerPhoto(kind.length);
      const visible = await h.createAsset();
      const { link, albumId } = await uploadLink(kind, [visible.id]);
      const before = await placed(link, albumId);
      for (const checksum of [sha1(bytes).toString('hex'), sha1(bytes).toString('base64')]) {
        const res = await immichUpload(link, null, { 'x-immich-checksum': checksum });
        expect(res.body).not.toContain(asset.id);
        expect(res.statusCode).toBe(400); // not a duplicate: the body (the file) is required
      }
      expect(await placed(link, albumId)).toEqual(before);
      expect(await eventsNaming(asset.id)).toEqual([]);
      expect((await h.counters(link.id)).upload).toBe(0);
    });
  }
});

describe('POST /api/assets?key= with bytes the owner already has', () => {
  for (const kind of ['ALBUM', 'INDIVIDUAL'] as const) {
    it(`should make its own new asset on an ${kind} link, never the owner's`, async () => {
      const { asset, bytes } = await ownerPhoto(10 + kind.length);
      const { link, albumId } = await uploadLink(kind);
      const res = await immichUpload(link, bytes, { 'x-immich-checksum': sha1(bytes).toString('hex') });
      expect(res.statusCode).toBe(201);
      expect(res.json().status).toBe('created');
      expect(res.body).not.toContain(asset.id);
      const created = await h.tdb.db
        .selectFrom('assets')
        .selectAll()
        .where('id', '=', res.json().id)
        .executeTakeFirstOrThrow();
      // the link owner's asset, with the uploader's name and bytes; the owner's photo is untouched
      expect(created).toMatchObject({ owner_id: h.owner.id, original_file_name: 'from-guest.jpg', status: 'uploaded' });
      expect(created.checksum.equals(asset.checksum)).toBe(true);
      expect((await h.storage.head(created.original_key))?.size).toBe(bytes.length);
      expect(await placed(link, albumId)).toEqual([]); // placed once ingested (ingest-worker placement test)
      const stored = await h.tdb.db
        .selectFrom('outbox_events')
        .select('payload')
        .where('type', '=', 'asset.stored')
        .where('aggregate_id', '=', created.id)
        .executeTakeFirstOrThrow();
      expect((stored.payload as { data: Record<string, unknown> }).data).toMatchObject(
        albumId ? { albumId } : { sharedLinkId: link.id },
      );
      expect(await eventsNaming(asset.id)).toEqual([]);
    });
  }

  it('should do the same for a batch through /share/:key/uploads', async () => {
    const { asset, bytes } = await ownerPhoto(25);
    const { link, albumId } = await uploadLink('ALBUM');
    const body = await multipart([{ name: 'files', value: bytes, fileName: 'guest-copy.jpg' }]);
    const res = await h.app.inject({ method: 'POST', url: `/share/${link.key}/uploads`, ...body });
    expect(res.statusCode).toBe(202);
    expect(res.body).not.toContain(asset.id);
    const [item] = res.json().items;
    expect(item).toMatchObject({ status: 'stored', fileName: 'guest-copy.jpg' });
    expect(item.assetId).not.toBe(asset.id);
    expect(await placed(link, albumId)).toEqual([]);
    expect(await eventsNaming(asset.id)).toEqual([]);
  });

  it('should never put back an asset the owner removed from the link', async () => {
    const { asset, bytes } = await ownerPhoto(30);
    const { link, albumId } = await uploadLink('INDIVIDUAL', [asset.id]);
    await h.tdb.db.deleteFrom('shared_link_assets').where('link_id', '=', link.id).execute();
    const probe = await immichUpload(link, null, { 'x-immich-checksum': sha1(bytes).toString('hex') });
    expect(probe.body).not.toContain(asset.id);
    const upload = await immichUpload(link, bytes);
    expect(upload.statusCode).toBe(201);
    expect(upload.json().id).not.toBe(asset.id);
    const batch = await h.app.inject({
      method: 'POST',
      url: `/share/${link.key}/uploads`,
      ...(await multipart([{ name: 'files', value: bytes, fileName: 'again.jpg' }])),
    });
    expect(batch.body).not.toContain(asset.id);
    expect(await placed(link, albumId)).toEqual([]);
  });

  it('should not treat a trashed asset of the album as shown', async () => {
    const bytes = await jpegWithExif({ r: 40, g: 40, b: 40 });
    const trashed = await h.createAsset({ bytes, trashed: true });
    const { link } = await uploadLink('ALBUM', [trashed.id]);
    const probe = await immichUpload(link, null, { 'x-immich-checksum': sha1(bytes).toString('hex') });
    expect(probe.body).not.toContain(trashed.id);
    const upload = await immichUpload(link, bytes);
    expect(upload.statusCode).toBe(201);
    expect(upload.json().id).not.toBe(trashed.id);
  });
});

describe('duplicates of what the link already shows', () => {
  for (const kind of ['ALBUM', 'INDIVIDUAL'] as const) {
    it(`should answer 200 duplicate naming the shown asset on an ${kind} link, and place and keep nothing`, async () => {
      const bytes = await jpegWithExif({ r: 50, g: kind.length, b: 50 });
      const shown = await h.createAsset({ bytes });
      const { link, albumId } = await uploadLink(kind, [shown.id]);
      const before = await placed(link, albumId);
      const eventsBefore = await h.tdb.db
        .selectFrom('outbox_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow();
      const probe = await immichUpload(link, null, { 'x-immich-checksum': sha1(bytes).toString('base64') });
      expect(probe.statusCode).toBe(200);
      expect(probe.json()).toEqual({ id: shown.id, status: 'duplicate' });
      const upload = await immichUpload(link, bytes);
      expect(upload.statusCode).toBe(200);
      expect(upload.json()).toEqual({ id: shown.id, status: 'duplicate' });
      const batch = await h.app.inject({
        method: 'POST',
        url: `/share/${link.key}/uploads`,
        ...(await multipart([{ name: 'files', value: bytes, fileName: 'same.jpg' }])),
      });
      expect(batch.json().items).toEqual([expect.objectContaining({ status: 'duplicate', assetId: shown.id })]);
      expect(await placed(link, albumId)).toEqual(before);
      const copies = await h.tdb.db.selectFrom('assets').select('id').where('checksum', '=', shown.checksum).execute();
      expect(copies.map((c) => c.id)).toEqual([shown.id]); // no second asset, and the stored copies are gone
      const eventsAfter = await h.tdb.db.selectFrom('outbox_events').select(['type']).execute();
      // only the batch's own bookkeeping, nothing placed
      expect(eventsAfter.length - Number(eventsBefore.n)).toBeLessThanOrEqual(2);
      expect(eventsAfter.map((e) => e.type)).not.toContain('album.assets-added');
      expect(eventsAfter.map((e) => e.type)).not.toContain('shared-link.assets-added');
    });
  }
});
