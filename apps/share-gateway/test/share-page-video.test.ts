import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeVideo, run, SECRET } from '../../../packages/media/test/phone-fixtures.ts';
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
 * Issue 21 §4: streaming a video to watch is not downloading it. On a link without downloads (and hiding
 * metadata), the share page plays the video in real Chromium at phone and desktop sizes — the web-playable
 * rendition, or the original stripped of its metadata on the way, with Range — and offers no download, not even
 * the player's own; a direct request for the original stays refused.
 */

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let work: string;
let photo: AssetRow;
let plainVideo: AssetRow;
let renditionVideo: AssetRow;
let context: BrowserContext | null = null;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  work = mkdtempSync(join(tmpdir(), 'immish-share-video-'));
  // an H.264 original carrying a place, a make and a model (what a hidden-metadata link must not give away)
  makeVideo(join(work, 'beach.mp4'), { codec: 'libx264', colour: '0xd04020', seconds: 3 });
  makeVideo(join(work, 'party.mp4'), { codec: 'libx264', colour: '0x20b040', seconds: 3 });
  // a rendition as the ingest worker makes it: no metadata at all
  const rendition = join(work, 'rendition.mp4');
  run('ffmpeg', ['-v', 'error', '-i', join(work, 'party.mp4'), '-map_metadata', '-1', '-c', 'copy', '-y', rendition]);
  const original = readFileSync(join(work, 'beach.mp4'));
  photo = await addPhoto(h, storage, 1);
  plainVideo = await addVideo(h, storage, 2, { original, seconds: 3, fileName: 'beach.mp4' });
  renditionVideo = await addVideo(h, storage, 3, {
    original: readFileSync(join(work, 'party.mp4')),
    rendition: readFileSync(join(work, 'rendition.mp4')),
    seconds: 3,
    fileName: 'party.mp4',
  });
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

async function newPage(kind: keyof typeof VIEWPORTS): Promise<Page> {
  context = await browser.newContext({ ...VIEWPORTS[kind] });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort()); // nothing leaves the gateway
  return page;
}

async function noDownloadLink(showMetadata: boolean) {
  const albumId = await h.createAlbum([photo.id, plainVideo.id, renditionVideo.id], { name: 'Beach videos' });
  return h.createLink({ albumId, allowDownload: false, showMetadata });
}

/** Plays the viewer's video muted and waits until it has data and its time advances. */
async function playsInViewer(page: Page, src: string) {
  const video = page.locator('video#viewer-media');
  await expect.poll(() => video.getAttribute('src')).toBe(src);
  expect(await video.getAttribute('controlslist')).toBe('nodownload');
  await video.evaluate((v: HTMLVideoElement) => {
    v.muted = true;
    return v.play();
  });
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 })
    .toBeGreaterThanOrEqual(2);
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 15_000 })
    .toBeGreaterThan(0.3);
  expect(await video.evaluate((v: HTMLVideoElement) => v.error?.code ?? null)).toBeNull();
  expect(await page.locator('#viewer-download').count()).toBe(0);
}

describe('videos on a link without downloads (Chromium)', () => {
  for (const kind of ['phone', 'desktop'] as const) {
    it(`should play the stripped original and the rendition from the grid viewer, offering no download (${kind})`, async () => {
      const link = await noDownloadLink(false);
      const page = await newPage(kind);
      await page.goto(`${baseUrl}/share/${link.key}`);
      await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
      expect(await page.locator('#download-all').count()).toBe(0);

      await page.click(`#a-${plainVideo.id} a`);
      await playsInViewer(page, `/share/${link.key}/assets/${plainVideo.id}/video`);
      await screenshot(page, `video-no-download-${kind}`);
      expect(await seriousViolations(page)).toEqual([]);

      await page.keyboard.press('Escape');
      await page.waitForSelector('#viewer', { state: 'hidden' });
      await page.click(`#a-${renditionVideo.id} a`);
      await playsInViewer(page, `/share/${link.key}/assets/${renditionVideo.id}/video`);

      // what the page played holds no metadata; the original itself stays refused, Range or not
      const played = await page.request.get(`${baseUrl}/share/${link.key}/assets/${plainVideo.id}/video`);
      expect(played.status()).toBe(200);
      const body = await played.body();
      for (const secret of [SECRET.make, SECRET.model, SECRET.description]) expect(body.includes(secret)).toBe(false);
      const range = await page.request.get(`${baseUrl}/share/${link.key}/assets/${plainVideo.id}/video`, {
        headers: { range: 'bytes=100-199' },
      });
      expect(range.status()).toBe(206);
      expect(range.headers()['content-range']).toBe(`bytes 100-199/${plainVideo.size}`);
      expect((await range.body()).equals(body.subarray(100, 200))).toBe(true);
      for (const id of [plainVideo.id, renditionVideo.id, photo.id]) {
        for (const headers of [{}, { range: 'bytes=0-99' }] as Record<string, string>[]) {
          const original = await page.request.get(`${baseUrl}/share/${link.key}/assets/${id}/original`, { headers });
          expect(original.status()).toBe(403);
        }
      }
    });
  }

  it('should play the video on the server-rendered photo page of a link that shows metadata (phone)', async () => {
    const link = await noDownloadLink(true);
    const page = await newPage('phone');
    await page.goto(`${baseUrl}/share/${link.key}/photos/${plainVideo.id}`);
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    await playsInViewer(page, `/share/${link.key}/assets/${plainVideo.id}/video`);
    await screenshot(page, 'video-no-download-photo-page-phone');
    expect(await seriousViolations(page)).toEqual([]);
    expect((await page.request.get(`${baseUrl}/share/${link.key}/assets/${plainVideo.id}/original`)).status()).toBe(
      403,
    );
  });

  it('should let the player offer its own download when the link allows downloads', async () => {
    const albumId = await h.createAlbum([plainVideo.id], { name: 'Open' });
    const link = await h.createLink({ albumId });
    const res = await h.app.inject(`/share/${link.key}/photos/${plainVideo.id}`);
    expect(res.body).toContain('id="viewer-media"');
    expect(res.body).not.toContain('controlslist');
    expect(res.body).toContain('id="viewer-download"');
  });
});
