import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleStack, consoleScreenshot, seriousViolations, signIn, startConsoleStack } from './console-kit.ts';
import type { LinksApiHarness, TestUser } from './harness.ts';

/**
 * Issue 19 item 1 in the owner console, in Debian's Chromium: the Create Shared Link form sets the three limits,
 * recipients on the real share gateway use the link up, the Links screen says "2 of 2 visits" (used up), and
 * editing the link raises the limit so a new recipient gets in again. A limit that is not a positive integer is
 * refused with the API's message.
 */

let stack: ConsoleStack;
let h: LinksApiHarness;
let owner: TestUser;
let albumId: string;

beforeAll(async () => {
  stack = await startConsoleStack();
  h = stack.h;
  owner = await stack.signInUser('limits-owner');
  const photos = await stack.addPhotos(owner, 2);
  const album = await h.app.inject({
    method: 'POST',
    url: '/api/albums',
    headers: owner.headers,
    payload: { albumName: 'Lake', assetIds: photos.map((p) => p.id) },
  });
  expect(album.statusCode).toBe(201);
  albumId = album.json().id;
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

async function openAsRecipient(url: string): Promise<number | undefined> {
  const recipient = await stack.newPage();
  const res = await recipient.page.goto(url);
  const status = res?.status();
  await recipient.context.close();
  return status;
}

async function shareAlbum(page: Page) {
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Albums' }).click();
  await page.waitForSelector('body.page-albums[data-ready="true"]');
  await page.getByRole('button', { name: 'Share album Lake' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create Shared Link' });
  await dialog.waitFor();
  return dialog;
}

describe('limited links in the console (Chromium)', { timeout: 180_000 }, () => {
  it('should set limits on create, show "n of N visits" on the Links screen, and reopen the link by raising one', async () => {
    const { page, problems } = await stack.newPage();
    await signIn(page, stack.consoleUrl, owner.email);

    // a limit that is not a positive integer: the API's 400, said in the form
    let dialog = await shareAlbum(page);
    await dialog.getByLabel('Visit limit').fill('0');
    await dialog.getByRole('button', { name: 'Create Link' }).click();
    await expect.poll(() => page.locator('#cl-error').textContent()).toMatch(/maxVisits/);
    await page.keyboard.press('Escape');

    dialog = await shareAlbum(page);
    expect(await seriousViolations(page)).toEqual([]);
    await dialog.getByLabel('Description').fill('Twice only');
    await dialog.getByLabel('Visit limit').fill('2');
    await dialog.getByLabel('Download limit').fill('1');
    await consoleScreenshot(page, 'desktop-30-link-limits-form');
    await dialog.getByRole('button', { name: 'Create Link' }).click();
    await expect.poll(() => page.locator('#cl-url').inputValue()).toContain('/share/');
    const url = await page.locator('#cl-url').inputValue();
    const row = await h.tdb.db
      .selectFrom('shared_links')
      .selectAll()
      .where('album_id', '=', albumId)
      .where('description', '=', 'Twice only')
      .executeTakeFirstOrThrow();
    expect([row.max_visits, row.max_downloads, row.max_uploads]).toEqual([2, 1, null]);

    // two people use it up; the third finds the used-up page
    expect(await openAsRecipient(url)).toBe(200);
    expect(await openAsRecipient(url)).toBe(200);
    expect(await openAsRecipient(url)).toBe(410);

    await page.goto(`${stack.consoleUrl}/links`);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    const card = page.locator(`#link-${row.id}`);
    expect(await card.locator('.limit-visits').textContent()).toContain('2 of 2 visits');
    expect(await card.locator('.limit-visits').textContent()).toContain('Used up');
    expect(await card.locator('.limit-downloads').textContent()).toBe('0 of 1 downloads');
    expect(await card.locator('.limit-uploads').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    // the four counters keep their row; the limits are a row of their own below it, as wide as the counters
    const boxes = await card.locator('.counters').evaluate((dl) => {
      const box = (sel: string) => dl.querySelector(sel)!.getBoundingClientRect();
      const [views, last, limits] = [box('.views'), box('.last-access'), box('.limits')];
      return { viewsTop: views.top, lastTop: last.top, limitsTop: limits.top, limitsWidth: limits.width };
    });
    const counters = await card.locator('.counters').evaluate((dl) => dl.getBoundingClientRect().width);
    expect(boxes.lastTop).toBe(boxes.viewsTop);
    expect(boxes.limitsTop).toBeGreaterThan(boxes.viewsTop);
    expect(boxes.limitsWidth).toBe(counters);
    await consoleScreenshot(page, 'desktop-31-links-limits');

    // edit: the form shows the limits; raising the visit limit reopens the link
    await page.getByRole('button', { name: 'Edit Twice only' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Shared Link' });
    await edit.waitFor();
    expect(await edit.getByLabel('Visit limit').inputValue()).toBe('2');
    expect(await edit.getByLabel('Download limit').inputValue()).toBe('1');
    expect(await edit.getByLabel('Upload limit').inputValue()).toBe('');
    await edit.getByLabel('Visit limit').fill('5');
    await edit.getByLabel('Download limit').fill('');
    await Promise.all([page.waitForNavigation(), edit.getByRole('button', { name: 'Save' }).click()]);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    expect(await card.locator('.limit-visits').textContent()).toBe('2 of 5 visits');
    expect(await card.locator('.limit-downloads').count()).toBe(0);
    await expect.poll(() => openAsRecipient(url), { timeout: 10_000 }).toBe(200);
    expect(problems).toEqual([]);
  });

  it('should set and change the limits through the pages that work without JavaScript', async () => {
    const { page } = await stack.newPage();
    await signIn(page, stack.consoleUrl, owner.email);
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/shared-links',
      headers: owner.headers,
      payload: { type: 'ALBUM', albumId, description: 'No script', maxUploads: 3 },
    });
    const id = created.json().id as string;
    await page.goto(`${stack.consoleUrl}/links/${id}/edit`);
    expect(await page.getByLabel('Upload limit').inputValue()).toBe('3');
    await page.getByLabel('Visit limit').fill('4');
    await page.getByLabel('Upload limit').fill('');
    await Promise.all([page.waitForNavigation(), page.locator('#cl-save').click()]);
    const link = (await h.app.inject({ url: `/api/shared-links/${id}`, headers: owner.headers })).json();
    expect([link.maxVisits, link.maxDownloads, link.maxUploads]).toEqual([4, null, null]);
    await page.goto(`${stack.consoleUrl}/links/${id}/edit`);
    await page.getByLabel('Visit limit').fill('1.5');
    // the browser itself refuses it (a whole number of at least 1)…
    expect(await page.locator('#cl-max-visits').evaluate((el) => (el as HTMLInputElement).validity.valid)).toBe(false);
    // …and so does the server, for a browser that does not check
    await page.locator('#cl-max-visits').evaluate((el) => el.setAttribute('step', 'any'));
    const [res] = await Promise.all([page.waitForNavigation(), page.locator('#cl-save').click()]);
    expect(res?.status()).toBe(400);
    expect(await page.locator('#cl-error').textContent()).toMatch(/maxVisits must be a positive integer/);
  });
});
