import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { createLogger, createRedis } from '@immish/runtime';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestWorkerHandle, startIngestWorker } from '../../ingest-worker/src/worker.ts';
import { photoJpeg } from '../../share-gateway/test/browser-kit.ts';
import {
  type ConsoleStack,
  consoleScreenshot,
  PHONE,
  seriousViolations,
  signIn,
  startConsoleStack,
  thumbnailsLoaded,
} from './console-kit.ts';
import type { TestUser } from './harness.ts';

/**
 * Issue 14 items 2 and 7 in Debian's Chromium: uploading from the library — three JPEGs made with sharp, two by
 * the file picker and one dropped on the page, plus a file that is no picture — with per-file progress bars fed
 * by XMLHttpRequest's upload events; then each asset status in the grid as the real ingest worker (fed by the
 * outbox relay through BullMQ) processes it: thumbnails for the photos, "Failed" with its reason for the other.
 */

let stack: ConsoleStack;
let owner: TestUser;
let relay: OutboxRelay;
let publisher: BullEventPublisher;
let worker: IngestWorkerHandle;
let dir: string;

beforeAll(async () => {
  stack = await startConsoleStack();
  const { h } = stack;
  owner = await stack.signInUser('upload-owner');
  // the pipeline `npm start` runs: outbox relay → BullMQ → ingest worker, on the same database and storage
  publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: h.redisUrl }, 'producer'),
    prefix: h.prefix,
  });
  relay = new OutboxRelay({ db: h.tdb.db, databaseUrl: h.tdb.url, publisher, pollIntervalMs: 100 });
  relay.start();
  worker = startIngestWorker({
    config: {
      REDIS_URL: h.redisUrl,
      QUEUE_PREFIX: h.prefix,
      INGEST_CONCURRENCY: 1,
      INGEST_MAX_PIXELS: 100_000_000,
      INGEST_KEEP_FAILED_ORIGINALS: true,
    },
    db: h.tdb.db,
    storage: stack.storage,
    logger: createLogger({ service: 'console-upload-test', level: 'silent' }),
  });
  dir = mkdtempSync(join(tmpdir(), 'immish-console-upload-'));
});

afterAll(async () => {
  await relay?.stop();
  await worker?.close();
  await publisher?.close();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A JPEG of noise: big (it does not compress) so that a throttled upload reports progress several times. */
async function noisyJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
}

// real Chromium and a real ingest worker on a CI runner shared with other test files: generous, not a timing assertion
describe('uploading from the owner console in Chromium', { timeout: 180_000 }, () => {
  it('should upload by picker and by drop with per-file progress, then each asset status in the grid: ready or failed with its reason', async () => {
    const files = {
      'harbour.jpg': await noisyJpeg(1000, 800),
      'sunset.jpg': await photoJpeg(1),
      'not-a-photo.jpg': Buffer.from('this is text, whatever its name says\n'.repeat(20)),
    };
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    const dropped = await photoJpeg(2, { width: 900, height: 600 });

    const { page, context, problems } = await stack.newPage();
    await signIn(page, stack.consoleUrl, owner.email);
    expect(await page.locator('#library-empty').textContent()).toContain('No photos yet');
    expect(await seriousViolations(page)).toEqual([]);

    // a slow uplink, so the bars have something to show (Chromium's own network emulation)
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: 400 * 1024,
    });
    // what the bars showed, sampled in the page
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      setInterval(() => {
        for (const p of document.querySelectorAll('progress')) seen.push((p as HTMLProgressElement).value);
      }, 25);
    });

    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Upload' }).click();
    await (await chooser).setFiles(Object.keys(files).map((n) => join(dir, n)));
    const rows = page.locator('#upload-list li');
    await expect.poll(() => rows.count()).toBe(3);
    await consoleScreenshot(page, 'desktop-20-uploading');
    await expect
      .poll(() => rows.locator('.upload-state').allTextContents(), { timeout: 60_000 })
      .toEqual(['Uploaded', 'Uploaded', 'Uploaded']);
    const seen = (await page.evaluate(() => (window as unknown as { seen: number[] }).seen)) as number[];
    expect(seen.some((v) => v > 0 && v < 1)).toBe(true);
    expect(await rows.locator('progress').evaluateAll((ps) => ps.map((p) => (p as HTMLProgressElement).value))).toEqual(
      [1, 1, 1],
    );
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });

    // drag and drop onto the library
    await page.evaluate(
      ({ base64, name }) => {
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, { type: 'image/jpeg' }));
        const main = document.querySelector('main')!;
        main.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
        main.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      },
      { base64: dropped.toString('base64'), name: 'dropped.jpg' },
    );
    await expect.poll(() => rows.count()).toBe(4);
    await expect.poll(() => rows.nth(3).locator('.upload-state').textContent()).toBe('Uploaded');

    // the grid: four new tiles; the photos become thumbnails, the text file fails with its reason
    const tiles = page.locator('#grid li');
    expect(await tiles.count()).toBe(4);
    await expect.poll(() => page.locator('#grid li.status-ready').count(), { timeout: 60_000, interval: 250 }).toBe(3);
    await expect.poll(() => page.locator('#grid li.status-failed').count(), { timeout: 60_000 }).toBe(1);
    const failed = await page.locator('#grid li.status-failed .status').textContent();
    expect(failed).toMatch(/^Failed: .+/);
    await thumbnailsLoaded(page);
    // a thumbhash placeholder under each thumbnail while it loads
    expect(await page.locator('#grid li.status-ready img.placeholder').count()).toBe(3);
    const rowsInDb = await stack.h.tdb.db
      .selectFrom('assets')
      .select(['original_file_name', 'status'])
      .where('owner_id', '=', owner.id)
      .orderBy('original_file_name')
      .execute();
    expect(rowsInDb).toEqual([
      { original_file_name: 'dropped.jpg', status: 'ready' },
      { original_file_name: 'harbour.jpg', status: 'ready' },
      { original_file_name: 'not-a-photo.jpg', status: 'failed' },
      { original_file_name: 'sunset.jpg', status: 'ready' },
    ]);
    // the uploaded tiles select like the others
    await page.locator('#grid input.pick').first().click();
    await page
      .locator('#grid input.pick')
      .nth(2)
      .click({ modifiers: ['Shift'] });
    await expect.poll(() => page.locator('#selection-count').textContent()).toBe('3 photos selected');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-21-uploaded');

    // after a reload the server renders the same statuses
    await page.reload();
    await page.waitForSelector('body.page-library[data-ready="true"]');
    expect(await page.locator('#grid li.status-ready').count()).toBe(3);
    expect(await page.locator('#grid li.status-failed .status').textContent()).toBe(failed);

    const phone = await stack.newPage(PHONE, () => page.context().storageState());
    await phone.page.goto(stack.consoleUrl);
    await phone.page.waitForSelector('body.page-library[data-ready="true"]');
    await thumbnailsLoaded(phone.page);
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await consoleScreenshot(phone.page, 'phone-21-uploaded');

    expect([...problems, ...phone.problems]).toEqual([]);
  });
});
