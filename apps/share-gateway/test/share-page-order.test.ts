import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRID_PAGE_SIZE } from '../src/routes/pages.ts';
import { addManyPhotos, harnessStorage, launchChromium, listen, screenshot, seriousViolations } from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §5: the album's order by default, with an oldest/newest toggle — plain links (no JavaScript needed)
 * that re-sort the grid, its page links and the pages the bundle fetches while scrolling.
 */

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let photos: AssetRow[];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  photos = await addManyPhotos(h, storage, GRID_PAGE_SIZE + 3);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await storage?.close();
});

const tileIds = (body: string) => [...body.matchAll(/<li class="tile" id="a-([0-9a-f-]{36})">/g)].map((m) => m[1]!);

describe('oldest/newest toggle', () => {
  it("should show the album's order by default and the other on request, page links keeping it", async () => {
    const albumId = await h.createAlbum(
      photos.map((p) => p.id),
      { name: 'Ordered' },
    );
    const link = await h.createLink({ albumId });
    const byDate = [...photos].sort(
      (a, b) => a.file_created_at.getTime() - b.file_created_at.getTime() || (a.id < b.id ? -1 : 1),
    );
    const newest = byDate[byDate.length - 1]!.id;
    const oldest = byDate[0]!.id;

    const standard = await h.app.inject(`/share/${link.key}`);
    expect(tileIds(standard.body)[0]).toBe(newest); // an album is newest first unless its owner said otherwise
    expect(standard.body).toMatch(/href="\/share\/[^"]+\?order=desc" aria-current="true">Newest first/);

    const asc = await h.app.inject(`/share/${link.key}?order=asc`);
    expect(tileIds(asc.body)[0]).toBe(oldest);
    expect(asc.body).toMatch(/href="\/share\/[^"]+\?order=asc" aria-current="true">Oldest first/);
    expect(asc.body).toContain(`href="/share/${link.key}?page=2&amp;order=asc"`);
    const page2 = await h.app.inject(`/share/${link.key}?page=2&order=asc`);
    expect(tileIds(page2.body).at(-1)).toBe(newest);

    // the album's own order is untouched, and nonsense is refused
    const album = await h.tdb.db
      .selectFrom('albums')
      .select('sort_order')
      .where('id', '=', albumId)
      .executeTakeFirstOrThrow();
    expect(album.sort_order).toBe('desc');
    expect((await h.app.inject(`/share/${link.key}?order=sideways`)).statusCode).toBe(400);
  });

  it('should keep the chosen order while the bundle fetches the next pages (Chromium)', async () => {
    const albumId = await h.createAlbum(
      photos.map((p) => p.id),
      { name: 'Ordered' },
    );
    const link = await h.createLink({ albumId });
    const byDate = [...photos].sort(
      (a, b) => a.file_created_at.getTime() - b.file_created_at.getTime() || (a.id < b.id ? -1 : 1),
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await context.newPage();
      await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
      await page.goto(`${baseUrl}/share/${link.key}`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      await page.click('.order-toggle a:not([aria-current])');
      await page.waitForURL(/order=asc/);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      expect(await page.getAttribute('#grid li.tile a[data-index="0"]', 'href')).toBe(
        `/share/${link.key}/photos/${byDate[0]!.id}?order=asc`, // its previous/next follow the order too
      );
      await screenshot(page, 'order-oldest-first-desktop', { fullPage: false });
      expect(await seriousViolations(page)).toEqual([]);
      await page.keyboard.press('End');
      await page.waitForFunction((n) => document.getElementById('grid')?.dataset.loaded === String(n), photos.length);
      await page.keyboard.press('End');
      const last = `li.tile a[data-index="${photos.length - 1}"]`;
      await page.waitForSelector(last);
      expect(await page.getAttribute(last, 'href')).toBe(`/share/${link.key}/photos/${byDate.at(-1)!.id}?order=asc`);
    } finally {
      await context.close();
    }
  });
});
