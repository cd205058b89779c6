import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeVideo } from '../../../packages/media/test/phone-fixtures.ts';
import { addPhoto, addVideo, harnessStorage, launchChromium, listen, screenshot, VIEWPORTS } from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §6: a Live Photo opened from the grid (the in-page viewer, not only the photo page) plays its motion
 * while hovered on a desktop and while pressed on a phone, and shows the still again when let go.
 */

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let work: string;
let still: AssetRow;
let context: BrowserContext | null = null;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  work = mkdtempSync(join(tmpdir(), 'immish-live-'));
  makeVideo(join(work, 'motion.mov.mp4'), { codec: 'libx264', colour: '0x40a060', seconds: 2 });
  const motion = await addVideo(h, storage, 5, { original: readFileSync(join(work, 'motion.mov.mp4')), seconds: 2 });
  await h.tdb.db.updateTable('assets').set({ visibility: 'hidden' }).where('id', '=', motion.id).execute();
  const photo = await addPhoto(h, storage, 4);
  still = await h.tdb.db
    .updateTable('assets')
    .set({ live_photo_video_id: motion.id })
    .where('id', '=', photo.id)
    .returningAll()
    .executeTakeFirstOrThrow();
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

async function openStill(kind: keyof typeof VIEWPORTS): Promise<Page> {
  const albumId = await h.createAlbum([still.id], { name: 'Live' });
  const link = await h.createLink({ albumId });
  context = await browser.newContext({ ...VIEWPORTS[kind] });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  await page.goto(`${baseUrl}/share/${link.key}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  await page.click(`#a-${still.id} a`);
  await page.waitForSelector('#viewer', { state: 'visible' });
  expect(await page.getAttribute('img#viewer-media', 'data-live')).toBe(`/share/${link.key}/assets/${still.id}/video`);
  return page;
}

const motionPlays = async (page: Page) => {
  const motion = page.locator('video.live-motion');
  await expect
    .poll(() => motion.evaluate((v: HTMLVideoElement) => [!v.hidden, v.readyState >= 2]), { timeout: 15_000 })
    .toEqual([true, true]);
  await expect
    .poll(() => motion.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 15_000 })
    .toBeGreaterThan(0);
  return motion;
};

describe('Live Photos in the grid viewer (Chromium)', () => {
  it('should play the motion on hover (desktop)', async () => {
    const page = await openStill('desktop');
    await page.hover('img#viewer-media');
    const motion = await motionPlays(page);
    await screenshot(page, 'live-photo-viewer-desktop');
    await page.mouse.move(0, 0);
    await expect.poll(() => motion.evaluate((v: HTMLVideoElement) => v.hidden)).toBe(true);
  });

  it('should play the motion while pressed (phone)', async () => {
    const page = await openStill('phone');
    const box = (await page.locator('img#viewer-media').boundingBox())!;
    const cdp = await page.context().newCDPSession(page);
    const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
    const motion = await motionPlays(page);
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await expect.poll(() => motion.evaluate((v: HTMLVideoElement) => v.hidden)).toBe(true);
  });
});
