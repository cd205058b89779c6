import type { NewLinkActivity } from '@immish/db';
import { insertActivity } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleStack, consoleScreenshot, seriousViolations, signIn, startConsoleStack } from './console-kit.ts';
import type { TestUser } from './harness.ts';

/**
 * Issue 18 item 6 in Debian's Chromium at 390 px: the Activity screen of a link, reached from its card on the
 * Links screen — the summary figures, the by-day table, the log newest first with "Load more" (appended in
 * place) and the action filter. axe-core, no horizontal scrolling, a screenshot under test-results/.
 */
const PHONE_390 = { width: 390, height: 844 };
const ENTRIES = 62;

let stack: ConsoleStack;
let owner: TestUser;
let linkId: string;

beforeAll(async () => {
  stack = await startConsoleStack();
  owner = await stack.signInUser('activity-owner');
  const photos = await stack.addPhotos(owner, 2);
  const h = stack.h;
  const album = await h.app.inject({
    method: 'POST',
    url: '/api/albums',
    headers: owner.headers,
    payload: { albumName: 'Wedding', assetIds: photos.map((p) => p.id) },
  });
  const link = await h.app.inject({
    method: 'POST',
    url: '/api/shared-links',
    headers: owner.headers,
    payload: { type: 'ALBUM', albumId: album.json().id, allowDownload: true, allowUpload: true, description: 'Guests' },
  });
  expect(link.statusCode).toBe(201);
  linkId = link.json().id;
  // two days of a recipient's actions: visits from 60 networks on day one, then a bot, a download and an upload
  const day1 = Date.parse('2026-12-03T08:00:00Z');
  const rows: NewLinkActivity[] = [];
  for (let i = 0; i < ENTRIES - 2; i++)
    rows.push({
      link_id: linkId,
      at: new Date(day1 + i * 60_000),
      action: 'visit',
      client_net: `198.51.${i}.0/24`,
      browser: 'Safari',
      os: 'iOS',
    });
  rows.push(
    {
      link_id: linkId,
      at: new Date('2026-12-04T09:00:00Z'),
      action: 'download-original',
      asset_id: photos[0]!.id,
      client_net: '198.51.0.0/24',
      browser: 'Safari',
      os: 'iOS',
    },
    {
      link_id: linkId,
      at: new Date('2026-12-04T09:05:00Z'),
      action: 'upload',
      asset_id: photos[1]!.id,
      client_net: '198.51.0.0/24',
      browser: 'Safari',
      os: 'iOS',
    },
  );
  await insertActivity(h.tdb.db, rows);
});

afterAll(async () => {
  await stack?.close();
});

describe('the Activity screen of a link in Chromium', { timeout: 180_000 }, () => {
  it('should show the summary, the days and the log with Load more and the action filter, at 390 px', async () => {
    const { page, problems } = await stack.newPage(PHONE_390);
    await signIn(page, stack.consoleUrl, owner.email);
    await page.goto(`${stack.consoleUrl}/links`);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    await Promise.all([
      page.waitForURL(`${stack.consoleUrl}/links/${linkId}/activity`),
      page.getByRole('link', { name: 'Activity of Guests' }).click(),
    ]);
    await page.waitForSelector('body.page-link-activity[data-ready="true"]');
    expect(await page.getByRole('heading', { level: 2 }).textContent()).toBe('Activity: Guests');

    const summary = page.locator('#activity-summary');
    expect(await summary.locator('.visits').textContent()).toBe('60');
    expect(await summary.locator('.visitors').textContent()).toBe('60');
    expect(await summary.locator('.downloads').textContent()).toBe('1');
    expect(await summary.locator('.uploads').textContent()).toBe('1');
    // newest day first
    const days = await page.locator('#activity-days tbody tr').allInnerTexts();
    expect(days.map((d) => d.split(/\s+/))).toEqual([
      ['2026-12-04', '0', '0', '1', '1'],
      ['2026-12-03', '60', '60', '0', '0'],
    ]);

    const entries = page.locator('#activity-log > li');
    expect(await entries.count()).toBe(50);
    expect(await entries.first().textContent()).toContain('Uploaded a file');
    expect(await entries.first().textContent()).toContain('2026-12-04 09:05 UTC');
    expect(await entries.nth(1).textContent()).toContain('Downloaded an original');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE_390.width);
    // each day on one line (not "2026-" over "12-04"), its row as tall as a row of single-line numbers
    const dayLines = await page.$$eval('#activity-days tbody th[scope="row"]', (ths) =>
      ths.map((th) =>
        Math.round(th.getBoundingClientRect().height / Number.parseFloat(getComputedStyle(th).lineHeight)),
      ),
    );
    expect(dayLines).toEqual([1, 1]);
    expect(
      await page.$eval('#activity-days', (t) => t.scrollWidth <= (t.parentElement as HTMLElement).clientWidth),
    ).toBe(true);
    // a card's heading starts at the card's padding, with no margin of its own above it
    const gap = await page.$eval('#activity-summary-title', (h) => {
      const card = h.closest('.card') as HTMLElement;
      return (
        h.getBoundingClientRect().top -
        card.getBoundingClientRect().top -
        Number.parseFloat(getComputedStyle(card).paddingTop)
      );
    });
    expect(gap).toBeLessThanOrEqual(2);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'phone390-20-link-activity');

    // Load more: the rest appended in place, then no more link
    await page.getByRole('link', { name: 'Load more' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#activity-log > li').length === 62);
    expect(page.url()).toBe(`${stack.consoleUrl}/links/${linkId}/activity`);
    expect(await page.locator('#activity-status').textContent()).toBe('12 more entries');
    expect(await page.locator('#activity-more').count()).toBe(0);
    const ids = await entries.evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.entryId)));
    expect(new Set(ids).size).toBe(62);
    expect(await entries.last().textContent()).toContain('2026-12-03 08:00 UTC');
    expect(await seriousViolations(page)).toEqual([]);

    // the action filter applies on change
    await Promise.all([
      page.waitForURL(/action=upload/),
      page.getByLabel('Action').selectOption({ label: 'Uploaded a file' }),
    ]);
    await page.waitForSelector('body.page-link-activity[data-ready="true"]');
    expect(await entries.count()).toBe(1);
    expect(await entries.first().getAttribute('data-action')).toBe('upload');
    expect(await page.locator('#activity-more').count()).toBe(0);
    await consoleScreenshot(page, 'phone390-21-link-activity-filtered');
    expect(problems).toEqual([]);
  });

  it('should send another owner back to the Links screen, and work without JavaScript (Load more is a link)', async () => {
    const other = await stack.signInUser('activity-stranger');
    const { page } = await stack.newPage(PHONE_390);
    await signIn(page, stack.consoleUrl, other.email);
    await page.goto(`${stack.consoleUrl}/links/${linkId}/activity`);
    expect(new URL(page.url()).pathname).toBe('/links');

    const context = await stack.browser.newContext({
      viewport: PHONE_390,
      javaScriptEnabled: false,
      storageState: await (async () => {
        const signedIn = await stack.newPage(PHONE_390);
        await signIn(signedIn.page, stack.consoleUrl, owner.email);
        return signedIn.context.storageState();
      })(),
    });
    try {
      const noJs = await context.newPage();
      await noJs.goto(`${stack.consoleUrl}/links/${linkId}/activity`);
      expect(await noJs.locator('#activity-log > li').count()).toBe(50);
      await noJs.getByRole('link', { name: 'Load more' }).click();
      await noJs.waitForURL(/cursor=/);
      expect(await noJs.locator('#activity-log > li').count()).toBe(12);
      expect(await noJs.locator('#activity-log > li').last().textContent()).toContain('2026-12-03 08:00 UTC');
    } finally {
      await context.close();
    }
  });
});
