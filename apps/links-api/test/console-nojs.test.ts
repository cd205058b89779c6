import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleStack,
  consoleScreenshot,
  OWNER_PASSWORD,
  PHONE,
  seriousViolations,
  startConsoleStack,
} from './console-kit.ts';
import type { LinksApiHarness, TestUser } from './harness.ts';

/**
 * Issue 14 item 6 ("server-rendered pages with progressive enhancement") in Debian's Chromium with JavaScript
 * disabled: the Albums actions (create, rename and describe, invite by email, change role, remove, leave) and the
 * Links actions (edit with the seed's changeExpiryTime, delete after a confirm page) as plain forms, each ending
 * on a page that says what happened. axe-core needs scripts: each no-JS page is scanned again in a scripted
 * browser with the same session. Phone-width and desktop screenshots under test-results/.
 */

let stack: ConsoleStack;
let h: LinksApiHarness;
let owner: TestUser;
let friend: TestUser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  stack = await startConsoleStack();
  h = stack.h;
  owner = await stack.signInUser('nojs-owner');
  friend = await stack.signInUser('nojs-friend');
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await stack?.close();
});

/** A browser with JavaScript off, signed in through the sign-in form (which needs none either). */
async function noScriptPage(email: string, viewport = { width: 1280, height: 860 }): Promise<Page> {
  const context = await stack.browser.newContext({ javaScriptEnabled: false, viewport });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${stack.consoleUrl}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(OWNER_PASSWORD);
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.waitForSelector('body.page-library');
  return page;
}

/** Clicks a submit control and waits for the page the redirect leads to. */
async function submit(page: Page, click: () => Promise<void>): Promise<void> {
  await Promise.all([page.waitForNavigation(), click()]);
}

/** The page's URL at phone width without scripts (screenshot), then in a scripted browser (axe-core). */
async function phoneAndAxe(page: Page, url: string, name: string): Promise<string[]> {
  const state = await page.context().storageState();
  const phone = await stack.browser.newContext({ javaScriptEnabled: false, viewport: PHONE, storageState: state });
  contexts.push(phone);
  const small = await phone.newPage();
  await small.goto(url);
  await consoleScreenshot(small, `phone-${name}`);
  const scripted = await stack.newPage(undefined, async () => state);
  await scripted.page.goto(url);
  await scripted.page.waitForSelector('body[data-ready="true"]');
  return [...(await seriousViolations(scripted.page)), ...scripted.problems];
}

const roleOf = async (albumId: string, userId: string) =>
  (
    await h.tdb.db
      .selectFrom('album_users')
      .select('role')
      .where('album_id', '=', albumId)
      .where('user_id', '=', userId)
      .executeTakeFirst()
  )?.role ?? null;

// real Chromium on a CI runner shared with other test files: generous, not a timing assertion
describe('the console without JavaScript, in Chromium', { timeout: 180_000 }, () => {
  it('should create, describe and share an album with members, change a role, remove one, and let one leave', async () => {
    const page = await noScriptPage(owner.email);
    const violations: string[] = [];
    await page.getByRole('link', { name: 'Albums' }).click();
    await page.waitForSelector('body.page-albums');

    // create (the <details> opens without scripts)
    await page.getByText('New album').click();
    const create = page.locator('#new-album-form');
    await create.getByLabel('Name').fill('Lisbon');
    await create.getByLabel('Description').fill('Tiles & trams');
    await submit(page, () => page.getByRole('button', { name: 'Create album' }).click());
    expect(page.url()).toMatch(/\/albums\/[0-9a-f-]{36}\?notice=albumCreated$/);
    const albumId = new URL(page.url()).pathname.split('/').pop()!;
    expect(await page.locator('#notice').textContent()).toBe('Album created');
    expect(await page.locator('#album-description').textContent()).toBe('Tiles & trams');
    await consoleScreenshot(page, 'desktop-40-album-created-no-js');
    violations.push(...(await phoneAndAxe(page, page.url(), '40-album-created-no-js')));

    // rename and describe
    await page.getByText('Details').click();
    const details = page.locator('#album-details');
    await details.getByLabel('Name').fill('Lisbon 2026');
    await details.getByLabel('Description').fill('Tiles, trams <and> custard tarts');
    await submit(page, () => details.getByRole('button', { name: 'Save' }).click());
    expect(await page.locator('#notice').textContent()).toBe('Album saved');
    expect(await page.locator('h2').first().textContent()).toBe('Lisbon 2026');
    expect(await page.locator('#album-description').textContent()).toBe('Tiles, trams <and> custard tarts');

    // invite: an unknown address answers with the form and the reason, then the friend as a viewer
    const invite = page.locator('#invite-form');
    await invite.getByLabel('Email').fill('nobody@immish.test');
    await submit(page, () => invite.getByRole('button', { name: 'Invite' }).click());
    expect(await page.locator('#notice').textContent()).toContain('No user has that email address');
    expect(await page.locator('#notice').getAttribute('role')).toBe('alert');
    await consoleScreenshot(page, 'desktop-41-invite-refused-no-js');
    await invite.getByLabel('Email').fill(friend.email.toUpperCase());
    await invite.getByLabel('Role').selectOption('viewer');
    await submit(page, () => invite.getByRole('button', { name: 'Invite' }).click());
    expect(await page.locator('#notice').textContent()).toBe('Member invited');
    expect(await roleOf(albumId, friend.id)).toBe('viewer');
    await consoleScreenshot(page, 'desktop-42-members-no-js');
    violations.push(...(await phoneAndAxe(page, page.url(), '42-members-no-js')));

    // change the role: the select, then its "Change role" button (shown only without scripts)
    const who = `nojs-friend <${friend.email}>`;
    await page.getByLabel(`Role of ${who}`, { exact: true }).selectOption('editor');
    await submit(page, () => page.getByRole('button', { name: `Change the role of ${who}` }).click());
    expect(await page.locator('#notice').textContent()).toBe('Role changed');
    expect(await roleOf(albumId, friend.id)).toBe('editor');
    expect(await page.getByLabel(`Role of ${who}`, { exact: true }).inputValue()).toBe('editor');

    // the friend, without scripts too, sees the album and leaves it
    const other = await noScriptPage(friend.email, PHONE);
    await other.goto(`${stack.consoleUrl}/albums/${albumId}`);
    expect(await other.locator('h2').first().textContent()).toBe('Lisbon 2026');
    expect(await other.locator('#invite-form').count()).toBe(0);
    await consoleScreenshot(other, 'phone-43-album-as-member-no-js');
    await submit(other, () => other.getByRole('button', { name: 'Leave album' }).click());
    expect(new URL(other.url()).pathname).toBe('/albums');
    expect(await other.locator('#notice').textContent()).toBe('You left the album');
    expect(await other.locator(`#album-${albumId}`).count()).toBe(0);
    expect(await roleOf(albumId, friend.id)).toBeNull();

    // invited again, then removed by the owner
    await page.goto(`${stack.consoleUrl}/albums/${albumId}`);
    await invite.getByLabel('Email').fill(friend.email);
    await submit(page, () => invite.getByRole('button', { name: 'Invite' }).click());
    expect(await roleOf(albumId, friend.id)).toBe('viewer');
    await submit(page, () => page.getByRole('button', { name: `Remove ${who}` }).click());
    expect(await page.locator('#notice').textContent()).toBe('Member removed');
    expect(await roleOf(albumId, friend.id)).toBeNull();
    expect(await page.locator(`#members li[data-user-id="${friend.id}"]`).count()).toBe(0);

    // and signs out, still without scripts: the sign-in form again, the session gone
    await submit(page, () => page.getByRole('button', { name: 'Sign out' }).click());
    expect(await page.locator('#login-form').count()).toBe(1);
    await page.goto(`${stack.consoleUrl}/albums`);
    expect(await page.locator('#login-form').count()).toBe(1);

    expect(violations).toEqual([]);
  });

  it('should edit a link (keep or change the expiry) and delete it after a confirm page', async () => {
    const albumId = (
      await h.app.inject({
        method: 'POST',
        url: '/api/albums',
        headers: owner.headers,
        payload: { albumName: 'Porto' },
      })
    ).json().id as string;
    const expiresAt = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const link = (
      await h.app.inject({
        method: 'POST',
        url: '/api/shared-links',
        headers: owner.headers,
        payload: { type: 'ALBUM', albumId, description: 'Porto weekend', expiresAt, allowDownload: true },
      })
    ).json() as { id: string };
    const row = () => h.tdb.db.selectFrom('shared_links').selectAll().where('id', '=', link.id).executeTakeFirst();
    const violations: string[] = [];

    const page = await noScriptPage(owner.email);
    await page.getByRole('link', { name: 'Links' }).click();
    await page.waitForSelector('body.page-links');
    await submit(page, () => page.getByRole('button', { name: 'Edit Porto weekend' }).click());
    expect(new URL(page.url()).pathname).toBe(`/links/${link.id}/edit`);
    const form = page.locator('#edit-link-page');
    expect(await form.getByLabel('Description').inputValue()).toBe('Porto weekend');
    expect(await form.getByLabel('Allow Download').isChecked()).toBe(true);
    expect(await form.getByLabel('Expires').inputValue()).toBe('keep');
    await consoleScreenshot(page, 'desktop-44-edit-link-no-js');
    violations.push(...(await phoneAndAxe(page, page.url(), '44-edit-link-no-js')));

    // keep the expiry (changeExpiryTime false), change the rest
    await form.getByLabel('Description').fill('Porto, long weekend');
    await form.getByLabel('Allow Download').uncheck();
    await form.getByLabel('Allow Upload').check();
    await submit(page, () => form.getByRole('button', { name: 'Save' }).click());
    expect(new URL(page.url()).pathname).toBe('/links');
    expect(await page.locator('#notice').textContent()).toBe('Link saved');
    expect(await row()).toMatchObject({
      description: 'Porto, long weekend',
      allow_download: false,
      allow_upload: true,
      expires_at: new Date(expiresAt),
    });
    await consoleScreenshot(page, 'desktop-45-link-saved-no-js');

    // a new expiry (changeExpiryTime true), and a taken slug refused with the form again
    await h.app.inject({
      method: 'POST',
      url: '/api/shared-links',
      headers: owner.headers,
      payload: { type: 'ALBUM', albumId, slug: 'porto-taken' },
    });
    await submit(page, () => page.getByRole('button', { name: 'Edit Porto, long weekend' }).click());
    await form.getByLabel('Custom URL').fill('porto-taken');
    await submit(page, () => form.getByRole('button', { name: 'Save' }).click());
    expect(await page.locator('#cl-error').textContent()).toContain('The link could not be saved');
    expect((await row())?.slug).toBeNull();
    await page.goto(`${stack.consoleUrl}/links/${link.id}/edit`);
    await form.getByLabel('Expires').selectOption({ label: '1 hour' });
    await submit(page, () => form.getByRole('button', { name: 'Save' }).click());
    const expiry = (await row())!.expires_at!.getTime();
    expect(expiry).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect(expiry).toBeLessThan(Date.now() + 2 * 60 * 60_000);

    // delete: the confirm page, Cancel keeps it, then Delete link removes it
    await submit(page, () => page.getByRole('button', { name: 'Delete Porto, long weekend' }).click());
    expect(await page.locator('#delete-title').textContent()).toBe('Delete this link?');
    await consoleScreenshot(page, 'desktop-46-delete-link-no-js');
    violations.push(...(await phoneAndAxe(page, page.url(), '46-delete-link-no-js')));
    await submit(page, () => page.getByRole('link', { name: 'Cancel' }).click());
    expect(await row()).toBeDefined();
    await submit(page, () => page.getByRole('button', { name: 'Delete Porto, long weekend' }).click());
    await submit(page, () => page.getByRole('button', { name: 'Delete link' }).click());
    expect(await page.locator('#notice').textContent()).toBe('Link deleted');
    expect(await row()).toBeUndefined();
    expect(await page.locator(`#link-${link.id}`).count()).toBe(0);

    expect(violations).toEqual([]);
  });
});
