import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addManyPhotos,
  harnessStorage,
  launchChromium,
  listen,
  screenshot,
  seriousViolations,
  startTestExportWorker,
  VIEWPORTS,
} from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §2 in real Chromium: picking photos (checkbox + Shift-click on a desktop, long press + taps on a
 * phone), "Select all" / "Clear", and "Download selected" through the real export worker: the zip holds exactly
 * the photos picked.
 */

const run = promisify(execFile);

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let photos: AssetRow[];
let context: BrowserContext | null = null;
let workDir: string;
const stops: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  workDir = await mkdtemp(join(tmpdir(), 'immish-selection-'));
  photos = await addManyPhotos(h, storage, 6);
  h.startRelay();
  stops.push(await startTestExportWorker(h, storage, 'selection-test'));
}, 60_000);

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

async function openAlbum(kind: keyof typeof VIEWPORTS, opts: { allowDownload?: boolean } = {}): Promise<Page> {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Picked' },
  );
  const link = await h.createLink({ albumId, ...opts });
  context = await browser.newContext({ ...VIEWPORTS[kind], acceptDownloads: true });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort()); // nothing leaves the gateway
  await page.goto(`${baseUrl}/share/${link.key}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page;
}

/** The asset ids of the grid's tiles, in page order. */
const tileIds = (page: Page) => page.$$eval('#grid > li.tile', (lis) => lis.map((li) => li.id.slice(2)));

/** Clicks "Download selected" and returns the names inside the zip the browser downloaded. */
async function downloadSelected(page: Page, name: string): Promise<string[]> {
  const downloading = page.waitForEvent('download', { timeout: 45_000 });
  await page.click('#download-selected');
  expect(await page.locator('#download-status').isVisible()).toBe(true);
  const download = await downloading;
  const file = join(workDir, `${name}.zip`);
  await download.saveAs(file);
  expect((await run('unzip', ['-t', file])).stdout).toContain('No errors detected');
  return (await run('unzip', ['-Z1', file])).stdout.trim().split('\n').sort();
}

const namesOf = (ids: string[]) => ids.map((id) => photos.find((p) => p.id === id)!.original_file_name).sort();

describe('selection (Chromium)', () => {
  it('should pick a range with checkbox + Shift-click on a desktop and download exactly those 3', async () => {
    const page = await openAlbum('desktop');
    const ids = await tileIds(page);
    expect(await page.locator('#selection-bar').isVisible()).toBe(false);
    const first = page.locator(`#a-${ids[1]} input.tile-check`);
    expect(await first.evaluate((el) => getComputedStyle(el).opacity)).toBe('0');
    await page.hover(`#a-${ids[1]} a`);
    expect(await first.evaluate((el) => getComputedStyle(el).opacity)).toBe('1');
    await first.click();
    expect(await page.textContent('#selection-count')).toBe('1 selected');
    await page.locator(`#a-${ids[3]} input.tile-check`).click({ modifiers: ['Shift'] });
    expect(await page.textContent('#selection-count')).toBe('3 selected');
    const checked = await page.$$eval('#grid input.tile-check', (els) =>
      els.map((el) => (el as HTMLInputElement).checked),
    );
    expect(checked).toEqual([false, true, true, true, false, false]);
    // clicking a tile while selecting toggles it instead of opening the viewer
    await page.click(`#a-${ids[5]} a`);
    expect(await page.locator('#viewer').isVisible()).toBe(false);
    expect(await page.textContent('#selection-count')).toBe('4 selected');
    await page.click(`#a-${ids[5]} a`);
    expect(await page.textContent('#selection-count')).toBe('3 selected');
    await screenshot(page, 'selection-desktop');
    expect(await seriousViolations(page)).toEqual([]);

    expect(await downloadSelected(page, 'desktop')).toEqual(namesOf(ids.slice(1, 4)));
    await screenshot(page, 'selection-desktop-downloaded');
  });

  it('should pick with a long press then taps on a phone, and download exactly those 3', async () => {
    const page = await openAlbum('phone');
    const ids = await tileIds(page);
    const box = (await page.locator(`#a-${ids[0]} a`).boundingBox())!;
    const cdp = await page.context().newCDPSession(page);
    const point = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [point] });
    await page.waitForSelector('#selection-bar', { state: 'visible' });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    expect(await page.textContent('#selection-count')).toBe('1 selected');
    expect(await page.locator('#viewer').isVisible()).toBe(false);
    await page.tap(`#a-${ids[2]} a`);
    await page.tap(`#a-${ids[4]} a`);
    expect(await page.textContent('#selection-count')).toBe('3 selected');
    expect(await page.locator('#viewer').isVisible()).toBe(false);
    await screenshot(page, 'selection-phone');
    expect(await seriousViolations(page)).toEqual([]);

    expect(await downloadSelected(page, 'phone')).toEqual(namesOf([ids[0]!, ids[2]!, ids[4]!]));

    await page.click('#select-all');
    expect(await page.textContent('#selection-count')).toBe(`${photos.length} selected`);
    await page.click('#select-none');
    expect(await page.locator('#selection-bar').isVisible()).toBe(false);
    // with nothing selected, a tap opens the viewer again
    await page.tap(`#a-${ids[1]} a`);
    await page.waitForSelector('#viewer', { state: 'visible' });
  });

  it('should offer no selection on a link without downloads', async () => {
    const page = await openAlbum('desktop', { allowDownload: false });
    expect(await page.locator('#grid input.tile-check').count()).toBe(0);
    expect(await page.locator('#selection-bar').count()).toBe(0);
    expect(await page.locator('#select-start').count()).toBe(0);
  });
});
