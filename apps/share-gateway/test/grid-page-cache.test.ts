import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { addAssetsToAlbum, removeAssetsFromAlbum, trashAssets } from '@immish/domain';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRID_PAGE_SIZE } from '../src/routes/pages.ts';
import { eventually, type GatewayHarness, jpegWithExif, startGateway, updateLinkWithEvent } from './harness.ts';

/**
 * The share page's grid pages kept ready to send (routes/pages.ts `gridPage`, issue 17): built once per link,
 * language, page and variant, compressed ahead of time, rebuilt when the link or what it shows changes — and
 * never a way around a rule that runs per request (unlock, views, a change the owner made).
 */
let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

const BROWSER = 'gzip, deflate, br, zstd';
/** a page as a browser without compression, a browser, and the bundle fetching the next page ask for it */
const VARIANTS: Record<string, string>[] = [{}, { 'accept-encoding': BROWSER }, { 'x-share-continuation': '1' }];
const page = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers });

/** The page's text, whatever its coding. */
function text(res: { rawPayload: Buffer; headers: Record<string, unknown> }): string {
  const coding = res.headers['content-encoding'];
  if (coding === 'br') return brotliDecompressSync(res.rawPayload).toString('utf8');
  if (coding === 'gzip') return gunzipSync(res.rawPayload).toString('utf8');
  return res.rawPayload.toString('utf8');
}

describe('grid pages kept ready to send', () => {
  it('should answer the same page from memory, compressed for a browser, identical in every coding', async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const asset = await h.createAsset({ fileName: 'Harbour at dawn.jpg' });
    const link = await h.createLink({ albumId: await h.createAlbum([asset.id]) });
    const url = `/share/${link.key}`;
    const plain = await page(app, url);
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-language, x-share-continuation, accept-encoding');
    expect(plain.body).toContain('Harbour at dawn.jpg');
    const br = await page(app, url, { 'accept-encoding': BROWSER });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length);
    expect(text(br)).toBe(plain.body);
    const gz = await page(app, url, { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(text(gz)).toBe(plain.body);

    // a change made without its event (none is published here) does not show: the page is the one in memory
    await h.tdb.db
      .updateTable('assets')
      .set({ original_file_name: 'Renamed quietly.jpg' })
      .where('id', '=', asset.id)
      .execute();
    expect((await page(app, url)).body).toBe(plain.body);
    // … while a gateway that keeps nothing (LINK_CACHE_TTL_MS=0) builds every answer
    const uncached = await h.newApp({ LINK_CACHE_TTL_MS: '0' });
    expect((await page(uncached, url)).body).toContain('Renamed quietly.jpg');
  });

  it('should drop a removed or trashed photo from the cached pages of two replicas within 1 s, through events', async () => {
    const a1 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const a2 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    h.startRelay();
    const kept = await h.createAsset();
    const removed = await h.createAsset();
    const trashed = await h.createAsset();
    const added = await h.createAsset();
    const albumId = await h.createAlbum([kept.id, removed.id, trashed.id]);
    const link = await h.createLink({ albumId });
    const urls = [`/share/${link.key}`, `/share/${link.key}?page=1&order=asc`];
    const shows = async (app: FastifyInstance, id: string) => {
      for (const url of urls) {
        for (const headers of VARIANTS) {
          if (!text(await page(app, url, headers)).includes(id)) return false;
        }
      }
      return true;
    };
    for (const app of [a1, a2]) {
      expect(await shows(app, removed.id)).toBe(true);
      expect(await shows(app, trashed.id)).toBe(true);
      expect(await shows(app, added.id)).toBe(false);
    }
    // first a change of an asset alone (the album and link rows stay as they are): only its message can tell
    await trashAssets(h.tdb.db, { type: 'user', id: h.owner.id }, [trashed.id]);
    for (const app of [a1, a2]) {
      for (const url of urls) {
        for (const headers of VARIANTS) {
          await eventually(
            async () => !text(await page(app, url, headers)).includes(trashed.id),
            `${url} ${JSON.stringify(headers)} rebuilt without the trashed photo`,
            1000,
          );
        }
      }
    }
    await removeAssetsFromAlbum(h.tdb.db, { userId: h.owner.id }, albumId, 'owner', [removed.id]);
    await addAssetsToAlbum(h.tdb.db, { userId: h.owner.id }, albumId, [added.id]);
    for (const app of [a1, a2]) {
      // every variant: a page, the other order, the bundle's data, each coding
      for (const url of urls) {
        for (const headers of VARIANTS) {
          await eventually(
            async () => {
              const body = text(await page(app, url, headers));
              return !body.includes(removed.id) && !body.includes(trashed.id) && body.includes(added.id);
            },
            `${url} ${JSON.stringify(headers)} rebuilt without the removed and trashed photos`,
            1000,
          );
        }
      }
      expect(await shows(app, kept.id)).toBe(true);
    }
  });

  it('should hide the names on the cached page once metadata is hidden, and lock it once a password is set', async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    h.startRelay();
    const asset = await h.createAsset({ fileName: 'Private name.jpg' });
    const link = await h.createLink({ albumId: await h.createAlbum([asset.id]) });
    const url = `/share/${link.key}`;
    expect(text(await page(app, url, { 'accept-encoding': BROWSER }))).toContain('Private name.jpg');
    await updateLinkWithEvent(h.tdb.db, link.id, { show_metadata: false }, ['showMetadata']);
    await eventually(
      async () => !text(await page(app, url, { 'accept-encoding': BROWSER })).includes('Private name.jpg'),
      'the cached page rebuilt without the file name',
      1000,
    );
    await updateLinkWithEvent(h.tdb.db, link.id, { password_hash: 'x', password_version: 2 }, ['password']);
    // the cached page is never a way past the password: the form, without the page's data
    await eventually(async () => (await page(app, url)).statusCode === 401, 'the link locked', 1000);
    for (const headers of VARIANTS) {
      const locked = await page(app, url, headers);
      expect(locked.statusCode).toBe(401);
      expect(text(locked)).not.toContain(asset.id);
    }
  });

  it('should count a view for every page opened from memory, and none for the bundle fetching the next page', async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const asset = await h.createAsset();
    const link = await h.createLink({ albumId: await h.createAlbum([asset.id]) });
    const before = (await h.counters(link.id)).view;
    for (let i = 0; i < 3; i++) expect((await page(app, `/share/${link.key}`)).statusCode).toBe(200);
    for (let i = 0; i < 2; i++) {
      expect((await page(app, `/share/${link.key}`, { 'x-share-continuation': '1' })).statusCode).toBe(200);
    }
    expect((await h.counters(link.id)).view).toBe(before + 3);
  });

  it("should give every recipient the page a gateway keeping nothing gives, whatever another's headers asked first", async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const uncached = await h.newApp({ LINK_CACHE_TTL_MS: '0' });
    const first = await h.createAsset({ fileName: 'First light.jpg' });
    const second = await h.createAsset({ fileName: 'Second wave.jpg' });
    const link = await h.createLink({ albumId: await h.createAlbum([first.id, second.id]), showMetadata: true });
    const url = `/share/${link.key}`;
    // a holder asks first with everything it can forge: the bundle's header, a language no catalogue has (long,
    // with markup), a coding, the other order and a grouping — each of which is part of the kept page's key or
    // parsed to a keyword before it
    const forged = {
      'x-share-continuation': '1',
      'accept-language': `<script>alert(1)</script>-${'x'.repeat(3000)}, fr;q=0.1`,
      'accept-encoding': BROWSER,
    };
    for (const query of ['', '?order=asc', '?group=day', '?page=1&order=desc&group=month']) {
      const res = await page(app, `${url}${query}`, forged);
      expect(res.statusCode).toBe(200);
      expect(text(res)).not.toContain('<script>alert(1)');
    }
    // then recipients asking plainly, in French, and the bundle: each gets exactly what nothing kept would give
    const requests: [string, Record<string, string>][] = [
      [url, {}],
      [url, { 'accept-language': 'fr' }],
      [url, { 'x-share-continuation': '1' }],
      [`${url}?order=asc`, {}],
      [`${url}?group=day`, { 'accept-language': 'fr', 'accept-encoding': 'gzip' }],
    ];
    for (const [path, headers] of requests) {
      const kept = await page(app, path, headers);
      const made = await page(uncached, path, headers);
      expect(kept.statusCode).toBe(200);
      expect(text(kept)).toBe(text(made));
    }
    expect((await page(app, url)).body).toContain('id="grid"');
    expect((await page(app, url, { 'accept-language': 'fr' })).body).toContain('lang="fr"');
  });

  it('should keep answering the cached /me from memory while a holder floods the page numbers', async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const assets = [];
    for (let i = 0; i < GRID_PAGE_SIZE + 1; i++)
      assets.push(
        await h.createAsset({ derivatives: false, bytes: Buffer.concat([await jpegWithExif(), randomBytes(16)]) }),
      );
    const link = await h.createLink({ albumId: await h.createAlbum(assets.map((a) => a.id)) });
    const me = `/api/shared-links/me?key=${link.key}`;
    expect((await page(app, me)).statusCode).toBe(200);
    // 300 distinct page numbers, all past the last of 2 pages: one page (clamped before the cache), one build
    const flood = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        page(app, `/share/${link.key}?page=${i + 2}`, { 'x-share-continuation': '1' }),
      ),
    );
    expect(flood.every((r) => r.statusCode === 200)).toBe(true);
    expect(new Set(flood.map((r) => r.body)).size).toBe(1);
    expect(flood[0]!.body).toBe((await page(app, `/share/${link.key}?page=2`, { 'x-share-continuation': '1' })).body);
    // the /me body is still the one in memory: answered by the fast path over a real socket
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address() as { port: number };
    const fastBefore = (app as unknown as { fastAnswers: number }).fastAnswers;
    expect((await fetch(`http://127.0.0.1:${address.port}${me}`)).status).toBe(200);
    expect((app as unknown as { fastAnswers: number }).fastAnswers).toBe(fastBefore + 1);
  });
});
