import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AssetRow } from '@immish/db';
import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { createLogger, createRedis } from '@immish/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExportWorker, startExportWorker } from '../../export-worker/src/worker.ts';
import { type ConsoleStack, consoleScreenshot, PHONE, signIn, startConsoleStack } from './console-kit.ts';
import type { TestUser } from './harness.ts';

/**
 * Issue 15 item 1 in Debian's Chromium: the library's "Share files…" hands the selected originals to the system share
 * sheet (here `navigator.share` replaced by a recorder, as headless Chromium has none that shares files), and
 * without one offers a dialog whose zip comes from the real export worker (outbox relay → BullMQ).
 */

let stack: ConsoleStack;
let owner: TestUser;
let photos: AssetRow[];
let relay: OutboxRelay;
let publisher: BullEventPublisher;
let exporter: ExportWorker;

beforeAll(async () => {
  stack = await startConsoleStack();
  const { h } = stack;
  owner = await stack.signInUser('share-sheet-owner');
  photos = await stack.addPhotos(owner, 3);
  publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: h.redisUrl }, 'producer'),
    prefix: h.prefix,
  });
  relay = new OutboxRelay({ db: h.tdb.db, databaseUrl: h.tdb.url, publisher, pollIntervalMs: 100 });
  relay.start();
  exporter = await startExportWorker({
    config: {
      REDIS_URL: h.redisUrl,
      QUEUE_PREFIX: h.prefix,
      EXPORT_CONCURRENCY: 1,
      EXPORT_TTL_HOURS: 1,
      EXPORT_CLEANUP_INTERVAL_MS: 3_600_000,
      EXPORT_LOCK_DURATION_MS: 30_000,
      EXPORT_READ_BYTES_PER_SECOND: 0,
    },
    db: h.tdb.db,
    storage: stack.storage,
    logger: createLogger({ service: 'console-share-sheet-test', level: 'silent' }),
  });
});

afterAll(async () => {
  await relay?.stop();
  await exporter?.close();
  await publisher?.close();
  await stack?.close();
});

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const byName = (rows: AssetRow[]) => new Map(rows.map((r) => [r.original_file_name, r]));

describe('the library share sheet in Chromium', { timeout: 180_000 }, () => {
  it('should hand the selected originals themselves to navigator.share, and create no link', async () => {
    const { page, context, problems } = await stack.newPage(PHONE);
    await context.addInitScript(() => {
      const w = window as unknown as { shared: { name: string; type: string; base64: string }[] | null };
      w.shared = null;
      navigator.canShare = (data?: ShareData) => Array.isArray(data?.files);
      navigator.share = async (data?: ShareData) => {
        const out = [];
        for (const f of data?.files ?? []) {
          let s = '';
          for (const b of new Uint8Array(await f.arrayBuffer())) s += String.fromCharCode(b);
          out.push({ name: f.name, type: f.type, base64: btoa(s) });
        }
        w.shared = out;
      };
    });
    await signIn(page, stack.consoleUrl, owner.email);
    // nothing selected: nothing to share
    expect(await page.getByRole('button', { name: 'Share files…' }).isDisabled()).toBe(true);
    await page.locator('#grid input.pick').nth(0).click();
    await page.locator('#grid input.pick').nth(2).click();
    expect(await page.getByRole('button', { name: 'Share files…' }).isDisabled()).toBe(false);
    await page.getByRole('button', { name: 'Share files…' }).click();
    const shared = (await page.waitForFunction(() => (window as unknown as { shared: unknown }).shared)).jsonValue();
    const files = (await shared) as { name: string; type: string; base64: string }[];
    expect(files).toHaveLength(2);
    const rows = byName(photos);
    for (const f of files) {
      const row = rows.get(f.name);
      expect(row, f.name).toBeDefined();
      expect(f.type).toBe('image/jpeg');
      expect(sha1(Buffer.from(f.base64, 'base64'))).toBe(row!.checksum.toString('hex'));
    }
    await consoleScreenshot(page, 'phone-34-share-sheet-handed-over');
    const links = await stack.h.tdb.db
      .selectFrom('shared_links')
      .select('id')
      .where('owner_id', '=', owner.id)
      .execute();
    expect(links).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('should offer download as a zip from the export worker where the browser cannot share files', async () => {
    const { page, problems } = await stack.newPage(PHONE);
    await page.context().addInitScript(() => {
      Object.defineProperty(navigator, 'canShare', { value: undefined });
    });
    await signIn(page, stack.consoleUrl, owner.email);
    for (let i = 0; i < 3; i++) await page.locator('#grid input.pick').nth(i).click();
    await page.getByRole('button', { name: 'Share files…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Share' });
    await dialog.waitFor();
    expect(await dialog.getByRole('button').allTextContents()).toEqual([
      'Download 3 photos as a zip',
      'Copy a new link',
      'Email',
      'Close',
    ]);
    // a sheet: the three ways one per row, each as wide as the others; Close is the outlined button
    const boxes = await dialog
      .locator('.sheet-options button')
      .evaluateAll((els) =>
        els.map((el) => el.getBoundingClientRect()).map((r) => ({ left: r.left, top: r.top, width: r.width })),
      );
    expect(boxes).toHaveLength(3);
    for (const b of boxes.slice(1)) expect(b).toMatchObject({ left: boxes[0]!.left, width: boxes[0]!.width });
    expect(new Set(boxes.map((b) => b.top)).size).toBe(3);
    expect(
      await dialog.getByRole('button', { name: 'Close' }).evaluate((el) => getComputedStyle(el).backgroundColor),
    ).toBe('rgba(0, 0, 0, 0)');
    await consoleScreenshot(page, 'phone-35-share-sheet-fallback');
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      dialog.getByRole('button', { name: 'Download 3 photos as a zip' }).click(),
    ]);
    // Info-ZIP's unzip (as the share page's transfer test): the archive tests valid, and holds the three originals
    const file = (await download.path())!;
    execFileSync('unzip', ['-tq', file]);
    const out = mkdtempSync(join(tmpdir(), 'immish-share-sheet-'));
    try {
      execFileSync('unzip', ['-q', '-o', file, '-d', out]);
      const names = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      expect(names).toHaveLength(3);
      const checksums = names.map((e) => sha1(readFileSync(join(e.parentPath, e.name)))).sort();
      expect(checksums).toEqual(photos.map((p) => p.checksum.toString('hex')).sort());
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    expect(problems).toEqual([]);
  });

  /** The owner's links: id, key and their asset ids. */
  async function linksOf() {
    const db = stack.h.tdb.db;
    const links = await db.selectFrom('shared_links').select(['id', 'key']).where('owner_id', '=', owner.id).execute();
    const out: { id: string; key: string; assetIds: string[] }[] = [];
    for (const l of links) {
      const rows = await db.selectFrom('shared_link_assets').select('asset_id').where('link_id', '=', l.id).execute();
      out.push({ ...l, assetIds: rows.map((r) => r.asset_id).sort() });
    }
    return out;
  }

  /** A browser without file sharing, its `mailto:` clicks recorded instead of leaving the page. */
  async function fallbackPage() {
    const { page, context, problems } = await stack.newPage(PHONE);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.consoleUrl });
    await context.addInitScript(() => {
      Object.defineProperty(navigator, 'canShare', { value: undefined });
      const w = window as unknown as { mailto: string[] };
      w.mailto = [];
      const click = HTMLAnchorElement.prototype.click;
      HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
        if (this.href.startsWith('mailto:')) w.mailto.push(this.href);
        else click.call(this);
      };
    });
    await signIn(page, stack.consoleUrl, owner.email);
    return { page, problems };
  }

  it('should create exactly one link on "Copy a new link", its URL on the clipboard', async () => {
    for (const l of await linksOf()) await stack.h.tdb.db.deleteFrom('shared_links').where('id', '=', l.id).execute();
    const { page, problems } = await fallbackPage();
    await page.locator('#grid input.pick').nth(0).click();
    await page.locator('#grid input.pick').nth(1).click();
    const picked = await page.$$eval('#grid input.pick:checked', (els) =>
      els.map((el) => (el as HTMLInputElement).value),
    );
    await page.getByRole('button', { name: 'Share files…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Share' });
    await dialog.waitFor();
    expect(await linksOf()).toEqual([]); // opening the dialog makes nothing
    await dialog.getByRole('button', { name: 'Copy a new link' }).click();
    await page.waitForFunction(() => document.getElementById('share-sheet-status')?.textContent === 'Link copied');
    const links = await linksOf();
    expect(links).toHaveLength(1);
    expect(links[0]!.assetIds).toEqual([...picked].sort());
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    expect(clip).toContain(links[0]!.key);
    expect(clip.startsWith(stack.gatewayUrl)).toBe(true);
    await consoleScreenshot(page, 'phone-36-share-sheet-copied');
    expect(problems).toEqual([]);
  });

  it('should create the link only when "Email" is chosen, the mailto: carrying it', async () => {
    for (const l of await linksOf()) await stack.h.tdb.db.deleteFrom('shared_links').where('id', '=', l.id).execute();
    const { page, problems } = await fallbackPage();
    await page.locator('#grid input.pick').nth(2).click();
    await page.getByRole('button', { name: 'Share files…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Share' });
    await dialog.waitFor();
    expect(await linksOf()).toEqual([]);
    await dialog.getByRole('button', { name: 'Email' }).click();
    const mailto = (await (
      await page.waitForFunction(() => (window as unknown as { mailto: string[] }).mailto[0])
    ).jsonValue()) as string;
    const links = await linksOf();
    expect(links).toHaveLength(1);
    expect(links[0]!.assetIds).toHaveLength(1);
    expect(mailto.startsWith('mailto:?')).toBe(true);
    const body = new URLSearchParams(mailto.slice('mailto:?'.length)).get('body') ?? '';
    expect(body).toContain(links[0]!.key);
    expect(body.startsWith(stack.gatewayUrl)).toBe(true);
    expect(problems).toEqual([]);
  });
});
