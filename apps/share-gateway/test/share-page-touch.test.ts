import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
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
 * Issue 21 §1 in real Chromium on a phone, driven by touch events (CDP Input.dispatchTouchEvent): swipe left/right
 * changes the photo, double-tap and pinch zoom in and load the original (larger than the 1440 px preview), a drag
 * pans the zoomed photo without changing it, swipe down closes; a link without downloads zooms the preview only.
 */

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
  for (let i = 0; i < 3; i++) photos.push(await addPhoto(h, storage, i, { width: 2400, height: 1600 }));
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

async function openViewer(opts: { allowDownload?: boolean } = {}): Promise<{ page: Page; cdp: CDPSession }> {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Swipes' },
  );
  const link = await h.createLink({ albumId, ...opts });
  context = await browser.newContext({ ...VIEWPORTS.phone });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort()); // nothing leaves the gateway
  await page.goto(`${baseUrl}/share/${link.key}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  await page.tap('#grid li.tile a[data-index="0"]');
  await page.waitForSelector('#viewer', { state: 'visible' });
  await page.waitForFunction(() => {
    const img = document.getElementById('viewer-media') as HTMLImageElement | null;
    return !!img && img.complete && img.naturalWidth > 0;
  });
  return { page, cdp: await context.newCDPSession(page) };
}

const position = (page: Page) => page.textContent('#viewer-position');

async function centre(page: Page) {
  const b = (await page.locator('#viewer-media').boundingBox())!;
  return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
}

type Point = { x: number; y: number };

/** One or more fingers moving from `from` to `to` in a few steps. */
async function drag(cdp: CDPSession, from: Point[], to: Point[], steps = 8) {
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: from.map((p, id) => ({ ...p, id })) });
  for (let s = 1; s <= steps; s++) {
    const points = from.map((p, id) => ({
      x: p.x + ((to[id]!.x - p.x) * s) / steps,
      y: p.y + ((to[id]!.y - p.y) * s) / steps,
      id,
    }));
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: points });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

/**
 * Two taps 80 ms apart by the events' own clocks (the page reads `event.timeStamp`, as a phone's gap between taps):
 * on a busy CI machine the round trips of four awaited CDP calls once stretched past the page's 320 ms double-tap
 * window, so the events carry their timestamps instead of taking them from when they arrive.
 */
async function doubleTap(cdp: CDPSession, p: Point) {
  const t0 = Date.now() / 1000;
  for (const at of [t0, t0 + 0.08]) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [p], timestamp: at });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [], timestamp: at + 0.02 });
  }
}

const transform = (page: Page) => page.$eval('#viewer-media', (el) => (el as HTMLElement).style.transform);
const shown = (page: Page) =>
  page.$eval('#viewer-media', (el) => {
    const img = el as HTMLImageElement;
    return { src: new URL(img.src).pathname.split('/').pop(), width: img.naturalWidth };
  });

describe('the viewer on touch (Chromium, phone)', () => {
  it('should swipe between photos, zoom (double-tap, pinch) into the original, pan, and close with a swipe down', async () => {
    const { page, cdp } = await openViewer();
    expect(await position(page)).toBe('1 / 3');
    const c = await centre(page);
    await drag(cdp, [{ x: c.x + 120, y: c.y }], [{ x: c.x - 120, y: c.y }]);
    await expect.poll(() => position(page)).toBe('2 / 3');
    await drag(cdp, [{ x: c.x - 120, y: c.y }], [{ x: c.x + 120, y: c.y }]);
    await expect.poll(() => position(page)).toBe('1 / 3');

    // double-tap: zoomed, and the 2400 px original replaces the 1440 px preview
    expect(await shown(page)).toEqual({ src: 'preview', width: 1440 });
    await doubleTap(cdp, await centre(page));
    await expect.poll(() => transform(page)).toContain('scale(2.5)');
    await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual({ src: 'original', width: 2400 });
    await screenshot(page, 'touch-zoomed-phone', { fullPage: false });
    expect(await seriousViolations(page)).toEqual([]);
    // a drag while zoomed pans, it does not change the photo
    const before = await transform(page);
    await drag(cdp, [{ x: c.x, y: c.y }], [{ x: c.x - 150, y: c.y - 40 }]);
    expect(await position(page)).toBe('1 / 3');
    expect(await transform(page)).not.toBe(before);
    // double-tap again: back to the whole photo
    await doubleTap(cdp, c);
    await expect.poll(() => transform(page)).toBe('');

    // pinch on the next photo
    await drag(cdp, [{ x: c.x + 120, y: c.y }], [{ x: c.x - 120, y: c.y }]);
    await expect.poll(() => position(page)).toBe('2 / 3');
    await page.waitForFunction(() => (document.getElementById('viewer-media') as HTMLImageElement).complete);
    await drag(
      cdp,
      [
        { x: c.x - 30, y: c.y },
        { x: c.x + 30, y: c.y },
      ],
      [
        { x: c.x - 140, y: c.y },
        { x: c.x + 140, y: c.y },
      ],
    );
    const scale = Number(/scale\(([\d.]+)\)/.exec(await transform(page))?.[1]);
    expect(scale).toBeGreaterThan(2);
    await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual({ src: 'original', width: 2400 });
    await doubleTap(cdp, c);
    await expect.poll(() => transform(page)).toBe('');

    // swipe down closes
    await drag(cdp, [{ x: c.x, y: c.y - 100 }], [{ x: c.x, y: c.y + 150 }]);
    await page.waitForSelector('#viewer', { state: 'hidden' });
    await screenshot(page, 'touch-closed-phone', { fullPage: false });
  });

  it('should zoom the preview only on a link without downloads', async () => {
    const { page, cdp } = await openViewer({ allowDownload: false });
    await doubleTap(cdp, await centre(page));
    await expect.poll(() => transform(page)).toContain('scale(2.5)');
    // give a larger image every chance to arrive: it must not
    await page.waitForLoadState('networkidle');
    expect(await shown(page)).toEqual({ src: 'preview', width: 1440 });
  });
});
