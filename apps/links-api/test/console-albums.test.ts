import type { AssetRow } from '@immish/db';
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
 * Issue 14 items 5 and 7 in Debian's Chromium: albums managed from the console — create, rename and describe,
 * add photos from the library and remove them, invite a second user by email as a viewer (who signs in in another
 * browser and sees the album, read-only), change the role to editor, remove a member, and leave. axe-core on each
 * screen, phone-width and desktop screenshots under test-results/.
 */

let stack: ConsoleStack;
let h: LinksApiHarness;
let owner: TestUser;
let friend: TestUser;
let photos: AssetRow[];

beforeAll(async () => {
  stack = await startConsoleStack();
  h = stack.h;
  owner = await stack.signInUser('album-owner');
  friend = await stack.signInUser('album-friend');
  photos = await stack.addPhotos(owner, 4);
});

afterAll(async () => {
  await stack?.close();
});

const album = async (id: string) =>
  (await h.app.inject({ url: `/api/albums/${id}`, headers: owner.headers })).json() as {
    albumName: string;
    description: string;
    assetCount: number;
    albumUsers: { role: string; user: { id: string } }[];
  };
const roleOf = async (id: string, userId: string) =>
  (await album(id)).albumUsers.find((m) => m.user.id === userId)?.role ?? null;

// real Chromium on a CI runner shared with other test files: generous, not a timing assertion
describe('albums in the owner console in Chromium', { timeout: 180_000 }, () => {
  it('should create, rename, fill and share an album with a viewer, who sees it; then change the role, remove, leave', async () => {
    const { page, problems } = await stack.newPage();
    await signIn(page, stack.consoleUrl, owner.email);
    await page.getByRole('link', { name: 'Albums' }).click();
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await page.locator('.empty').textContent()).toBe('No albums yet.');

    // create
    await page.getByText('New album').click();
    const create = page.locator('#new-album-form');
    await create.getByLabel('Name').fill('Paris');
    await create.getByLabel('Description').fill('Spring weekend');
    await Promise.all([
      page.waitForURL(/\/albums\/[0-9a-f-]{36}$/),
      page.getByRole('button', { name: 'Create album' }).click(),
    ]);
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    const albumId = page.url().split('/').pop()!;
    expect(await album(albumId)).toMatchObject({ albumName: 'Paris', description: 'Spring weekend', assetCount: 0 });
    expect(await seriousViolations(page)).toEqual([]);

    // rename and describe
    await page.getByText('Details').click();
    const details = page.locator('#album-details');
    await details.getByLabel('Name').fill('Paris 2026');
    await details.getByLabel('Description').fill('Spring weekend <with> friends');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Save' }).click()]);
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await album(albumId)).toMatchObject({
      albumName: 'Paris 2026',
      description: 'Spring weekend <with> friends',
    });
    expect(await page.locator('#album-toolbar h2').textContent()).toBe('Paris 2026');

    // add photos from the library (a Shift-click range of three), then remove one
    await Promise.all([page.waitForURL(/addToAlbum=/), page.getByRole('link', { name: 'Add photos' }).click()]);
    await page.waitForSelector('body.page-library[data-ready="true"]');
    expect(await page.locator('main .hint').first().textContent()).toContain('Paris 2026');
    await page.locator('input.pick').nth(0).click();
    await page
      .locator('input.pick')
      .nth(2)
      .click({ modifiers: ['Shift'] });
    await Promise.all([
      page.waitForURL(new RegExp(`/albums/${albumId}$`)),
      page.getByRole('button', { name: 'Add to album' }).click(),
    ]);
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    expect((await album(albumId)).assetCount).toBe(3);
    expect(await page.locator('#album-grid li').count()).toBe(3);
    const first = await page.locator('#album-grid img:not(.placeholder)').first().getAttribute('alt');
    await page.getByRole('button', { name: `Remove ${first} from the album` }).click();
    await expect.poll(async () => (await album(albumId)).assetCount).toBe(2);
    expect(photos.map((p) => p.original_file_name)).toContain(first);

    // invite the friend by email as a viewer
    await page.locator('#invite-form').getByLabel('Email').fill(friend.email.toUpperCase());
    await page.locator('#invite-form').getByLabel('Role').selectOption('viewer');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Invite' }).click()]);
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await roleOf(albumId, friend.id)).toBe('viewer');
    // an address nobody has is said so
    await page.locator('#invite-form').getByLabel('Email').fill('nobody@immish.test');
    await page.getByRole('button', { name: 'Invite' }).click();
    await expect.poll(() => page.locator('#members-error').textContent()).toBe('No user has that email address');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'desktop-30-album');

    // the friend, in another browser: the album is in their list, read-only
    const other = await stack.newPage();
    await signIn(other.page, stack.consoleUrl, friend.email);
    await other.page.getByRole('link', { name: 'Albums' }).click();
    await other.page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await other.page.locator('#albums > li').count()).toBe(1);
    expect(await other.page.locator('#albums > li').textContent()).toContain('shared by album-owner');
    await Promise.all([
      other.page.waitForURL(/\/albums\//),
      other.page.getByRole('link', { name: 'Paris 2026' }).click(),
    ]);
    await other.page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await other.page.locator('#album-grid li').count()).toBe(2);
    expect(await other.page.getByRole('link', { name: 'Add photos' }).count()).toBe(0);
    expect(await other.page.locator('.remove-photo').count()).toBe(0);
    expect(await other.page.locator('#invite-form').count()).toBe(0);
    expect(await other.page.locator(`#members li[data-user-id="${friend.id}"] .badge`).textContent()).toBe('Viewer');
    expect(await seriousViolations(other.page)).toEqual([]);
    await consoleScreenshot(other.page, 'desktop-31-album-as-viewer');

    // the owner makes them an editor: they may now add photos
    await page.getByLabel(`Role of album-friend <${friend.email}>`).selectOption('editor');
    await expect.poll(() => roleOf(albumId, friend.id)).toBe('editor');
    await other.page.reload();
    await other.page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await other.page.getByRole('link', { name: 'Add photos' }).count()).toBe(1);

    // the friend leaves
    await Promise.all([
      other.page.waitForURL(/\/albums$/),
      other.page.getByRole('button', { name: 'Leave album' }).click(),
    ]);
    await other.page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await other.page.locator('#albums > li').count()).toBe(0);
    expect(await roleOf(albumId, friend.id)).toBeNull();

    // invited again, then removed by the owner
    await page.reload();
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    await page.locator('#invite-form').getByLabel('Email').fill(friend.email);
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Invite' }).click()]);
    await page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await roleOf(albumId, friend.id)).toBe('viewer');
    await page.getByRole('button', { name: `Remove album-friend <${friend.email}>` }).click();
    await expect.poll(() => roleOf(albumId, friend.id)).toBeNull();
    // the row goes when the page has the DELETE's answer, which may come after the database shows the change
    await expect.poll(() => page.locator(`#members li[data-user-id="${friend.id}"]`).count()).toBe(0);

    const phone = await stack.newPage(PHONE, () => page.context().storageState());
    await phone.page.goto(`${stack.consoleUrl}/albums/${albumId}`);
    await phone.page.waitForSelector('body.page-albums[data-ready="true"]');
    expect(await phone.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(await seriousViolations(phone.page)).toEqual([]);
    await consoleScreenshot(phone.page, 'phone-30-album');

    expect([...problems, ...other.problems, ...phone.problems]).toEqual([]);
  });
});
