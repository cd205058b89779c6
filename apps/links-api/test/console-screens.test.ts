import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleStack, consoleScreenshot, seriousViolations, signIn, startConsoleStack } from './console-kit.ts';
import type { TestUser } from './harness.ts';

/**
 * Issue 14 items 6 and 7: every screen and dialog of the owner console at the narrowest phone width the issue names (360 px; the
 * other console tests run at 390) and on
 * a desktop, each saved as a screenshot under test-results/screenshots/console/ (`<width>-<nn>-<screen>.png`) and
 * scanned by axe-core (no serious or critical violation) — including the album as a viewer sees it, the pages
 * that work without JavaScript, an upload in progress, and what the recipient of an album link sees.
 */

let stack: ConsoleStack;
let owner: TestUser;
let viewer: TestUser;
let dir: string;
let albumId: string;
let photosLinkId: string;
let albumLinkUrl: string;

beforeAll(async () => {
  stack = await startConsoleStack();
  const h = stack.h;
  owner = await stack.signInUser('screens-owner');
  viewer = await stack.signInUser('screens-viewer');
  const photos = await stack.addPhotos(owner, 4);
  const api = async (method: 'POST' | 'PUT', url: string, payload: object) =>
    (await h.app.inject({ method, url, headers: owner.headers, payload })).json();
  albumId = (
    await api('POST', '/api/albums', {
      albumName: 'Screens album',
      description: 'Every screen, every width',
      assetIds: photos.slice(0, 3).map((p) => p.id),
    })
  ).id;
  await api('PUT', `/api/albums/${albumId}/users`, { albumUsers: [{ userId: viewer.id, role: 'viewer' }] });
  albumLinkUrl = (
    await api('POST', '/api/shared-links', {
      type: 'ALBUM',
      albumId,
      description: 'Family album',
      allowUpload: true,
      allowDownload: true,
    })
  ).url;
  photosLinkId = (
    await api('POST', '/api/shared-links', {
      type: 'INDIVIDUAL',
      assetIds: photos.slice(1, 3).map((p) => p.id),
      description: 'Two photos',
      password: 'secret words',
      expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    })
  ).id;
  dir = mkdtempSync(join(tmpdir(), 'console-screens-'));
  // noise does not compress: big enough that a throttled upload is still running when the screenshot is taken
  const noise = await sharp(randomBytes(1200 * 900 * 3), { raw: { width: 1200, height: 900, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
  writeFileSync(join(dir, 'big.jpg'), noise);
});

afterAll(async () => {
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const WIDTHS = [
  { label: '360', viewport: { width: 360, height: 780 } },
  { label: 'desktop', viewport: { width: 1280, height: 860 } },
];

// real Chromium on a CI runner shared with other test files: generous, not a timing assertion
describe('every console screen at phone and desktop widths', { timeout: 300_000 }, () => {
  for (const { label, viewport } of WIDTHS) {
    it(`should render each screen and dialog at ${label} with no serious axe-core violation`, async () => {
      const found: string[] = [];
      const shot = async (page: Page, n: string, name: string) => {
        await consoleScreenshot(page, `${label}-${n}-${name}`);
        for (const v of await seriousViolations(page)) found.push(`${name}: ${v}`);
        // nothing wider than the screen: no sideways scrolling on a phone
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        if (overflow > 0) found.push(`${name}: ${overflow}px wider than the viewport`);
        // every field one types into or picks from is a 44 px touch target, as the console's CSS makes them (WCAG
        // 2.5.5): a field type the CSS forgot renders as the browser's own small box (the limits and the upload
        // budget, type=number, did)
        const small = await page.evaluate(() =>
          [
            ...document.querySelectorAll<HTMLElement>(
              'input:not([type="checkbox"]):not([type="radio"]):not([type="hidden"]):not([type="file"]), select',
            ),
          ]
            .filter((el) => el.getClientRects().length > 0 && el.getBoundingClientRect().height < 43.5)
            .map((el) => `#${el.id || el.getAttribute('name')} ${Math.round(el.getBoundingClientRect().height)}px`),
        );
        for (const field of small) found.push(`${name}: ${field} tall, under 44 px`);
      };
      const ready = (page: Page) => page.waitForSelector('body[data-ready="true"]');
      const { page, context, problems } = await stack.newPage(viewport);
      const url = stack.consoleUrl;

      await page.goto(`${url}/`);
      await ready(page);
      await shot(page, '01', 'sign-in');
      await signIn(page, url, owner.email);
      await shot(page, '02', 'library');
      const picks = page.locator('input.pick');
      await picks.nth(0).check();
      await picks.nth(2).check();
      await shot(page, '03', 'library-selection');
      await page.getByRole('button', { name: 'Share link', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Create Shared Link' });
      await dialog.waitFor();
      await shot(page, '04', 'create-link-dialog');
      await dialog.getByLabel('Description').fill(`Made at ${label}`);
      await dialog.getByRole('button', { name: 'Create Link' }).click();
      await page.locator('#cl-result:not([hidden])').waitFor();
      await page.locator('#cl-qr svg').waitFor();
      await shot(page, '05', 'link-created-dialog');
      await page.getByRole('button', { name: 'Done' }).click();

      // an upload in progress, on a slow uplink (Chromium's network emulation)
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: 40 * 1024,
      });
      await page.locator('#upload-files').setInputFiles(join(dir, 'big.jpg'));
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLProgressElement>('#upload-list progress')].some(
          (p) => p.value > 0 && p.value < p.max,
        ),
      );
      await shot(page, '06', 'upload-in-progress');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });

      await page.goto(`${url}/?addTo=${photosLinkId}`);
      await ready(page);
      await shot(page, '07', 'library-adding-to-link');

      await page.goto(`${url}/albums`);
      await ready(page);
      await shot(page, '10', 'albums');
      await page.getByText('New album').click();
      await shot(page, '11', 'albums-new-album');
      await page.getByRole('button', { name: 'Share album Screens album' }).click();
      await page.getByRole('dialog', { name: 'Create Shared Link' }).waitFor();
      await shot(page, '12', 'album-link-dialog');
      // the moderation options follow Allow Upload: unavailable while guests cannot upload
      const albumDialog = page.getByRole('dialog', { name: 'Create Shared Link' });
      const moderation = [albumDialog.getByLabel('Review guest uploads'), albumDialog.getByLabel('Upload budget (MB)')];
      for (const field of moderation) expect(await field.isDisabled()).toBe(true);
      await albumDialog.getByLabel('Allow Upload').check();
      for (const field of moderation) expect(await field.isEnabled()).toBe(true);
      await albumDialog.getByLabel('Allow Upload').uncheck();
      for (const field of moderation) expect(await field.isDisabled()).toBe(true);
      await page.keyboard.press('Escape');

      await page.goto(`${url}/albums/${albumId}`);
      await ready(page);
      await page.getByText('Details').click();
      await shot(page, '13', 'album-owner');

      await page.goto(`${url}/links`);
      await ready(page);
      await shot(page, '20', 'links');
      await page.getByRole('button', { name: 'QR code of Family album' }).click();
      await page.getByRole('dialog', { name: 'QR code' }).waitFor();
      await shot(page, '21', 'link-qr-dialog');
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Edit Two photos' }).click();
      await page.getByRole('dialog', { name: 'Edit Shared Link' }).waitFor();
      await shot(page, '22', 'edit-link-dialog');
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Photos of Two photos' }).click();
      await page.getByRole('dialog', { name: 'Photos of this link' }).waitFor();
      await shot(page, '23', 'link-photos-dialog');
      await page.keyboard.press('Escape');
      await page.getByRole('button', { name: 'Delete Two photos' }).click();
      await page.getByRole('dialog', { name: 'Delete this link?' }).waitFor();
      await shot(page, '24', 'delete-link-dialog');
      await page.keyboard.press('Escape');

      // the pages made for browsers without JavaScript look the same with it
      await page.goto(`${url}/links/new?albumId=${albumId}`);
      await ready(page);
      await shot(page, '30', 'create-link-page');
      await page.getByLabel('Description').fill(`Page form at ${label}`);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create Link' }).click()]);
      await ready(page);
      await shot(page, '31', 'link-created-page');
      await page.goto(`${url}/links/${photosLinkId}/edit`);
      await ready(page);
      await shot(page, '32', 'edit-link-page');
      await page.goto(`${url}/links/${photosLinkId}/delete`);
      await ready(page);
      await shot(page, '33', 'delete-link-page');
      await page.goto(`${url}/links?notice=linkSaved`);
      await ready(page);
      await shot(page, '34', 'links-with-notice');

      // the album as its viewer sees it
      const other = await stack.newPage(viewport);
      await signIn(other.page, url, viewer.email);
      await other.page.goto(`${url}/albums/${albumId}`);
      await ready(other.page);
      expect(await other.page.locator('#invite-form').count()).toBe(0);
      await shot(other.page, '40', 'album-as-viewer');

      // and what the recipient of the album link sees, in a browser that never signed in
      const recipient = await stack.newPage(viewport);
      await recipient.page.goto(albumLinkUrl);
      await recipient.page.waitForLoadState('load');
      await shot(recipient.page, '50', 'recipient-album-link');

      expect(found).toEqual([]);
      expect([...problems, ...other.problems, ...recipient.problems]).toEqual([]);
    });
  }
});
