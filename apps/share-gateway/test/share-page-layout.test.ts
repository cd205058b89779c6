import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import { sql } from 'kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addManyPhotos,
  addPhoto,
  harnessStorage,
  launchChromium,
  listen,
  screenshot,
  seriousViolations,
  VIEWPORTS,
} from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §5 in real Chromium: justified rows on a desktop (every photo at its aspect ratio within 2%, every
 * row but the last filled to the grid's width), a tight square grid on a phone, thumbhash placeholders under
 * each thumbnail, and a 10,000-asset album scrolled to its end with fewer than 500 images in the DOM at any time.
 */

const SIZES = [
  { width: 1200, height: 800 },
  { width: 800, height: 1200 },
  { width: 1000, height: 1000 },
  { width: 1600, height: 700 },
  { width: 900, height: 1200 },
];

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let photos: AssetRow[];
let context: BrowserContext | null = null;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  photos = [];
  for (let i = 0; i < 14; i++) photos.push(await addPhoto(h, storage, i, SIZES[i % SIZES.length]));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await storage?.close();
});

afterEach(async () => {
  await context?.close();
  context = null;
});

async function openLink(kind: keyof typeof VIEWPORTS, key: string): Promise<Page> {
  context = await browser.newContext({ ...VIEWPORTS[kind] });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort()); // nothing leaves the gateway
  await page.goto(`${baseUrl}/share/${key}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page;
}

interface TileBox {
  id: string;
  left: number;
  top: number;
  width: number;
  height: number;
  placeholder: boolean;
}

const tileBoxes = (page: Page) =>
  page.$$eval('#grid > li.tile', (lis) => {
    const grid = document.getElementById('grid')!.getBoundingClientRect();
    return lis.map((li) => {
      const r = li.getBoundingClientRect();
      return {
        id: li.id.slice(2),
        left: r.left - grid.left,
        top: r.top - grid.top,
        width: r.width,
        height: r.height,
        placeholder: !!li.querySelector('img.tile-placeholder[src^="data:image/png"]'),
      };
    });
  });

async function albumOf(assets: AssetRow[]) {
  const albumId = await h.createAlbum(
    assets.map((p) => p.id),
    { name: 'Shapes' },
  );
  return h.createLink({ albumId });
}

describe('the grid layout (Chromium)', () => {
  it('should lay out justified rows on a desktop: aspect ratios kept within 2%, rows filled', async () => {
    const link = await albumOf(photos);
    const page = await openLink('desktop', link.key);
    expect(await page.getAttribute('#grid', 'data-layout')).toBe('justified');
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('img.tile-thumb')].every((i) => i.complete && i.naturalWidth),
    );
    const gridWidth = await page.$eval('#grid', (g) => g.clientWidth);
    const boxes: TileBox[] = await tileBoxes(page);
    expect(boxes).toHaveLength(photos.length);
    for (const b of boxes) {
      const p = photos.find((x) => x.id === b.id)!;
      const want = p.width! / p.height!;
      expect(Math.abs(b.width / b.height - want) / want).toBeLessThan(0.02);
      expect(b.placeholder).toBe(true);
    }
    const rows = [...new Set(boxes.map((b) => Math.round(b.top)))].sort((a, b) => a - b);
    expect(rows.length).toBeGreaterThan(1);
    for (const top of rows.slice(0, -1)) {
      const row = boxes.filter((b) => Math.round(b.top) === top);
      expect(Math.min(...row.map((b) => b.left))).toBeCloseTo(0, 0);
      expect(Math.max(...row.map((b) => b.left + b.width))).toBeCloseTo(gridWidth, 0);
      // one height per row
      expect(Math.max(...row.map((b) => b.height)) - Math.min(...row.map((b) => b.height))).toBeLessThan(1);
    }
    await screenshot(page, 'layout-justified-desktop');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('should lay out a tight square grid on a phone', async () => {
    const link = await albumOf(photos);
    const page = await openLink('phone', link.key);
    expect(await page.getAttribute('#grid', 'data-layout')).toBe('squares');
    const boxes: TileBox[] = await tileBoxes(page);
    expect(boxes).toHaveLength(photos.length);
    for (const b of boxes) expect(Math.abs(b.width - b.height)).toBeLessThan(0.5);
    expect(new Set(boxes.map((b) => Math.round(b.left))).size).toBe(3);
    const gridWidth = await page.$eval('#grid', (g) => g.clientWidth);
    expect(Math.max(...boxes.map((b) => b.left + b.width))).toBeCloseTo(gridWidth, 0);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await screenshot(page, 'layout-squares-phone');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('should scroll a 10,000-asset album to its end with fewer than 500 images in the DOM at any time (phone)', async () => {
    // eight real photos, then 10,000 rows sharing their files, seeded in one statement
    const seeds = await addManyPhotos(h, storage, 8);
    const ids = seeds.map((s) => s.id);
    const albumId = await h.createAlbum([], { name: 'Ten thousand' });
    await sql`
      with seed as (select a.*, (row_number() over (order by a.id) - 1)::int as k from assets a where a.id in (${sql.join(ids)})),
      made as (
        insert into assets (owner_id, type, original_file_name, mime_type, size, checksum, original_key, thumbnail_key,
          preview_key, width, height, thumbhash, file_created_at, file_modified_at, local_date_time, status)
        select s.owner_id, 'IMAGE', 'IMG_' || g || '.jpg', s.mime_type, s.size, decode(md5('big-' || g), 'hex'),
          s.original_key, s.thumbnail_key, s.preview_key, s.width, s.height, s.thumbhash,
          timestamptz '2020-01-01' + g * interval '1 minute', timestamptz '2020-01-01', timestamptz '2020-01-01', 'ready'
        from generate_series(1, 10000) g join seed s on s.k = g % 8
        returning id)
      insert into album_assets (album_id, asset_id, added_by) select ${albumId}, id, ${h.owner.id} from made
    `.execute(h.tdb.db);
    const link = await h.createLink({ albumId });
    const page = await openLink('phone', link.key);
    await page.evaluate(() => {
      const w = window as unknown as { maxImages: number; maxTiles: number };
      w.maxImages = 0;
      w.maxTiles = 0;
      const sample = () => {
        w.maxImages = Math.max(w.maxImages, document.images.length);
        w.maxTiles = Math.max(w.maxTiles, document.querySelectorAll('li.tile').length);
        requestAnimationFrame(sample);
      };
      sample();
    });
    // scroll down a screen at a time, as a thumb does, then jump to the end
    for (let i = 0; i < 20; i++) {
      await page.mouse.wheel(0, 800);
      await page.waitForTimeout(30);
    }
    await page.keyboard.press('End');
    await expect
      .poll(() => page.getAttribute('#grid', 'data-loaded'), { timeout: 180_000, interval: 500 })
      .toBe('10000');
    await page.keyboard.press('End');
    await page.waitForSelector('li.tile a[data-index="9999"]');
    expect(await page.getAttribute('li.tile a[data-index="9999"] img.tile-thumb', 'alt')).toBe(
      'Photo 10,000 of 10,000',
    ); // counts through Intl;
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('img.tile-thumb')].every((i) => i.complete && i.naturalWidth),
    );
    await screenshot(page, 'layout-10000-end-phone', { fullPage: false }); // the page is ~1 km tall
    // the middle of the album is there when scrolled back to it
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight / 2));
    await page.waitForFunction(() => {
      const idx = [...document.querySelectorAll<HTMLAnchorElement>('li.tile a')].map((a) => Number(a.dataset.index));
      return idx.some((i) => i > 4000 && i < 6000);
    });
    const { maxImages, maxTiles } = await page.evaluate(() => {
      const w = window as unknown as { maxImages: number; maxTiles: number };
      return { maxImages: w.maxImages, maxTiles: w.maxTiles };
    });
    expect(maxTiles).toBeGreaterThan(10);
    expect(maxImages).toBeLessThan(500);
    expect(await seriousViolations(page)).toEqual([]);
  }, 300_000);
});
