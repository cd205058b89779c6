import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { createLogger, createRedis } from '@immish/runtime';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestWorkerHandle, startIngestWorker } from '../../ingest-worker/src/worker.ts';
import { photoJpeg } from '../../share-gateway/test/browser-kit.ts';
import {
  type ConsoleStack,
  consoleScreenshot,
  OWNER_PASSWORD,
  PHONE,
  signIn,
  startConsoleStack,
  untilControlled,
} from './console-kit.ts';
import type { TestUser } from './harness.ts';

/**
 * Issue 15 items 2–4 in Debian's Chromium: the console as an installable PWA whose service worker is a Web Share
 * Target. A phone's share is a multipart form POST navigation to the manifest's `share_target.action`; here a
 * form submitted in the page makes the same navigation, so the service worker (not the server) receives it.
 * Then the "Upload to immish" screen, one upload batch into an album, and the real ingest worker behind it.
 */

let stack: ConsoleStack;
let owner: TestUser;
let relay: OutboxRelay;
let publisher: BullEventPublisher;
let worker: IngestWorkerHandle;

beforeAll(async () => {
  stack = await startConsoleStack();
  const { h } = stack;
  owner = await stack.signInUser('share-target-owner');
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
    logger: createLogger({ service: 'console-share-target-test', level: 'silent' }),
  });
});

afterAll(async () => {
  await relay?.stop();
  await worker?.close();
  await publisher?.close();
  await stack?.close();
});

/** What a phone's share sheet does: a multipart POST navigation to the share target, files in the `media` field. */
async function shareFromAnotherApp(page: Page, files: { name: string; type: string; bytes: Buffer }[]): Promise<void> {
  const manifest = (await page.evaluate(async () => (await fetch('/manifest.webmanifest')).json())) as {
    share_target: { action: string; params: { files: { name: string }[] } };
  };
  await Promise.all([
    page.waitForURL(/\/share-target\?shared=/),
    page.evaluate(
      ({ action, field, files }) => {
        const form = document.createElement('form');
        form.method = 'post';
        form.enctype = 'multipart/form-data';
        form.action = action;
        const input = document.createElement('input');
        input.type = 'file';
        input.name = field;
        input.multiple = true;
        const data = new DataTransfer();
        for (const f of files)
          data.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name, { type: f.type }));
        input.files = data.files;
        form.append(input);
        document.body.append(form);
        form.submit();
      },
      {
        action: manifest.share_target.action,
        field: manifest.share_target.params.files[0]!.name,
        files: files.map((f) => ({ name: f.name, type: f.type, base64: f.bytes.toString('base64') })),
      },
    ),
  ]);
  await page.waitForSelector('body.page-share-target[data-ready="true"]');
}

describe('the console as a PWA share target in Chromium', { timeout: 180_000 }, () => {
  it('should serve a manifest Chromium finds installable, with a share target for images and videos', async () => {
    const { page, context, problems } = await stack.newPage(PHONE);
    await page.goto(stack.consoleUrl);
    await page.waitForSelector('body[data-ready="true"]');
    await untilControlled(page);
    const manifest = (await page.evaluate(async () => (await fetch('/manifest.webmanifest')).json())) as {
      name: string;
      start_url: string;
      display: string;
      icons: { src: string; sizes: string; type: string }[];
      share_target: Record<string, unknown>;
    };
    expect(manifest.name).toBe('immish');
    expect(manifest.start_url).toBe('/');
    expect(manifest.display).toBe('standalone');
    expect(manifest.share_target).toEqual({
      action: '/share-target',
      method: 'POST',
      enctype: 'multipart/form-data',
      params: { files: [{ name: 'media', accept: ['image/*', 'video/*'] }] },
    });
    for (const size of [192, 512]) {
      const icon = manifest.icons.find((i) => i.sizes === `${size}x${size}`);
      expect(icon?.type).toBe('image/png');
      const res = await fetch(`${stack.consoleUrl}${icon!.src}`);
      expect(res.headers.get('content-type')).toBe('image/png');
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', size, size]);
    }
    // Chromium's own verdict: what the browser checks before it offers "Install app"
    const cdp = await context.newCDPSession(page);
    const { url, errors } = (await cdp.send('Page.getAppManifest')) as { url: string; errors: unknown[] };
    expect(url).toBe(`${stack.consoleUrl}/manifest.webmanifest`);
    expect(errors).toEqual([]);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
      installabilityErrors: { errorId: string }[];
    };
    // Playwright's browser contexts are incognito profiles, where Chromium never installs: that is the one error
    // it may report; the manifest, icons, service worker and start_url raise none
    expect(installabilityErrors.map((e) => e.errorId).filter((id) => id !== 'in-incognito')).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('should take three shared photos to the upload screen, then upload them into the chosen album', async () => {
    const { page, problems } = await stack.newPage(PHONE);
    await signIn(page, stack.consoleUrl, owner.email);
    await untilControlled(page);
    const album = (await page.evaluate(async () => {
      const res = await fetch('/api/albums', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ albumName: 'Holidays' }),
      });
      return res.json();
    })) as { id: string };

    const photos = await Promise.all([photoJpeg(11), photoJpeg(12), photoJpeg(13)]);
    await shareFromAnotherApp(
      page,
      photos.map((bytes, i) => ({ name: `shared-${i + 1}.jpg`, type: 'image/jpeg', bytes })),
    );
    const previews = page.locator('#share-previews li');
    await expect.poll(() => previews.count()).toBe(3);
    expect(await previews.locator('.share-name').allTextContents()).toEqual([
      'shared-1.jpg',
      'shared-2.jpg',
      'shared-3.jpg',
    ]);
    expect(await page.locator('#share-count').textContent()).toBe('3 photos ready to upload');
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('#share-previews img')].every((i) => i.naturalWidth > 0),
    );
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    // one primary action: Upload is the console's filled button, Cancel its outlined one (as in its dialogs)
    const fill = (id: string) => page.locator(id).evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(await fill('#share-cancel')).toBe('rgba(0, 0, 0, 0)');
    expect(await fill('#share-upload')).not.toBe('rgba(0, 0, 0, 0)');
    expect(await fill('#share-pick')).toBe('rgba(0, 0, 0, 0)'); // files are here: choosing more is secondary
    await consoleScreenshot(page, 'phone-30-share-target');

    await page.getByLabel('Add to Album (optional)').selectOption({ label: 'Holidays' });
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect
      .poll(() => page.locator('#share-progress .upload-state').allTextContents(), { timeout: 60_000, interval: 250 })
      .toEqual(['Uploaded', 'Uploaded', 'Uploaded']);
    expect(await page.locator('#share-count').textContent()).toBe('3 of 3 uploaded');
    expect(await page.getByRole('button', { name: 'Back' }).isVisible()).toBe(true);
    await consoleScreenshot(page, 'phone-31-share-uploaded');

    const inAlbum = await stack.h.tdb.db
      .selectFrom('album_assets')
      .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
      .select(['assets.original_file_name', 'assets.status'])
      .where('album_assets.album_id', '=', album.id)
      .orderBy('assets.original_file_name')
      .execute();
    expect(inAlbum).toEqual([
      { original_file_name: 'shared-1.jpg', status: 'ready' },
      { original_file_name: 'shared-2.jpg', status: 'ready' },
      { original_file_name: 'shared-3.jpg', status: 'ready' },
    ]);

    // the service worker cached the app shell and nothing else: no page, no /api answer, no photo; the inbox is empty
    const cached = (await page.evaluate(async () => {
      const out: Record<string, string[]> = {};
      for (const name of await caches.keys())
        out[name] = (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
      return out;
    })) as Record<string, string[]>;
    const names = Object.keys(cached);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^immish-shell-/);
    expect(cached[names[0]!]!.sort()).toEqual([
      '/static/console.css',
      '/static/console.js',
      '/static/share-screen.css',
      '/static/share-screen.js',
    ]);
    expect(problems).toEqual([]);
  });

  it('should upload the shared files into a new album made on the screen ("New album…")', async () => {
    const { page, problems } = await stack.newPage(PHONE);
    await signIn(page, stack.consoleUrl, owner.email);
    await untilControlled(page);
    const photos = await Promise.all([photoJpeg(21), photoJpeg(22)]);
    await shareFromAnotherApp(
      page,
      photos.map((bytes, i) => ({ name: `beach-${i + 1}.jpg`, type: 'image/jpeg', bytes })),
    );
    expect(await page.locator('#share-count').textContent()).toBe('2 photos ready to upload');
    const before = await stack.h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', owner.id).execute();
    await page.getByLabel('Add to Album (optional)').selectOption({ label: 'New album…' });
    await page.getByLabel('New album name').fill('Beach 2026');
    await consoleScreenshot(page, 'phone-32-share-new-album');
    await page.getByRole('button', { name: 'Upload' }).click();
    await expect
      .poll(() => page.locator('#share-progress .upload-state').allTextContents(), { timeout: 60_000, interval: 250 })
      .toEqual(['Uploaded', 'Uploaded']);
    const albums = await stack.h.tdb.db
      .selectFrom('albums')
      .select(['id', 'name'])
      .where('owner_id', '=', owner.id)
      .where(
        'id',
        'not in',
        before.map((a) => a.id),
      )
      .execute();
    expect(albums.map((a) => a.name)).toEqual(['Beach 2026']);
    const inAlbum = await stack.h.tdb.db
      .selectFrom('album_assets')
      .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
      .select('assets.original_file_name')
      .where('album_assets.album_id', '=', albums[0]!.id)
      .orderBy('assets.original_file_name')
      .execute();
    expect(inAlbum.map((r) => r.original_file_name)).toEqual(['beach-1.jpg', 'beach-2.jpg']);
    expect(problems).toEqual([]);
  });

  it('should keep the files of a share received while signed out until the owner signs in', async () => {
    const { page, problems } = await stack.newPage(PHONE);
    await page.goto(stack.consoleUrl);
    await page.waitForSelector('body[data-ready="true"]');
    await untilControlled(page);
    const heic = Buffer.from('not really HEIC, but named so');
    await shareFromAnotherApp(page, [
      { name: 'later.jpg', type: 'image/jpeg', bytes: await photoJpeg(14) },
      { name: 'IMG_0001.HEIC', type: 'image/heic', bytes: heic },
    ]);
    expect(await page.locator('#share-waiting').textContent()).toBe('2 photos ready to upload');
    await consoleScreenshot(page, 'phone-32-share-signed-out');

    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(OWNER_PASSWORD);
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
    await page.waitForSelector('#share-previews');
    await page.waitForSelector('body.page-share-target[data-ready="true"]');
    expect(await page.locator('#share-count').textContent()).toBe('2 photos ready to upload');
    expect(await page.locator('#share-previews .share-name').allTextContents()).toEqual(['later.jpg', 'IMG_0001.HEIC']);
    // a HEIC the browser cannot draw: its name and an icon, no broken image
    expect(await page.locator('#share-previews li').nth(1).locator('img').count()).toBe(0);
    expect(await page.locator('#share-previews li').nth(1).locator('.share-icon').count()).toBe(1);
    await consoleScreenshot(page, 'phone-33-share-after-sign-in');

    // Cancel drops them: the inbox is gone, the library is next
    await Promise.all([page.waitForURL(`${stack.consoleUrl}/`), page.getByRole('button', { name: 'Cancel' }).click()]);
    expect(await page.evaluate(() => caches.has('immish-share-inbox'))).toBe(false);
    expect(problems).toEqual([]);
  });

  it('should answer a share POST that no service worker took with the screen saying to share again', async () => {
    const form = new FormData();
    form.append('media', new Blob([new Uint8Array(await photoJpeg(15))], { type: 'image/jpeg' }), 'a.jpg');
    const res = await fetch(`${stack.consoleUrl}/share-target`, { method: 'POST', body: form, redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/share-target?lost=1');
    const count = await stack.h.tdb.db
      .selectFrom('assets')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('original_file_name', '=', 'a.jpg')
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(0);
  });
});
