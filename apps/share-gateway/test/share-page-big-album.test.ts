import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GRID_PAGE_SIZE } from '../src/routes/pages.ts';
import {
  addManyPhotos,
  harnessStorage,
  launchChromium,
  listen,
  screenshot,
  startTestExportWorker,
  VIEWPORTS,
} from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 on an album larger than the pages the grid loads (more than two pages): the slideshow plays past the
 * items loaded (it fetches the next page), and "Select all" then unticking one means "all but that one", items
 * never loaded included: the zip holds every other photo. In French, the download's own messages too.
 */

const run = promisify(execFile);
const COUNT = GRID_PAGE_SIZE * 2 + 65; // 305

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let photos: AssetRow[];
let linkKey: string;
let context: BrowserContext | null = null;
let workDir: string;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  workDir = await mkdtemp(join(tmpdir(), 'immish-big-album-'));
  photos = await addManyPhotos(h, storage, COUNT);
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Big' },
  );
  linkKey = (await h.createLink({ albumId, allowDownload: true })).key;
  h.startRelay();
  stops.push(await startTestExportWorker(h, storage, 'big-album-test'));
}, 180_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await browser?.close();
  await h?.close();
  await storage?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

afterEach(async () => {
  await context?.close();
  context = null;
});

async function open(kind: keyof typeof VIEWPORTS, locale?: string): Promise<Page> {
  context = await browser.newContext({
    ...VIEWPORTS[kind],
    acceptDownloads: true,
    ...(locale ? { locale, extraHTTPHeaders: { 'accept-language': locale } } : {}),
  });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  await page.goto(`${baseUrl}/share/${linkKey}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page;
}

const loaded = (page: Page) => page.getAttribute('#grid', 'data-loaded').then(Number);

describe(`an album of ${COUNT} photos (Chromium)`, () => {
  it('should play the slideshow past the items loaded: it fetches the next page', async () => {
    const page = await open('desktop');
    expect(await loaded(page)).toBe(GRID_PAGE_SIZE);
    // the viewer on the last item loaded (as the browser's Back/Forward would reopen it)
    await page.evaluate((i) => {
      history.pushState({ viewerIndex: i }, '', location.href);
      dispatchEvent(new PopStateEvent('popstate', { state: { viewerIndex: i } }));
    }, GRID_PAGE_SIZE - 1);
    await page.waitForSelector('#viewer', { state: 'visible' });
    expect(await page.textContent('#viewer-position')).toBe(`${GRID_PAGE_SIZE} / ${COUNT}`);
    expect(await loaded(page)).toBe(GRID_PAGE_SIZE);
    await page.selectOption('#slideshow-interval', '3');
    await page.click('#slideshow-toggle');
    await page.waitForFunction(
      (text) => document.getElementById('viewer-position')?.textContent === text,
      `${GRID_PAGE_SIZE + 1} / ${COUNT}`,
      { timeout: 30_000 },
    );
    expect(await loaded(page)).toBe(GRID_PAGE_SIZE * 2);
    await screenshot(page, 'big-album-slideshow-page-2', { fullPage: false });
  });

  it('should mean "all but this one" after Select all + untick, unloaded items included (zip; French messages)', async () => {
    const page = await open('phone', 'fr');
    expect(await loaded(page)).toBe(GRID_PAGE_SIZE);
    await page.click('#select-start');
    await page.click('#select-all');
    expect(await page.textContent('#selection-count')).toBe(`${COUNT} sélectionnées`);
    const first = (await page.getAttribute('#grid > li.tile', 'id'))!.slice(2);
    await page.tap(`#a-${first} a`);
    expect(await page.textContent('#selection-count')).toBe(`${COUNT - 1} sélectionnées`);
    expect(await page.locator(`#a-${first} input.tile-check`).isChecked()).toBe(false);
    await screenshot(page, 'big-album-all-but-one-phone', { fullPage: false });

    const request = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/exports'));
    const downloading = page.waitForEvent('download', { timeout: 90_000 });
    await page.click('#download-selected');
    expect(JSON.parse((await request).postData() ?? '{}')).toEqual({ exceptAssetIds: [first] });
    const download = await downloading;
    // the download's own messages come from the French catalogue
    await page.waitForFunction(
      () => document.getElementById('download-label')?.textContent === 'Votre téléchargement commence.',
    );
    const file = join(workDir, 'all-but-one.zip');
    await download.saveAs(file);
    expect((await run('unzip', ['-t', file], { maxBuffer: 8 << 20 })).stdout).toContain('No errors detected');
    const names = (await run('unzip', ['-Z1', file], { maxBuffer: 8 << 20 })).stdout.trim().split('\n').sort();
    const expected = photos
      .filter((p) => p.id !== first)
      .map((p) => p.original_file_name)
      .sort();
    expect(names).toEqual(expected);
    expect(await loaded(page)).toBeLessThan(COUNT); // never loaded everything: the server resolved the selection
  });
});
