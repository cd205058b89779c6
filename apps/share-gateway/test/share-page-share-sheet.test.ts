import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
 * "Share…" of a selection on a recipient's page (issues 15 §1 and 21 §2) in real Chromium: with `navigator.share`
 * replaced by a recorder, the files handed over are the originals (names and bytes), or the stripped originals on
 * a link that hides metadata (exiftool finds no GPS/EXIF); without it, the panel's download gives one file
 * directly (its object URL revoked) or a valid zip of exactly the selection, and copy/email carry the page's URL.
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

/** navigator.share replaced by a recorder of what it was handed (names, types, bytes as base64). */
const RECORDER = `(() => {
  window.__shared = null;
  const read = (f) => new Promise((resolve) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',')[1] || '');
    r.readAsDataURL(f);
  });
  Object.defineProperty(Navigator.prototype, 'canShare', { configurable: true, value: (d) => !!d && Array.isArray(d.files) });
  Object.defineProperty(Navigator.prototype, 'share', { configurable: true, value: async (d) => {
    const files = await Promise.all(d.files.map(async (f) => ({ name: f.name, type: f.type, base64: await read(f) })));
    window.__shared = { title: d.title, files };
  } });
})();`;

/** A browser without the Web Share API, and a record of revoked object URLs. */
const NO_SHARE = `(() => {
  delete Navigator.prototype.share;
  delete Navigator.prototype.canShare;
  window.__revoked = [];
  const revoke = URL.revokeObjectURL.bind(URL);
  URL.revokeObjectURL = (u) => { window.__revoked.push(u); revoke(u); };
})();`;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  workDir = await mkdtemp(join(tmpdir(), 'immish-share-sheet-'));
  photos = await addManyPhotos(h, storage, 5);
  h.startRelay();
  stops.push(await startTestExportWorker(h, storage, 'share-sheet-test'));
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

async function openAlbum(
  kind: keyof typeof VIEWPORTS,
  init: string,
  opts: { showMetadata?: boolean } = {},
): Promise<{ page: Page; key: string }> {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Shared on' },
  );
  const link = await h.createLink({ albumId, allowDownload: true, ...opts });
  context = await browser.newContext({ ...VIEWPORTS[kind], acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseUrl });
  await context.addInitScript(init);
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort()); // nothing leaves the gateway
  await page.goto(`${baseUrl}/share/${link.key}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return { page, key: link.key };
}

const tileIds = (page: Page) => page.$$eval('#grid > li.tile', (lis) => lis.map((li) => li.id.slice(2)));

/** "Select", then a tap/click on each of `ids`. */
async function pick(page: Page, ids: string[], touch: boolean) {
  await page.click('#select-start');
  for (const id of ids) {
    if (touch) await page.tap(`#a-${id} a`);
    else await page.click(`#a-${id} a`);
  }
  expect(await page.textContent('#selection-count')).toBe(`${ids.length} selected`);
}

const original = async (id: string) => {
  const row = photos.find((p) => p.id === id)!;
  return Buffer.concat(await (await storage.get(row.original_key)).toArray());
};

async function exiftoolTags(bytes: Buffer, name: string): Promise<string[]> {
  const file = join(workDir, name);
  await writeFile(file, bytes);
  const { stdout } = await run('exiftool', ['-j', '-G', '-a', '-n', file]);
  return Object.keys((JSON.parse(stdout) as Record<string, unknown>[])[0] ?? {});
}

interface Shared {
  title: string;
  files: { name: string; type: string; base64: string }[];
}

const shared = async (page: Page): Promise<Shared> => {
  await page.waitForFunction(() => (window as unknown as { __shared: unknown }).__shared !== null, null, {
    timeout: 30_000,
  });
  return (await page.evaluate(() => (window as unknown as { __shared: unknown }).__shared)) as Shared;
};

describe('share page "Share…" (Chromium)', () => {
  it('should hand the originals (names and bytes) to navigator.share on a desktop', async () => {
    const { page } = await openAlbum('desktop', RECORDER);
    const ids = (await tileIds(page)).slice(1, 3);
    await pick(page, ids, false);
    expect(await page.locator('#share-selected').isEnabled()).toBe(true);
    await page.click('#share-selected');
    const got = await shared(page);
    expect(got.title).toBe('Shared on');
    expect(got.files.map((f) => f.name)).toEqual(ids.map((id) => photos.find((p) => p.id === id)!.original_file_name));
    for (const [i, f] of got.files.entries()) {
      expect(f.type).toBe('image/jpeg');
      expect(Buffer.from(f.base64, 'base64').equals(await original(ids[i]!))).toBe(true);
    }
    // handed over: the panel went away, nothing left to offer
    await page.waitForSelector('#share-sheet', { state: 'hidden' });
    await screenshot(page, 'share-sheet-shared-desktop');
  });

  it('should hand stripped originals without GPS/EXIF on a link that hides metadata (phone)', async () => {
    const { page } = await openAlbum('phone', RECORDER, { showMetadata: false });
    const ids = (await tileIds(page)).slice(0, 2);
    await pick(page, ids, true);
    await page.click('#share-selected');
    const got = await shared(page);
    expect(got.files).toHaveLength(2);
    for (const [i, f] of got.files.entries()) {
      const bytes = Buffer.from(f.base64, 'base64');
      const before = await exiftoolTags(await original(ids[i]!), `orig-${i}.jpg`);
      expect(before).toEqual(expect.arrayContaining(['EXIF:GPSLatitude', 'EXIF:Make']));
      // anonymous name (no original file name on such a link), and none of the revealing tags
      expect(f.name).not.toContain('DSCF');
      expect(f.name.startsWith(ids[i]!)).toBe(true);
      const tags = await exiftoolTags(bytes, `stripped-${i}.jpg`);
      expect(tags.filter((tag) => /GPS|Make|Model|Lens|Description|DateTimeOriginal/.test(tag))).toEqual([]);
      expect(bytes.includes(Buffer.from('Fujifilm'))).toBe(false);
    }
  });

  it('should offer download, page link and email without navigator.share; several → one zip of exactly those', async () => {
    const { page, key } = await openAlbum('phone', NO_SHARE);
    const ids = (await tileIds(page)).slice(0, 3);
    await pick(page, ids, true);
    await page.click('#share-selected');
    await page.waitForSelector('#share-sheet-options', { state: 'visible' });
    await screenshot(page, 'share-sheet-options-phone', { fullPage: false });
    expect(await seriousViolations(page)).toEqual([]);
    const pageUrl = `${baseUrl}/share/${key}`;
    const mailto = (await page.getAttribute('#share-email', 'href'))!;
    expect(mailto.startsWith('mailto:')).toBe(true);
    expect(decodeURIComponent(mailto)).toContain(pageUrl);
    await page.click('#share-copy');
    await page.waitForFunction(() => document.getElementById('share-sheet-status')?.textContent === 'Link copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(pageUrl);

    const downloading = page.waitForEvent('download', { timeout: 45_000 });
    await page.click('#share-download');
    const download = await downloading;
    const file = join(workDir, 'shared.zip');
    await download.saveAs(file);
    expect((await run('unzip', ['-t', file])).stdout).toContain('No errors detected');
    const names = (await run('unzip', ['-Z1', file])).stdout.trim().split('\n').sort();
    expect(names).toEqual(ids.map((id) => photos.find((p) => p.id === id)!.original_file_name).sort());
  });

  it('should download one file directly under its name and release its object URL (desktop)', async () => {
    const { page } = await openAlbum('desktop', NO_SHARE);
    const [id] = (await tileIds(page)).slice(4);
    await pick(page, [id!], false);
    await page.click('#share-selected');
    await page.waitForSelector('#share-sheet-options', { state: 'visible' });
    await screenshot(page, 'share-sheet-options-desktop', { fullPage: false });
    expect(await seriousViolations(page)).toEqual([]);
    const downloading = page.waitForEvent('download', { timeout: 30_000 });
    await page.click('#share-download');
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(photos.find((p) => p.id === id)!.original_file_name);
    const file = join(workDir, 'one.jpg');
    await download.saveAs(file);
    expect((await readFile(file)).equals(await original(id!))).toBe(true);
    await page.waitForFunction(() => (window as unknown as { __revoked: string[] }).__revoked.length === 1);
  });
});
