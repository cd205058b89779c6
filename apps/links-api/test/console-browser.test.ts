import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AssetRow } from '@immish/db';
import jsQRModule from 'jsqr';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleStack,
  consoleScreenshot,
  OWNER_PASSWORD,
  seriousViolations,
  signIn as signInAs,
  startConsoleStack,
  thumbnailsLoaded,
} from './console-kit.ts';
import type { LinksApiHarness, TestUser } from './harness.ts';

/**
 * Issue 14 items 1, 3, 6, 7 in Debian's Chromium (playwright-core, like the share page's tests): sign in to the
 * owner console, select photos (click, Shift-click, select all), create an INDIVIDUAL link through the Create
 * Shared Link form with every option, decode its QR code from a screenshot with jsQR, open the link as a
 * recipient in a second browser context on the real share gateway (password prompt, no download), a cross-site
 * form post refused with 403, sign-out ending the session, axe-core on every screen, and phone-width (360 px)
 * and desktop screenshots under test-results/screenshots/console/.
 */

let stack: ConsoleStack;
let h: LinksApiHarness;
let attacker: Server;
let owner: TestUser;
let consoleUrl: string;
let gatewayUrl: string;
let attackerUrl: string;
let photos: AssetRow[];
// jsqr is CommonJS with a default export: ESM sees the module object or the function, depending on the loader
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (
  data: Uint8ClampedArray,
  width: number,
  height: number,
) => { data: string } | null;

beforeAll(async () => {
  stack = await startConsoleStack();
  ({ h, consoleUrl, gatewayUrl } = stack);

  // another origin of the same site (127.0.0.1, another port): its requests carry the Lax cookie
  attacker = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(`<!doctype html><title>win a prize</title>
<form method="post" action="${consoleUrl}/api/albums" enctype="text/plain">
<input type="hidden" name='{"albumName":"planted","x":"' value='"}'><button id="go">Claim</button></form>`);
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
  attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
  stack.allowedOrigins.push(attackerUrl);

  owner = await stack.signInUser('console-owner');
  photos = await stack.addPhotos(owner, 5);
});

afterAll(async () => {
  await new Promise((r) => attacker?.close(r));
  await stack?.close();
});

const newPage = (...args: Parameters<ConsoleStack['newPage']>) => stack.newPage(...args);
const signIn = (page: Page) => signInAs(page, consoleUrl, owner.email);

// real Chromium on a CI runner shared with other test files: generous, not a timing assertion
describe('the owner console in Chromium', { timeout: 180_000 }, () => {
  it('should sign in, select photos, create an INDIVIDUAL link with every option, and hand its URL over (QR, Copy)', async () => {
    // a link that already has the slug the owner will try first
    await h.app.inject({
      method: 'POST',
      url: '/api/shared-links',
      headers: owner.headers,
      payload: { type: 'INDIVIDUAL', assetIds: [photos[4]!.id], slug: 'taken-slug' },
    });

    const { page, problems } = await newPage();
    const res = await page.goto(`${consoleUrl}/`);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('body.page-login[data-ready="true"]');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-01-sign-in');

    // a wrong password says so and stays on the form
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill('nope');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toBe('Incorrect email or password');

    await signIn(page);
    await thumbnailsLoaded(page);
    expect(await page.locator('li.tile').count()).toBe(photos.length);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-02-library');

    // selection: click, Shift-click a range, select all, clear
    const picks = page.locator('input.pick');
    await picks.nth(0).click();
    await picks.nth(2).click({ modifiers: ['Shift'] });
    await expect.poll(() => page.locator('#selection-count').textContent()).toBe('3 photos selected');
    await page.getByRole('button', { name: 'Select all' }).click();
    await expect.poll(() => page.locator('#selection-count').textContent()).toBe('5 photos selected');
    await page.getByRole('button', { name: 'Clear selection' }).click();
    expect(await page.getByRole('button', { name: 'Share link', exact: true }).isDisabled()).toBe(true);
    await picks.nth(0).click();
    await picks.nth(1).click({ modifiers: ['Shift'] });
    await expect.poll(() => page.locator('#selection-count').textContent()).toBe('2 photos selected');
    const chosen = [await picks.nth(0).inputValue(), await picks.nth(1).inputValue()];
    await consoleScreenshot(page, 'desktop-03-selection');

    await page.getByRole('button', { name: 'Share link', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Create Shared Link' });
    await dialog.waitFor();
    // the seed's form, by accessible name
    const expires = dialog.getByLabel('Expires');
    expect(await expires.locator('option').allTextContents()).toEqual([
      'Never',
      '30 minutes',
      '1 hour',
      '6 hours',
      '1 day',
      '7 days',
      '30 days',
      '3 months',
      '1 year',
    ]);
    expect(await dialog.getByLabel('Allow Download').isChecked()).toBe(true);
    expect(await dialog.getByLabel('Allow Upload').isChecked()).toBe(false);
    expect(await dialog.getByLabel('Allow Upload').isDisabled()).toBe(true);
    expect(await page.locator('#cl-allow-upload-hint').textContent()).toBe('Only album links can receive uploads.');
    expect(await dialog.getByLabel('Show Metadata').isChecked()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-04-create-link-form');

    // Custom URL, validated as you type
    const slug = dialog.getByLabel('Custom URL');
    await slug.fill('taken-slug');
    await expect.poll(() => page.locator('#cl-slug-status').textContent()).toBe('Already taken');
    await slug.fill('a!');
    await expect.poll(() => slug.getAttribute('aria-invalid')).toBe('true');
    await slug.fill('summer-2026');
    await expect.poll(() => page.locator('#cl-slug-status').textContent()).toBe('Available');

    await dialog.getByLabel('Description').fill('Beach days <b>& friends</b>');
    await expires.selectOption({ label: '7 days' });
    await dialog.getByLabel('Allow Download').uncheck();
    await dialog.getByLabel('Show Metadata').uncheck();
    await dialog.getByLabel('Password').fill('sesame-42');
    const before = Date.now();
    await dialog.getByRole('button', { name: 'Create Link' }).click();

    const url = `${gatewayUrl}/share/summer-2026`;
    await expect.poll(() => page.locator('#cl-url').inputValue()).toBe(url);
    const link = await h.tdb.db
      .selectFrom('shared_links')
      .selectAll()
      .where('slug', '=', 'summer-2026')
      .executeTakeFirstOrThrow();
    expect(link).toMatchObject({
      type: 'INDIVIDUAL',
      description: 'Beach days <b>& friends</b>',
      allow_download: false,
      allow_upload: false,
      show_metadata: false,
    });
    expect(link.password_hash).not.toBeNull();
    const week = 7 * 24 * 3600 * 1000;
    expect(link.expires_at!.getTime()).toBeGreaterThanOrEqual(before + week - 60_000);
    expect(link.expires_at!.getTime()).toBeLessThanOrEqual(Date.now() + week + 60_000);
    const linked = await h.tdb.db
      .selectFrom('shared_link_assets')
      .select('asset_id')
      .where('link_id', '=', link.id)
      .execute();
    expect(linked.map((r) => r.asset_id).sort()).toEqual(chosen.sort());

    // the QR code, drawn in the page, read back from a screenshot by an independent decoder
    const png = await page.locator('#cl-qr').screenshot();
    const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const decoded = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
    expect(decoded?.data).toBe(url);
    // Share only where the browser has the Web Share API
    const hasShare = await page.evaluate(() => typeof navigator.share === 'function');
    expect(await page.locator('#cl-share').isHidden()).toBe(!hasShare);
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Copied' }).count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-05-link-created');

    // the same screens at phone width (360 px), signed in with the same cookies
    const phone = await newPage({ width: 360, height: 780 }, () => page.context().storageState());
    await phone.page.goto(`${consoleUrl}/`);
    await phone.page.waitForSelector('body.page-library[data-ready="true"]');
    await thumbnailsLoaded(phone.page);
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await consoleScreenshot(phone.page, 'phone-02-library');
    // "or drop photos…" where a mouse can drag files, not on a touch screen; Upload on both
    expect(await phone.page.locator('.drop-hint').isVisible()).toBe(true);
    const touch = await newPage({ width: 360, height: 780 }, () => page.context().storageState(), true);
    await touch.page.goto(`${consoleUrl}/`);
    await touch.page.waitForSelector('body.page-library[data-ready="true"]');
    expect(await touch.page.getByRole('button', { name: 'Upload' }).isVisible()).toBe(true);
    expect(await touch.page.locator('.drop-hint').isVisible()).toBe(false);
    await touch.context.close();
    await phone.page.locator('input.pick').nth(3).click();
    await phone.page.getByRole('button', { name: 'Share link', exact: true }).click();
    await phone.page.getByRole('dialog', { name: 'Create Shared Link' }).waitFor();
    expect(await seriousViolations(phone.page)).toEqual([]);
    await consoleScreenshot(phone.page, 'phone-04-create-link-form');
    await phone.page.getByRole('button', { name: 'Create Link' }).click();
    await phone.page.waitForSelector('#cl-result:not([hidden])');
    expect(await seriousViolations(phone.page)).toEqual([]);
    await consoleScreenshot(phone.page, 'phone-05-link-created');
    const signedOut = await newPage({ width: 360, height: 780 });
    await signedOut.page.goto(`${consoleUrl}/`);
    await signedOut.page.waitForSelector('body.page-login[data-ready="true"]');
    await consoleScreenshot(signedOut.page, 'phone-01-sign-in');

    // a recipient opens the URL in another browser: password prompt, then the photos, and no download
    const recipient = await newPage();
    const shared = await recipient.page.goto(url);
    expect(shared?.status()).toBe(401);
    await recipient.page.getByLabel('Password').fill('sesame-42');
    await Promise.all([recipient.page.waitForNavigation(), recipient.page.click('button[type="submit"]')]);
    await recipient.page.waitForSelector('body[data-ready="true"]');
    expect(await recipient.page.locator('li.tile').count()).toBe(2);
    expect(await recipient.page.locator('#download-all').count()).toBe(0);
    await consoleScreenshot(recipient.page, 'desktop-06-recipient-view');

    expect([...problems, ...phone.problems, ...recipient.problems]).toEqual([]);
  });

  it('should create a link without JavaScript: the library form, the server-rendered Create Shared Link page, a QR', async () => {
    const context = await stack.browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 1280, height: 860 },
    });
    try {
      const page = await context.newPage();
      await page.goto(`${consoleUrl}/`);
      await page.getByLabel('Email').fill(owner.email);
      await page.getByLabel('Password').fill(OWNER_PASSWORD);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
      await page.waitForSelector('body.page-library');
      const picks = page.locator('input.pick');
      await picks.nth(1).check();
      await picks.nth(3).check();
      const chosen = [await picks.nth(1).inputValue(), await picks.nth(3).inputValue()];
      await Promise.all([
        page.waitForURL(/\/links\/new\?/),
        page.getByRole('button', { name: 'Share link', exact: true }).click(),
      ]);
      const form = page.locator('#create-link-page');
      expect(await form.getByLabel('Allow Upload').isDisabled()).toBe(true);
      await form.getByLabel('Description').fill('No script needed');
      await form.getByLabel('Expires').selectOption({ label: '1 day' });
      await form.getByLabel('Allow Download').uncheck();
      await form.getByLabel('Custom URL').fill('no-script');
      // axe needs scripts: the same page is scanned in a normal browser below
      const formUrl = page.url();
      await consoleScreenshot(page, 'desktop-07-create-link-no-js');
      const [created] = await Promise.all([
        page.waitForResponse((r) => r.url() === `${consoleUrl}/links/new` && r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Create Link' }).click(),
      ]);
      expect(created.status()).toBe(201);
      const url = `${gatewayUrl}/share/no-script`;
      expect(await page.locator('#cl-url').inputValue()).toBe(url);
      const png = await page.locator('.qr').screenshot();
      const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      expect(
        jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height)?.data,
      ).toBe(url);
      await consoleScreenshot(page, 'desktop-08-link-created-no-js');
      const scripted = await newPage(undefined, () => context.storageState());
      await scripted.page.goto(formUrl);
      await scripted.page.waitForSelector('body[data-ready="true"]');
      expect(await seriousViolations(scripted.page)).toEqual([]);
      expect(scripted.problems).toEqual([]);
      const link = await h.tdb.db
        .selectFrom('shared_links')
        .selectAll()
        .where('slug', '=', 'no-script')
        .executeTakeFirstOrThrow();
      expect(link).toMatchObject({
        description: 'No script needed',
        allow_download: false,
        show_metadata: true,
        type: 'INDIVIDUAL',
      });
      expect(link.expires_at).not.toBeNull();
      const linked = await h.tdb.db
        .selectFrom('shared_link_assets')
        .select('asset_id')
        .where('link_id', '=', link.id)
        .execute();
      expect(linked.map((r) => r.asset_id).sort()).toEqual(chosen.sort());
    } finally {
      await context.close();
    }
  });

  it('should be usable with the keyboard alone: sign in, select two photos, create a link', async () => {
    const { page, problems } = await newPage();
    /** Tab (or Shift-Tab) until the focused element matches, as a keyboard user would; fails after `max` presses. */
    const tabTo = async (selector: string, back = false, max = 60) => {
      for (let i = 0; i < max; i++) {
        if (await page.evaluate((sel) => document.activeElement?.matches(sel) ?? false, selector)) return;
        await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
      }
      throw new Error(`focus never reached ${selector}`);
    };
    await page.goto(`${consoleUrl}/`);
    await page.waitForSelector('body.page-login[data-ready="true"]');
    await tabTo('#email');
    await page.keyboard.type(owner.email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(OWNER_PASSWORD);
    await Promise.all([page.waitForURL(`${consoleUrl}/`), page.keyboard.press('Enter')]);
    await page.waitForSelector('body.page-library[data-ready="true"]');

    // Space ticks a photo; Tab moves to the next one
    await tabTo('input.pick');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('#selection-count').textContent()).toBe('2 photos selected');
    const chosen = await page
      .locator('input.pick:checked')
      .evaluateAll((ps) => ps.map((p) => (p as HTMLInputElement).value));

    // back to Share, Enter opens the form with the focus in it
    await tabTo('#share-selection', true);
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Create Shared Link' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('cl-description');
    await page.keyboard.type('Typed, not clicked');
    await tabTo('#cl-allow-download');
    await page.keyboard.press('Space'); // Allow Download off
    await tabTo('#cl-create');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#cl-result:not([hidden])');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('cl-url');
    const link = await h.tdb.db
      .selectFrom('shared_links')
      .selectAll()
      .where('description', '=', 'Typed, not clicked')
      .executeTakeFirstOrThrow();
    expect(link.allow_download).toBe(false);
    expect(await page.locator('#cl-url').inputValue()).toBe(`${gatewayUrl}/share/${link.key}`);
    const linked = await h.tdb.db
      .selectFrom('shared_link_assets')
      .select('asset_id')
      .where('link_id', '=', link.id)
      .execute();
    expect(linked.map((r) => r.asset_id).sort()).toEqual(chosen.sort());
    // Escape closes the dialog
    await page.keyboard.press('Escape');
    expect(await page.locator('#create-link').evaluate((d) => (d as HTMLDialogElement).open)).toBe(false);
    expect(problems).toEqual([]);
  });

  it('should refuse a cross-site form post carrying the session cookie with 403, and sign out for good', async () => {
    const { page, context } = await newPage();
    await signIn(page);
    const albumsBefore = await h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', owner.id).execute();

    // another origin of the same site: SameSite=Lax lets the cookie through, the Origin check does not
    await page.goto(attackerUrl);
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${consoleUrl}/api/albums`),
      page.click('#go'),
    ]);
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toMatchObject({ statusCode: 403, error: 'Forbidden' });
    const albumsAfter = await h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', owner.id).execute();
    expect(albumsAfter).toHaveLength(albumsBefore.length);

    // sign out: back to the sign-in page, and the old cookie opens nothing any more
    await page.goto(`${consoleUrl}/`);
    await page.waitForSelector('body.page-library[data-ready="true"]');
    const cookie = (await context.cookies(consoleUrl)).find((c) => c.name === 'immich_access_token')!.value;
    await Promise.all([page.waitForURL(`${consoleUrl}/`), page.getByRole('button', { name: 'Sign out' }).click()]);
    await page.waitForSelector('body.page-login[data-ready="true"]');
    const replay = await h.app.inject({ url: '/api/users/me', headers: { cookie: `immich_access_token=${cookie}` } });
    expect(replay.statusCode).toBe(401);
  });
});
