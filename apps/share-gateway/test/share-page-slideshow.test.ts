import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeVideo } from '../../../packages/media/test/phone-fixtures.ts';
import {
  addPhoto,
  addVideo,
  harnessStorage,
  launchChromium,
  listen,
  screenshot,
  seriousViolations,
  VIEWPORTS,
} from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §3 in real Chromium: the slideshow advances on its own, waits for a video to end before moving on,
 * pauses and resumes (button and `s` key), works at phone width, and is not offered on a link without photos.
 */

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let work: string;
let photos: AssetRow[];
let video: AssetRow;
let context: BrowserContext | null = null;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  work = mkdtempSync(join(tmpdir(), 'immish-slideshow-'));
  makeVideo(join(work, 'clip.mp4'), { codec: 'libx264', colour: '0x3060c0', seconds: 4 });
  photos = [await addPhoto(h, storage, 1), await addPhoto(h, storage, 2)];
  video = await addVideo(h, storage, 3, { original: readFileSync(join(work, 'clip.mp4')), seconds: 4 });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await storage?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

afterEach(async () => {
  await context?.close();
  context = null;
});

async function openAlbum(kind: keyof typeof VIEWPORTS, assets: AssetRow[]): Promise<Page> {
  const albumId = await h.createAlbum(
    assets.map((a) => a.id),
    { name: 'Slides' },
  );
  const link = await h.createLink({ albumId });
  context = await browser.newContext({ ...VIEWPORTS[kind] });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort()); // nothing leaves the gateway
  await page.goto(`${baseUrl}/share/${link.key}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page;
}

const position = (page: Page) => page.textContent('#viewer-position');

describe('slideshow (Chromium)', () => {
  for (const kind of ['desktop', 'phone'] as const) {
    it(`should advance on its own and wait for a video to end (${kind})`, async () => {
      const page = await openAlbum(kind, [...photos, video]);
      // every video that leaves the stage says how far it had played
      await page.evaluate(() => {
        const w = window as unknown as { leftVideos: { ended: boolean; time: number }[] };
        w.leftVideos = [];
        new MutationObserver((records) => {
          for (const r of records)
            for (const n of r.removedNodes)
              if (n instanceof HTMLVideoElement) w.leftVideos.push({ ended: n.ended, time: n.currentTime });
        }).observe(document.querySelector('.viewer-stage')!, { childList: true });
      });
      const ids = await page.$$eval('#grid > li.tile', (lis) => lis.map((li) => li.id.slice(2)));
      const videoAt = ids.indexOf(video.id) + 1;
      await page.click('#slideshow-start');
      await page.waitForSelector('#viewer', { state: 'visible' });
      await page.selectOption('#slideshow-interval', '3');
      expect(await position(page)).toBe('1 / 3');
      expect(await page.getAttribute('#slideshow-toggle', 'aria-pressed')).toBe('true');
      await screenshot(page, `slideshow-playing-${kind}`);
      expect(await seriousViolations(page)).toEqual([]);
      // it moves on by itself, through the video, and around to the first again
      await expect.poll(() => position(page), { timeout: 20_000 }).toBe(`${videoAt} / 3`);
      await expect
        .poll(() => page.locator('video#viewer-media').evaluate((v: HTMLVideoElement) => v.currentTime), {
          timeout: 15_000,
        })
        .toBeGreaterThan(0);
      await expect.poll(() => position(page), { timeout: 30_000 }).not.toBe(`${videoAt} / 3`);
      // and on again after the interval
      const after = await position(page);
      await expect.poll(() => position(page), { timeout: 20_000 }).not.toBe(after);
      // every time the video left the stage it had played to its end (on a loaded machine the show may have
      // gone round once more before this read: the loop is 3 + 3 s of photos and the 4 s video)
      const left = await page.evaluate(
        () => (window as unknown as { leftVideos: { ended: boolean; time: number }[] }).leftVideos,
      );
      expect(left.length).toBeGreaterThanOrEqual(1);
      for (const l of left) expect(l).toEqual({ ended: true, time: expect.closeTo(4, 0) });

      // pause with `s`: it stays put; Pause/Play button resumes
      await page.keyboard.press('s');
      expect(await page.getAttribute('#slideshow-toggle', 'aria-pressed')).toBe('false');
      expect(await page.textContent('#slideshow-toggle')).toBe('Play');
      await page.click('#slideshow-toggle');
      expect(await page.getAttribute('#slideshow-toggle', 'aria-pressed')).toBe('true');
      await page.keyboard.press('Escape');
      await page.waitForSelector('#viewer', { state: 'hidden' });
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    }, 120_000);
  }

  it('should offer no slideshow on a link without photos', async () => {
    const page = await openAlbum('desktop', []);
    expect(await page.locator('#slideshow-start').count()).toBe(0);
    expect(await page.locator('#slideshow-controls').count()).toBe(0);
    await context?.close();
    const withPhotos = await openAlbum('phone', photos);
    expect(await withPhotos.locator('#slideshow-start').isVisible()).toBe(true);
  });
});
