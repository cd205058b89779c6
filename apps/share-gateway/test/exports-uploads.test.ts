import { exportPartKey } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type GatewayHarness, jpegWithExif, multipart, startGateway } from './harness.ts';

let h: GatewayHarness;
beforeAll(async () => {
  // No export worker runs here, so every export stays queued and all requests come from one address:
  // the per-client cap (tested in export-limits.test.ts) is lifted for this file.
  h = await startGateway({ EXPORT_MAX_PENDING_PER_CLIENT: '1000' });
});
afterAll(async () => {
  await h?.close();
});

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  h.app.inject({ method: 'POST', url, payload: payload as object, headers });

/** Stands in for the export worker: marks the export ready with one stored part. */
async function completeExport(exportId: string, bytes: Buffer) {
  const key = exportPartKey(exportId, 1);
  await h.storage.put(key, bytes);
  await h.tdb.db
    .updateTable('exports')
    .set({
      status: 'ready',
      bytes_done: bytes.length,
      parts: JSON.stringify([
        { index: 1, fileName: 'Holiday.zip', size: bytes.length, storageKey: key, entryCount: 1 },
      ]),
      expires_at: new Date(Date.now() + 3600_000),
      completed_at: new Date(),
    })
    .where('id', '=', exportId)
    .execute();
}

describe('POST /share/:key/exports', () => {
  it('should queue an export of the album (202), show its progress and serve its parts with Range', async () => {
    const assets = [await h.createAsset(), await h.createAsset()];
    const albumId = await h.createAlbum(assets.map((a) => a.id));
    const link = await h.createLink({ albumId, slug: 'export-album' });
    const res = await post('/share/export-album/exports', {});
    expect(res.statusCode).toBe(202);
    const exp = res.json();
    expect(exp).toMatchObject({ status: 'queued', parts: [], progress: { bytesDone: 0 } });
    const row = await h.tdb.db.selectFrom('exports').selectAll().where('id', '=', exp.id).executeTakeFirstOrThrow();
    expect(row.shared_link_id).toBe(link.id);
    expect(row.album_id).toBe(albumId);
    expect([...row.asset_ids].sort()).toEqual(assets.map((a) => a.id).sort());
    // an identical request reuses it
    expect((await post('/share/export-album/exports', {})).json().id).toBe(exp.id);

    const zip = Buffer.from('PK\u0003\u0004 pretend zip bytes');
    await completeExport(exp.id, zip);
    const ready = (await h.app.inject(`/share/export-album/exports/${exp.id}`)).json();
    expect(ready.status).toBe('ready');
    expect(ready.parts[0].downloadUrl).toBe(`/share/export-album/exports/${exp.id}/parts/1/download`);
    const part = await h.app.inject(ready.parts[0].downloadUrl);
    expect(part.statusCode).toBe(200);
    expect(part.headers['content-type']).toBe('application/zip');
    expect(part.rawPayload).toEqual(zip);
    const resumed = await h.app.inject({ url: ready.parts[0].downloadUrl, headers: { range: 'bytes=4-' } });
    expect(resumed.statusCode).toBe(206);
    expect(resumed.rawPayload).toEqual(zip.subarray(4));
    await eventually(async () => (await h.counters(link.id)).download === 2, 'two completed downloads counted');
  });

  it('should export a selection of an INDIVIDUAL link, marked to hide metadata when the link hides it', async () => {
    const [a, b, outside] = [await h.createAsset(), await h.createAsset(), await h.createAsset()];
    const link = await h.createLink({ assetIds: [a.id, b.id], showMetadata: false });
    const res = await post(`/share/${link.key}/exports`, { assetIds: [a.id] });
    expect(res.statusCode).toBe(202);
    const row = await h.tdb.db
      .selectFrom('exports')
      .selectAll()
      .where('id', '=', res.json().id)
      .executeTakeFirstOrThrow();
    expect(row.asset_ids).toEqual([a.id]);
    expect(row.hides_metadata).toBe(true);
    const all = await post(`/share/${link.key}/exports`, {});
    const allRow = await h.tdb.db
      .selectFrom('exports')
      .selectAll()
      .where('id', '=', all.json().id)
      .executeTakeFirstOrThrow();
    expect([...allRow.asset_ids].sort()).toEqual([a.id, b.id].sort());
    const foreign = await post(`/share/${link.key}/exports`, { assetIds: [a.id, outside.id] });
    expect(foreign.statusCode).toBe(400);
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select('type')
      .where('aggregate_id', '=', row.id)
      .execute();
    expect(events.map((e) => e.type)).toEqual(['export.requested']);
  });

  it("should resolve exceptAssetIds against the link's own assets: foreign ids only subtract, never add", async () => {
    const [a, b, c, outside] = [
      await h.createAsset(),
      await h.createAsset(),
      await h.createAsset(),
      await h.createAsset(),
    ];
    const link = await h.createLink({ assetIds: [a.id, b.id, c.id] });
    const assetIdsOf = async (id: string) =>
      (await h.tdb.db.selectFrom('exports').select('asset_ids').where('id', '=', id).executeTakeFirstOrThrow())
        .asset_ids;
    // an id of the owner's the link does not show, and one of nobody's, beside a real one
    const res = await post(`/share/${link.key}/exports`, {
      exceptAssetIds: [a.id, outside.id, '00000000-0000-4000-8000-000000000000'],
    });
    expect(res.statusCode).toBe(202);
    expect([...(await assetIdsOf(res.json().id))].sort()).toEqual([b.id, c.id].sort());
    // everything excepted: nothing to export, a 400 in the error shape (not the whole link)
    const none = await post(`/share/${link.key}/exports`, { exceptAssetIds: [a.id, b.id, c.id] });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({ statusCode: 400, message: expect.stringMatching(/empty/i) });
    const both = await post(`/share/${link.key}/exports`, { assetIds: [a.id], exceptAssetIds: [b.id] });
    expect(both.statusCode).toBe(400);
  });

  it("should take a selection as long as the schema allows (beyond 65,535 ids, PostgreSQL's bind-parameter limit)", async () => {
    // "Select all" of a very big album with many unticked, and the same size of explicit selection: the ids travel
    // as one array parameter, so a long list is a valid request, not a database error (500)
    const big = await startGateway({
      BODY_LIMIT_BYTES: String(8 * 1024 * 1024),
      EXPORT_MAX_PENDING_PER_CLIENT: '1000',
    });
    try {
      const [a, b] = [await big.createAsset(), await big.createAsset()];
      const link = await big.createLink({ assetIds: [a.id, b.id] });
      const filler = Array.from(
        { length: 70_000 },
        (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      );
      const except = await big.app.inject({
        method: 'POST',
        url: `/share/${link.key}/exports`,
        payload: { exceptAssetIds: [a.id, ...filler] },
      });
      expect(except.statusCode).toBe(202);
      const row = await big.tdb.db
        .selectFrom('exports')
        .select('asset_ids')
        .where('id', '=', except.json().id)
        .executeTakeFirstOrThrow();
      expect(row.asset_ids).toEqual([b.id]);
      // an explicit selection that long names assets the link does not show: refused as such (400), not a 500
      const chosen = await big.app.inject({
        method: 'POST',
        url: `/share/${link.key}/exports`,
        payload: { assetIds: [a.id, ...filler] },
      });
      expect(chosen.statusCode).toBe(400);
    } finally {
      await big.close();
    }
  });

  it("should refuse when downloads are disabled (403) and hide another link's exports (400)", async () => {
    const a = await h.createAsset();
    const noDownload = await h.createLink({ assetIds: [a.id], allowDownload: false });
    const res = await post(`/share/${noDownload.key}/exports`, {});
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/Downloads are disabled/);
    const mine = await h.createLink({ assetIds: [a.id] });
    const other = await h.createLink({ assetIds: [a.id] });
    const exp = (await post(`/share/${mine.key}/exports`, {})).json();
    expect((await h.app.inject(`/share/${other.key}/exports/${exp.id}`)).statusCode).toBe(400);
    expect((await h.app.inject(`/share/${mine.key}/exports/${exp.id}`)).statusCode).toBe(200);
    expect((await h.app.inject(`/share/${mine.key}/exports/${exp.id}/parts/1/download`)).statusCode).toBe(409);
    expect((await post(`/share/${mine.key}/exports`, { extra: 1 })).statusCode).toBe(400);
  });
});

/** An event stream read as it arrives: `first` once its first event is complete, `all` once it ends. */
function readEvents(stream: NodeJS.ReadableStream): { first: Promise<void>; all: Promise<string> } {
  let text = '';
  let firstSeen: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    firstSeen = resolve;
  });
  const all = new Promise<string>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n\n')) firstSeen();
    });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
  return { first, all };
}

describe('GET /share/:key/exports/:id/events', () => {
  it('should stream progress as server-sent events until the export is ready', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const exp = (await post(`/share/${link.key}/exports`, {})).json();
    const res = await h.app.inject({ url: `/share/${link.key}/exports/${exp.id}/events`, payloadAsStream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const sse = readEvents(res.stream());
    await sse.first; // the stream has sent its first event: the completion below is seen as a change
    await completeExport(exp.id, Buffer.from('PK zip'));
    const events = (await sse.all)
      .trim()
      .split('\n\n')
      .map((block) => JSON.parse(block.split('\n')[1]!.slice('data: '.length)));
    expect(events[0].status).toBe('queued');
    expect(events.at(-1)).toMatchObject({ status: 'ready', parts: [{ index: 1 }] });
  });

  it('should end open event streams when the server shuts down', async () => {
    const app = await h.newApp();
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const exp = (await post(`/share/${link.key}/exports`, {})).json();
    const res = await app.inject({ url: `/share/${link.key}/exports/${exp.id}/events`, payloadAsStream: true });
    const sse = readEvents(res.stream());
    await sse.first;
    await app.close();
    expect(await sse.all).toContain('event: closing');
  });

  it("should refuse another link's export and a locked link", async () => {
    const a = await h.createAsset();
    const mine = await h.createLink({ assetIds: [a.id] });
    const other = await h.createLink({ assetIds: [a.id], password: 'pw' });
    const exp = (await post(`/share/${mine.key}/exports`, {})).json();
    expect((await h.app.inject(`/share/${other.key}/exports/${exp.id}/events`)).json().message).toBe(
      'Password required',
    );
    const third = await h.createLink({ assetIds: [a.id] });
    expect((await h.app.inject(`/share/${third.key}/exports/${exp.id}/events`)).statusCode).toBe(400);
  });
});

describe('POST /share/:key/uploads', () => {
  it("should take several files into the link owner's library, placed in the album, and notify the owner", async () => {
    const albumId = await h.createAlbum([]);
    const link = await h.createLink({ albumId, allowUpload: true });
    const body = await multipart([
      { name: 'files', value: await jpegWithExif({ r: 1, g: 2, b: 3 }), fileName: 'one.jpg' },
      { name: 'files', value: await jpegWithExif({ r: 4, g: 5, b: 6 }), fileName: 'two.jpg' },
    ]);
    const res = await h.app.inject({ method: 'POST', url: `/share/${link.key}/uploads`, ...body });
    expect(res.statusCode).toBe(202);
    const batch = res.json();
    expect(batch.albumId).toBe(albumId);
    expect(batch.items.map((i: { status: string }) => i.status)).toEqual(['stored', 'stored']);
    const ids = batch.items.map((i: { assetId: string }) => i.assetId);
    const assets = await h.tdb.db.selectFrom('assets').select(['id', 'owner_id']).where('id', 'in', ids).execute();
    expect(assets.map((x) => x.owner_id)).toEqual([h.owner.id, h.owner.id]);
    const events = await h.tdb.db.selectFrom('outbox_events').select(['type', 'payload']).execute();
    const received = events.filter((e) => e.type === 'shared-link.upload-received');
    expect(received.map((e) => (e.payload as { data: { linkId: string } }).data.linkId)).toContain(link.id);
    const stored = events.filter(
      (e) => e.type === 'asset.stored' && ids.includes((e.payload as { data: { assetId: string } }).data.assetId),
    );
    expect(stored.map((e) => (e.payload as { data: { albumId?: string } }).data.albumId)).toEqual([albumId, albumId]);
    expect((await h.counters(link.id)).upload).toBe(2);
    const again = await h.app.inject(`/share/${link.key}/uploads/${batch.id}`);
    expect(again.json().id).toBe(batch.id);
  });

  it('should refuse uploads with 401 when the link does not allow them, and an albumId field on a link', async () => {
    const a = await h.createAsset();
    const closed = await h.createLink({ assetIds: [a.id] });
    const body = await multipart([{ name: 'file', value: await jpegWithExif(), fileName: 'x.jpg' }]);
    const res = await h.app.inject({ method: 'POST', url: `/share/${closed.key}/uploads`, ...body });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toBe('This shared link does not allow uploads');
    const open = await h.createLink({ assetIds: [a.id], allowUpload: true });
    const otherAlbum = await h.createAlbum([]);
    const sneaky = await multipart([
      { name: 'albumId', value: otherAlbum },
      { name: 'file', value: await jpegWithExif(), fileName: 'x.jpg' },
    ]);
    const res2 = await h.app.inject({ method: 'POST', url: `/share/${open.key}/uploads`, ...sneaky });
    expect(res2.statusCode).toBe(400);
  });
});

describe('POST /api/assets?key=', () => {
  it('should accept an Immich upload into an INDIVIDUAL link (201; 200 duplicate once the link shows it)', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id], allowUpload: true });
    const file = await jpegWithExif({ r: 9, g: 9, b: 9 });
    const fields = [
      { name: 'deviceAssetId', value: 'dev-1' },
      { name: 'deviceId', value: 'cli' },
      { name: 'fileCreatedAt', value: '2024-01-01T00:00:00.000Z' },
      { name: 'fileModifiedAt', value: '2024-01-01T00:00:00.000Z' },
      { name: 'assetData', value: file, fileName: 'via-immich.jpg' },
    ];
    const first = await h.app.inject({
      method: 'POST',
      url: `/api/assets?key=${link.key}`,
      ...(await multipart(fields)),
    });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ status: 'created' });
    const asset = await h.tdb.db
      .selectFrom('assets')
      .selectAll()
      .where('id', '=', first.json().id)
      .executeTakeFirstOrThrow();
    expect(asset.owner_id).toBe(h.owner.id);
    const upload = async () =>
      h.app.inject({ method: 'POST', url: `/api/assets?key=${link.key}`, ...(await multipart(fields)) });
    // not shown by the link yet (it is placed once ingested): the same bytes again are their own upload
    // (docs/spec.md §14: a link dedupes only against what it shows)
    const second = await upload();
    expect(second.statusCode).toBe(201);
    expect(second.json().id).not.toBe(first.json().id);
    // once ingested and placed (what the ingest worker does), the link shows it: a duplicate, nothing placed
    await h.tdb.db.updateTable('assets').set({ status: 'ready' }).where('id', '=', first.json().id).execute();
    await h.tdb.db.insertInto('shared_link_assets').values({ link_id: link.id, asset_id: first.json().id }).execute();
    const third = await upload();
    expect(third.statusCode).toBe(200);
    expect(third.json()).toEqual({ id: first.json().id, status: 'duplicate' });
    const inLink = await h.tdb.db
      .selectFrom('shared_link_assets')
      .select('asset_id')
      .where('link_id', '=', link.id)
      .execute();
    expect(inLink.map((r) => r.asset_id).sort()).toEqual([a.id, first.json().id].sort());
  });

  it('should refuse without a link (401) and on a link without allowUpload (401)', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const body = await multipart([{ name: 'assetData', value: Buffer.from('x'), fileName: 'x.jpg' }]);
    expect((await h.app.inject({ method: 'POST', url: '/api/assets', ...body })).statusCode).toBe(401);
    const res = await h.app.inject({ method: 'POST', url: `/api/assets?key=${link.key}`, ...body });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toBe('This shared link does not allow uploads');
  });
});
