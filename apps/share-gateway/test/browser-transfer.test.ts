import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AssetRow } from '@immish/db';
import { startIngestWorker } from '@immish/ingest-worker';
import { createLogger } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addPhoto,
  eventually,
  harnessStorage,
  launchChromium,
  listen,
  photoJpeg,
  screenshot,
  startTestExportWorker,
} from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Downloads and uploads from the share page in a real headless Chromium, through the real pipeline: the
 * gateway's routes write events to the outbox, the relay publishes them to BullMQ, and the export and ingest
 * workers (in this process) build the zip / process the uploaded photos.
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
  workDir = await mkdtemp(join(tmpdir(), 'immish-browser-'));
  photos = [];
  for (let i = 0; i < 4; i++) photos.push(await addPhoto(h, storage, i));

  const logger = createLogger({ service: 'browser-test', level: 'silent' });
  h.startRelay();
  stops.push(await startTestExportWorker(h, storage, 'browser-test'));
  const ingestWorker = startIngestWorker({
    config: {
      REDIS_URL: h.redisUrl,
      QUEUE_PREFIX: h.prefix,
      INGEST_CONCURRENCY: 1,
      INGEST_MAX_PIXELS: 100_000_000,
      INGEST_KEEP_FAILED_ORIGINALS: true,
    },
    db: h.tdb.db,
    storage,
    logger,
    tempDir: workDir,
  });
  stops.push(() => ingestWorker.close());
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await browser?.close();
  await h?.close(); // stops the relay too
  await storage?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

afterEach(async () => {
  await context?.close();
  context = null;
});

async function newPage(): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort()); // nothing leaves the gateway
  return page;
}

async function albumLink(opts: Parameters<GatewayHarness['createLink']>[0] = {}) {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Trip to Nice' },
  );
  return { albumId, link: await h.createLink({ albumId, ...opts }) };
}

async function open(page: Page, path: string) {
  await page.goto(`${baseUrl}${path}`);
  await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
}

describe('Download all (browser)', () => {
  it('should prepare the archive with progress and download a valid zip of every photo', async () => {
    const { link } = await albumLink();
    const page = await newPage();
    await open(page, `/share/${link.key}`);
    const downloading = page.waitForEvent('download', { timeout: 45_000 });
    await page.click('#download-all');
    expect(await page.locator('#download-status').isVisible()).toBe(true);
    expect(await page.locator('#download-progress').isVisible()).toBe(true);
    await screenshot(page, '19-download-all-preparing');
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('Trip to Nice.zip');
    const file = join(workDir, 'all.zip');
    await download.saveAs(file);
    expect(await download.failure()).toBeNull();
    const test = await run('unzip', ['-t', file]);
    expect(test.stdout).toContain('No errors detected');
    const listing = (await run('unzip', ['-Z1', file])).stdout.trim().split('\n').sort();
    expect(listing).toEqual(photos.map((p) => p.original_file_name).sort());
    await page.waitForSelector('#download-parts a');
    expect(await page.textContent('#download-label')).toContain('download is starting');
    await screenshot(page, '20-download-all-ready');
    // the archive holds the originals byte for byte
    const extracted = join(workDir, 'x');
    await run('unzip', ['-q', '-o', file, '-d', extracted]);
    const first = photos[0]!;
    expect((await readFile(join(extracted, first.original_file_name))).length).toBe(Number(first.size));
  });

  it('should not offer Download all when the link does not allow downloads', async () => {
    const { link } = await albumLink({ allowDownload: false });
    const page = await newPage();
    await open(page, `/share/${link.key}`);
    expect(await page.locator('#download-all').count()).toBe(0);
    await page.click('li.tile a');
    await page.waitForSelector('#viewer', { state: 'visible' });
    expect(await page.locator('#viewer-download').count()).toBe(0);
  });
});

describe('upload through the link (browser)', () => {
  it('should upload two photos (file picker, then drag and drop) that then appear in the album for the owner', async () => {
    const { link, albumId } = await albumLink({ allowUpload: true });
    const page = await newPage();
    await open(page, `/share/${link.key}`);
    expect(await page.locator('li.tile').count()).toBe(photos.length);

    await page.setInputFiles('#upload-files', {
      name: 'beach.jpg',
      mimeType: 'image/jpeg',
      buffer: await photoJpeg(11, { width: 900, height: 600 }),
    });
    // a second photo dropped onto the page
    const dropped = (await photoJpeg(12, { width: 600, height: 900 })).toString('base64');
    const dataTransfer = await page.evaluateHandle((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'sunset.jpg', { type: 'image/jpeg' }));
      return dt;
    }, dropped);
    await page.dispatchEvent('body', 'dragenter', { dataTransfer });
    expect(await page.locator('#drop-overlay').isVisible()).toBe(true);
    await page.dispatchEvent('body', 'drop', { dataTransfer });
    expect(await page.locator('#drop-overlay').isVisible()).toBe(false);

    await page.waitForFunction(() => document.querySelectorAll('#upload-list li.done').length === 2, undefined, {
      timeout: 20_000,
    });
    const rows = await page.$$eval('#upload-list li.done', (lis) =>
      lis.map((li) => ({
        name: li.querySelector('.name')?.textContent,
        state: li.querySelector('.state')?.textContent,
        progress: (li.querySelector('progress') as HTMLProgressElement).value,
      })),
    );
    expect(rows).toEqual([
      { name: 'beach.jpg', state: 'Uploaded', progress: 1 },
      { name: 'sunset.jpg', state: 'Uploaded', progress: 1 },
    ]);
    await page.waitForSelector('#upload-list li.summary');
    await screenshot(page, '21-upload-done');

    // the ingest worker places them in the album, owned by the link owner
    const added = await eventually('the two uploads in the album', async () => {
      const rows = await h.tdb.db
        .selectFrom('album_assets')
        .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
        .select(['assets.original_file_name', 'assets.owner_id', 'assets.status'])
        .where('album_assets.album_id', '=', albumId)
        .where('assets.original_file_name', 'in', ['beach.jpg', 'sunset.jpg'])
        .execute();
      return rows.length === 2 && rows.every((r) => r.status === 'ready') ? rows : undefined;
    });
    expect(added.map((r) => r.owner_id)).toEqual([h.owner.id, h.owner.id]);

    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    expect(await page.locator('li.tile').count()).toBe(photos.length + 2);
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('img.tile-thumb')].every((i) => i.complete && i.naturalWidth > 0),
    );
    await screenshot(page, '22-album-after-upload');
  });

  it('should not offer uploads when the link does not allow them', async () => {
    const { link } = await albumLink({ allowUpload: false });
    const page = await newPage();
    await open(page, `/share/${link.key}`);
    expect(await page.locator('#upload').count()).toBe(0);
  });
});
