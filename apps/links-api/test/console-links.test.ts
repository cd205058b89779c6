import type { AssetRow } from '@immish/db';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleStack,
  consoleScreenshot,
  PHONE,
  seriousViolations,
  signIn,
  startConsoleStack,
} from './console-kit.ts';
import type { LinksApiHarness, TestUser } from './harness.ts';

/**
 * Issue 14 items 3–5 and 7 in Debian's Chromium: an ALBUM link made through the Create Shared Link form from the
 * Albums screen with every seed option, then opened by a recipient on the real share gateway (password prompt,
 * no download control, the upload form, no metadata); the Links screen (type, album or photo count, relative
 * expiry and the expired badge, lock, flags, counters), editing the expiry through the seed's PATCH with
 * `changeExpiryTime`, removing and adding photos of an individual link, filtering by album and deleting with a
 * confirmation. axe-core on each screen, phone-width and desktop screenshots under test-results/.
 */

let stack: ConsoleStack;
let h: LinksApiHarness;
let owner: TestUser;
let photos: AssetRow[];
let albumId: string;
const DAY = 24 * 3600 * 1000;

beforeAll(async () => {
  stack = await startConsoleStack();
  h = stack.h;
  owner = await stack.signInUser('links-owner');
  photos = await stack.addPhotos(owner, 5);
  const album = await h.app.inject({
    method: 'POST',
    url: '/api/albums',
    headers: owner.headers,
    payload: { albumName: 'Summer <trip>', description: 'Sea and sun', assetIds: photos.slice(0, 3).map((p) => p.id) },
  });
  expect(album.statusCode).toBe(201);
  albumId = album.json().id;
  await h.app.inject({ method: 'POST', url: '/api/albums', headers: owner.headers, payload: { albumName: 'Empty' } });
});

afterAll(async () => {
  await stack?.close();
});

const linkOf = async (id: string) =>
  (await h.app.inject({ url: `/api/shared-links/${id}`, headers: owner.headers })).json() as {
    id: string;
    expiresAt: string | null;
    description: string | null;
    assets: { id: string }[];
  };

async function noHorizontalScroll(page: Page) {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
}

// real Chromium on a CI runner shared with other test files: generous, not a timing assertion
describe('album links and the Links screen in Chromium', { timeout: 180_000 }, () => {
  it('should create an ALBUM link with every seed option from the Albums screen, each option in effect for a recipient', async () => {
    const { page, problems } = await stack.newPage();
    await signIn(page, stack.consoleUrl, owner.email);
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Albums' }).click();
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await page.locator('#albums > li').count()).toBe(2);
    expect(await page.locator(`#album-${albumId}`).textContent()).toContain('3 photos');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-10-albums');

    await page.getByRole('button', { name: 'Share album Summer <trip>' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create Shared Link' });
    await dialog.waitFor();
    expect(await page.locator('#create-link-target').textContent()).toBe('Album link to Summer <trip>');
    // Allow Upload: off by default, enabled for an album, without the individual-link hint
    const upload = dialog.getByLabel('Allow Upload');
    expect(await upload.isChecked()).toBe(false);
    expect(await upload.isDisabled()).toBe(false);
    expect(await page.locator('#cl-allow-upload-hint').isHidden()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-11-album-link-form');

    await dialog.getByLabel('Description').fill('For the family');
    await dialog.getByLabel('Expires').selectOption({ label: '1 day' });
    await dialog.getByLabel('Allow Download').uncheck();
    await upload.check();
    await dialog.getByLabel('Show Metadata').uncheck();
    await dialog.getByLabel('Password').fill('open-sesame');
    await dialog.getByLabel('Custom URL').fill('family-summer');
    await expect.poll(() => page.locator('#cl-slug-status').textContent()).toBe('Available');
    const before = Date.now();
    await dialog.getByRole('button', { name: 'Create Link' }).click();
    const url = `${stack.gatewayUrl}/share/family-summer`;
    await expect.poll(() => page.locator('#cl-url').inputValue()).toBe(url);

    const link = await h.tdb.db
      .selectFrom('shared_links')
      .selectAll()
      .where('slug', '=', 'family-summer')
      .executeTakeFirstOrThrow();
    expect(link).toMatchObject({
      type: 'ALBUM',
      album_id: albumId,
      description: 'For the family',
      allow_download: false,
      allow_upload: true,
      show_metadata: false,
    });
    expect(link.password_hash).not.toBeNull();
    expect(link.expires_at!.getTime()).toBeGreaterThanOrEqual(before + DAY - 60_000);
    expect(link.expires_at!.getTime()).toBeLessThanOrEqual(Date.now() + DAY + 60_000);

    // the recipient, in another browser: the password first, then the album without download, with upload
    const recipient = await stack.newPage();
    const first = await recipient.page.goto(url);
    expect(first?.status()).toBe(401);
    await recipient.page.getByLabel('Password').fill('open-sesame');
    await Promise.all([recipient.page.waitForNavigation(), recipient.page.click('button[type="submit"]')]);
    await recipient.page.waitForSelector('body[data-ready="true"]');
    expect(await recipient.page.locator('li.tile').count()).toBe(3);
    // the gateway titles an album link with the album (its description before the link's: share-gateway pages.ts)
    expect(await recipient.page.locator('h1').textContent()).toBe('Summer <trip>');
    expect(await recipient.page.locator('.share-description').textContent()).toBe('Sea and sun');
    expect(await recipient.page.locator('#download-all').count()).toBe(0);
    expect(await recipient.page.locator('form#upload').count()).toBe(1);
    expect(await recipient.page.getByText('Add photos & videos').isVisible()).toBe(true);
    await consoleScreenshot(recipient.page, 'desktop-12-album-link-recipient');
    // a photo page: no metadata panel, no download link
    await Promise.all([recipient.page.waitForNavigation(), recipient.page.locator('li.tile a').first().click()]);
    await recipient.page.waitForSelector('body[data-ready="true"]');
    expect(await recipient.page.locator('#viewer-info').count()).toBe(0);
    expect(await recipient.page.locator('#viewer-meta').count()).toBe(0);
    expect(await recipient.page.locator('a[href$="/original"]').count()).toBe(0);

    // the same screen at phone width
    const phone = await stack.newPage(PHONE, () => page.context().storageState());
    await phone.page.goto(`${stack.consoleUrl}/albums`);
    await phone.page.waitForSelector('body.page-albums[data-ready="true"]');
    await noHorizontalScroll(phone.page);
    await consoleScreenshot(phone.page, 'phone-10-albums');
    await phone.page.getByRole('button', { name: 'Share album Summer <trip>' }).click();
    await phone.page.getByRole('dialog', { name: 'Create Shared Link' }).waitFor();
    expect(await seriousViolations(phone.page)).toEqual([]);
    await consoleScreenshot(phone.page, 'phone-11-album-link-form');

    expect([...problems, ...recipient.problems, ...phone.problems]).toEqual([]);
  });

  it('should list every link with its facts, edit the expiry (changeExpiryTime), change photos, filter and delete', async () => {
    const create = async (payload: Record<string, unknown>) => {
      const res = await h.app.inject({ method: 'POST', url: '/api/shared-links', headers: owner.headers, payload });
      expect(res.statusCode).toBe(201);
      return res.json() as { id: string; expiresAt: string | null };
    };
    const inThreeDays = new Date(Date.now() + 3 * DAY + 3600_000).toISOString();
    const trip = await create({
      type: 'INDIVIDUAL',
      assetIds: [photos[3]!.id, photos[4]!.id],
      description: 'Road trip',
      expiresAt: inThreeDays,
    });
    const old = await create({ type: 'INDIVIDUAL', assetIds: [photos[0]!.id], description: 'Old party' });
    await h.tdb.db
      .updateTable('shared_links')
      .set({ expires_at: new Date(Date.now() - 2 * DAY) })
      .where('id', '=', old.id)
      .execute();

    const { page, problems } = await stack.newPage();
    await signIn(page, stack.consoleUrl, owner.email);
    await page.getByRole('link', { name: 'Links' }).click();
    await page.waitForSelector('body.page-links[data-ready="true"]');
    const rows = page.locator('#links > li');
    expect(await rows.count()).toBe(3);
    const tripRow = page.locator(`#link-${trip.id}`);
    expect(await tripRow.locator('.badge').first().textContent()).toBe('Photos');
    expect(await tripRow.textContent()).toContain('2 photos');
    expect(await tripRow.textContent()).toContain('Expires in 3 days');
    expect(await tripRow.locator('.lock').count()).toBe(0);
    expect(await tripRow.locator('.views').textContent()).toBe('0');
    const oldRow = page.locator(`#link-${old.id}`);
    expect(await oldRow.locator('.badge-expired').textContent()).toBe('Expired');
    expect(await oldRow.textContent()).toContain('Expired 2 days ago');
    const albumRow = page.locator('li.link', { hasText: 'For the family' });
    expect(await albumRow.textContent()).toContain('Album Summer <trip>');
    expect(await albumRow.locator('.lock').count()).toBe(1);
    expect(await albumRow.locator('.flags').textContent()).toMatch(
      /Allow Download: off\s*Allow Upload: on\s*Show Metadata: off/,
    );
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-13-links');

    // the QR code of a row
    await page.getByRole('button', { name: 'QR code of Road trip' }).click();
    await page.getByRole('dialog', { name: 'QR code' }).waitFor();
    expect(await page.locator('#qr-code svg').count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-16-link-qr');
    await page.getByRole('button', { name: 'Close' }).click();

    // edit the description only: "Unchanged" keeps the expiry (changeExpiryTime: false)
    await page.getByRole('button', { name: 'Edit Road trip' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit Shared Link' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Description').inputValue()).toBe('Road trip');
    expect(await dialog.getByLabel('Expires').inputValue()).toBe('keep');
    expect(await dialog.getByLabel('Allow Upload').isDisabled()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-14-edit-link');
    await dialog.getByLabel('Description').fill('Road trip 2026');
    await Promise.all([page.waitForNavigation(), dialog.getByRole('button', { name: 'Save' }).click()]);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    expect(await linkOf(trip.id)).toMatchObject({ description: 'Road trip 2026', expiresAt: trip.expiresAt });

    // now the expiry: 30 days from now
    await page.getByRole('button', { name: 'Edit Road trip 2026' }).click();
    await page
      .getByRole('dialog', { name: 'Edit Shared Link' })
      .getByLabel('Expires')
      .selectOption({ label: '30 days' });
    const before = Date.now();
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save' }).click()]);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    const edited = await linkOf(trip.id);
    expect(new Date(edited.expiresAt!).getTime()).toBeGreaterThanOrEqual(before + 30 * DAY - 60_000);
    expect(new Date(edited.expiresAt!).getTime()).toBeLessThanOrEqual(Date.now() + 30 * DAY + 60_000);
    expect(await page.locator(`#link-${trip.id}`).textContent()).toContain('Expires in 30 days');

    // the photos of the individual link: remove one, then add one from the library
    await page.getByRole('button', { name: 'Photos of Road trip 2026' }).click();
    const photosDialog = page.getByRole('dialog', { name: 'Photos of this link' });
    await photosDialog.waitFor();
    expect(await photosDialog.locator('li').count()).toBe(2);
    expect(await seriousViolations(page)).toEqual([]);
    await photosDialog.getByRole('button', { name: `Remove ${photos[3]!.original_file_name}` }).click();
    await expect.poll(async () => (await linkOf(trip.id)).assets.map((a) => a.id)).toEqual([photos[4]!.id]);
    await Promise.all([page.waitForURL(/addTo=/), photosDialog.getByRole('link', { name: 'Add photos' }).click()]);
    await page.waitForSelector('body.page-library[data-ready="true"]');
    expect(await page.locator('main .hint').textContent()).toContain('Road trip 2026');
    await page.locator(`#pick-${photos[1]!.id}`).click();
    await Promise.all([page.waitForURL(/\/links$/), page.getByRole('button', { name: 'Add to link' }).click()]);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    expect((await linkOf(trip.id)).assets.map((a) => a.id).sort()).toEqual([photos[1]!.id, photos[4]!.id].sort());
    expect(await page.locator(`#link-${trip.id}`).textContent()).toContain('2 photos');

    // filter by album: only the album's link
    await Promise.all([page.waitForURL(/albumId=/), page.getByLabel('Album').selectOption({ label: 'Summer <trip>' })]);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('For the family');
    await page.goto(`${stack.consoleUrl}/links`);
    await page.waitForSelector('body.page-links[data-ready="true"]');

    // delete, after a confirmation; Cancel first keeps it
    await page.getByRole('button', { name: 'Delete Old party' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this link?' });
    await confirm.waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-15-delete-link');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await rows.count()).toBe(3);
    await page.getByRole('button', { name: 'Delete Old party' }).click();
    await confirm.getByRole('button', { name: 'Delete link' }).click();
    await expect.poll(() => rows.count()).toBe(2);
    const gone = await h.app.inject({ url: `/api/shared-links/${old.id}`, headers: owner.headers });
    expect(gone.statusCode).toBe(400);
    expect(await h.tdb.db.selectFrom('shared_links').select('id').where('id', '=', old.id).execute()).toEqual([]);

    const phone = await stack.newPage(PHONE, () => page.context().storageState());
    await phone.page.goto(`${stack.consoleUrl}/links`);
    await phone.page.waitForSelector('body.page-links[data-ready="true"]');
    await noHorizontalScroll(phone.page);
    expect(await seriousViolations(phone.page)).toEqual([]);
    await consoleScreenshot(phone.page, 'phone-13-links');
    await phone.page.getByRole('button', { name: 'QR code of Road trip 2026' }).click();
    await phone.page.getByRole('dialog', { name: 'QR code' }).waitFor();
    expect(await seriousViolations(phone.page)).toEqual([]);
    await consoleScreenshot(phone.page, 'phone-16-link-qr');
    await phone.page.keyboard.press('Escape');
    await phone.page.getByRole('button', { name: 'Edit Road trip 2026' }).click();
    await phone.page.getByRole('dialog', { name: 'Edit Shared Link' }).waitFor();
    expect(await seriousViolations(phone.page)).toEqual([]);
    await consoleScreenshot(phone.page, 'phone-14-edit-link');
    await phone.page.keyboard.press('Escape');
    await phone.page.getByRole('button', { name: 'Photos of Road trip 2026' }).click();
    await phone.page.getByRole('dialog', { name: 'Photos of this link' }).waitFor();
    await consoleScreenshot(phone.page, 'phone-17-link-photos');
    await phone.page.keyboard.press('Escape');
    await phone.page.getByRole('button', { name: 'Delete Road trip 2026' }).click();
    await phone.page.getByRole('dialog', { name: 'Delete this link?' }).waitFor();
    await consoleScreenshot(phone.page, 'phone-15-delete-link');

    expect([...problems, ...phone.problems]).toEqual([]);
  });
});
