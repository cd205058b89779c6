import type { ExportJobData } from '@immish/contracts';
import { trashAssets } from '@immish/domain';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processExportJob } from '../../export-worker/src/processor.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 12 item 8, the recipients' side: once its owner trashes an asset, a link shows it nowhere: not in
 * `/me`, the asset pages, the HTML pages, media (thumbnail, preview, original, Immich's routes) or exports, and
 * at once, not after the link caches' TTL (set to a minute here, so only the trash event can make it happen).
 * The owner trashes through the owner API's function (`DELETE /api/assets` calls `trashAssets`).
 */
let h: GatewayHarness;

beforeAll(async () => {
  h = await startGateway({ LINK_CACHE_TTL_MS: '60000' });
  h.startRelay();
});
afterAll(async () => {
  await h?.close();
});

const trash = (ids: string[]) => trashAssets(h.tdb.db, { type: 'user', id: h.owner.id }, ids);
const get = (url: string) => h.app.inject(url);
const meIds = async (key: string) =>
  ((await get(`/api/shared-links/me?key=${key}`)).json().assets as { id: string }[]).map((a) => a.id);

/** Every recipient read of one asset of the link: none may answer with it once it is trashed. */
const assetUrls = (key: string, id: string) => [
  `/share/${key}/assets/${id}/thumbnail`,
  `/share/${key}/assets/${id}/preview`,
  `/share/${key}/assets/${id}/original`,
  `/api/assets/${id}/thumbnail?key=${key}`,
  `/api/assets/${id}/original?key=${key}`,
  `/share/${key}/photos/${id}`,
];

describe('a trashed asset, seen through its links', () => {
  it('should leave an album link at once: /me, pages, media, counts and the album thumbnail', async () => {
    const kept = await h.createAsset();
    const gone = await h.createAsset();
    const albumId = await h.createAlbum([gone.id, kept.id]);
    await h.tdb.db.updateTable('albums').set({ thumbnail_asset_id: gone.id }).where('id', '=', albumId).execute();
    const link = await h.createLink({ albumId });
    // warm every cache
    expect((await meIds(link.key)).sort()).toEqual([gone.id, kept.id].sort());
    for (const url of assetUrls(link.key, gone.id)) expect((await get(url)).statusCode, url).toBe(200);
    expect((await get(`/share/${link.key}`)).body).toContain(gone.id);

    await trash([gone.id]);

    await expect.poll(() => meIds(link.key), { timeout: 10_000, interval: 50 }).toEqual([kept.id]);
    const me = (await get(`/api/shared-links/me?key=${link.key}`)).json();
    expect(me.album).toMatchObject({ assetCount: 1, albumThumbnailAssetId: kept.id });
    for (const url of assetUrls(link.key, gone.id)) {
      const res = await get(url);
      expect([400, 404], `${url} → ${res.statusCode}`).toContain(res.statusCode);
    }
    const page = (await get(`/share/${link.key}/assets`)).json();
    expect(page.items.map((a: { id: string }) => a.id)).toEqual([kept.id]);
    expect(page.total).toBe(1);
    expect((await get(`/share/${link.key}`)).body).not.toContain(gone.id);
    // the photo page of the live asset has no neighbour any more
    expect((await get(`/share/${link.key}/photos/${kept.id}`)).body).not.toContain(gone.id);
  });

  it('should leave an individual link at once', async () => {
    const kept = await h.createAsset();
    const gone = await h.createAsset();
    const link = await h.createLink({ assetIds: [gone.id, kept.id] });
    expect((await meIds(link.key)).sort()).toEqual([gone.id, kept.id].sort());
    expect((await get(`/share/${link.key}/assets/${gone.id}/thumbnail`)).statusCode).toBe(200);

    await trash([gone.id]);

    await expect.poll(() => meIds(link.key), { timeout: 10_000, interval: 50 }).toEqual([kept.id]);
    for (const url of assetUrls(link.key, gone.id)) {
      const res = await get(url);
      expect([400, 404], `${url} → ${res.statusCode}`).toContain(res.statusCode);
    }
  });
});

describe('a link export and trash', () => {
  const logger = pino({ level: 'silent' });
  async function build(exportId: string) {
    const event = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', 'export.requested')
      .where('aggregate_id', '=', exportId)
      .executeTakeFirstOrThrow();
    const deps = { db: h.tdb.db, storage: h.storage, logger, ttlHours: 24 };
    return processExportJob(event.payload as ExportJobData, deps).catch((err: Error) => err);
  }

  it('should void a ready archive holding an asset trashed since, and leave it out of new ones', async () => {
    const kept = await h.createAsset();
    const gone = await h.createAsset();
    const albumId = await h.createAlbum([gone.id, kept.id]);
    const link = await h.createLink({ albumId });
    const requested = await h.app.inject({ method: 'POST', url: `/share/${link.key}/exports`, payload: {} });
    expect(requested.statusCode).toBe(202);
    const id = requested.json().id as string;
    await build(id);
    expect((await get(`/share/${link.key}/exports/${id}`)).json().status).toBe('ready');

    await trash([gone.id]);

    expect((await get(`/share/${link.key}/exports/${id}`)).json()).toMatchObject({ status: 'expired', parts: [] });
    expect((await get(`/share/${link.key}/exports/${id}/parts/1/download`)).statusCode).toBe(410);
    const again = await h.app.inject({ method: 'POST', url: `/share/${link.key}/exports`, payload: {} });
    expect(again.json().id).not.toBe(id);
    expect(again.json().progress.bytesTotal).toBe(Number(kept.size));
  });
});
