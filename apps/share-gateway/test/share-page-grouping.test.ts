import type { AssetRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addManyPhotos,
  harnessStorage,
  launchChromium,
  listen,
  screenshot,
  seriousViolations,
  VIEWPORTS,
} from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §5: grouping by day or month (`?group=`, plain links, so without JavaScript too), headings formatted
 * through Intl in the page's language, laid out by the JavaScript grid (justified rows, phone squares) under
 * their headings; none on a link that hides metadata (dates are metadata). And photo pages' previous/next follow
 * the recipient's `?order`.
 */

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let photos: AssetRow[];
let context: BrowserContext | null = null;

/** 8 photos: 3 on 10 July, 2 on 11 July, 3 on 2 August 2026 (local dates) */
const DAYS = [
  '2026-07-10',
  '2026-07-10',
  '2026-07-10',
  '2026-07-11',
  '2026-07-11',
  '2026-08-02',
  '2026-08-02',
  '2026-08-02',
];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  photos = await addManyPhotos(h, storage, DAYS.length);
  for (const [i, p] of photos.entries()) {
    const at = new Date(`${DAYS[i]}T${String(8 + i).padStart(2, '0')}:00:00Z`);
    await h.tdb.db
      .updateTable('assets')
      .set({ local_date_time: at, file_created_at: at })
      .where('id', '=', p.id)
      .execute();
  }
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  await storage?.close();
});

afterEach(async () => {
  await context?.close();
  context = null;
});

const heading = (locale: string, key: string) =>
  key.length === 7
    ? new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', timeZone: 'UTC' }).format(
        new Date(`${key}-01T00:00:00Z`),
      )
    : new Intl.DateTimeFormat(locale, { dateStyle: 'full', timeZone: 'UTC' }).format(new Date(`${key}T00:00:00Z`));

async function album(opts: { showMetadata?: boolean } = {}) {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Summer' },
  );
  return h.createLink({ albumId, ...opts });
}

async function open(
  url: string,
  kind: keyof typeof VIEWPORTS,
  opts: { javaScriptEnabled?: boolean; locale?: string } = {},
): Promise<Page> {
  context = await browser.newContext({
    ...VIEWPORTS[kind],
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    ...(opts.locale ? { locale: opts.locale, extraHTTPHeaders: { 'accept-language': opts.locale } } : {}),
  });
  const page = await context.newPage();
  await page.route(/^(?!http:\/\/127\.0\.0\.1:)/, (route) => route.abort());
  await page.goto(url);
  if (opts.javaScriptEnabled !== false) await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
  return page;
}

const headings = (page: Page) => page.$$eval('#grid .group-heading h2', (hs) => hs.map((x) => x.textContent));

describe('grouping by day / month (Chromium)', () => {
  it('should group by day without JavaScript, headings in French through Intl', async () => {
    const link = await album();
    const page = await open(`${baseUrl}/share/${link.key}?group=day`, 'phone', {
      javaScriptEnabled: false,
      locale: 'fr',
    });
    // newest first (the album's order): 2 August, 11 July, 10 July
    expect(await headings(page)).toEqual(['2026-08-02', '2026-07-11', '2026-07-10'].map((d) => heading('fr', d)));
    expect(await headings(page)).toContain('vendredi 10 juillet 2026');
    expect(await page.getAttribute('.group-toggle a[aria-current="true"]', 'href')).toBe(
      `/share/${link.key}?group=day`,
    );
    // the tiles follow their headings: 3 + 2 + 3
    const sequence = await page.$$eval('#grid > li', (lis) =>
      lis.map((li) => (li.matches('.group-heading') ? 'H' : 't')),
    );
    expect(sequence.join('')).toBe('HtttHttHttt');
    await screenshot(page, 'grouping-day-nojs-phone');
  });

  it('should group by month with JavaScript on a desktop: justified rows under each heading', async () => {
    const link = await album();
    const page = await open(`${baseUrl}/share/${link.key}`, 'desktop');
    expect(await headings(page)).toEqual([]);
    await page.click('.group-toggle a[href$="group=month"]');
    await page.waitForSelector('body[data-ready="true"]', { state: 'attached' });
    await page.waitForSelector('#grid.virtual .group-heading');
    expect(await headings(page)).toEqual(['August 2026', 'July 2026']);
    expect(await page.getAttribute('#grid', 'data-layout')).toBe('justified');
    // each heading sits above its group's tiles, and no tile overlaps a heading
    const boxes = await page.$$eval('#grid > li', (lis) =>
      lis.map((li) => {
        const r = li.getBoundingClientRect();
        return { heading: li.matches('.group-heading'), top: r.top, bottom: r.bottom, id: li.id };
      }),
    );
    const [aug, jul] = boxes.filter((b) => b.heading);
    const tiles = boxes.filter((b) => !b.heading);
    expect(tiles).toHaveLength(8);
    const augTiles = tiles.filter((t) => t.top < jul!.top);
    expect(augTiles).toHaveLength(3);
    for (const t of augTiles) expect(t.top).toBeGreaterThanOrEqual(aug!.bottom - 1);
    for (const t of tiles.filter((x) => x.top >= jul!.top)) expect(t.top).toBeGreaterThanOrEqual(jul!.bottom - 1);
    // aspect ratios kept (justified) within 2%
    const ratios = await page.$$eval('#grid .tile', (lis) => lis.map((li) => li.clientWidth / li.clientHeight));
    for (const r of ratios) expect(Math.abs(r - 1.5) / 1.5).toBeLessThan(0.02);
    // photo links carry the grouping on, and back
    expect(await page.getAttribute('#grid .tile a', 'href')).toMatch(/\/photos\/[0-9a-f-]{36}\?group=month$/);
    await screenshot(page, 'grouping-month-desktop');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('should group by day in the phone grid with JavaScript', async () => {
    const link = await album();
    const page = await open(`${baseUrl}/share/${link.key}?group=day&order=asc`, 'phone');
    await page.waitForSelector('#grid.virtual .group-heading');
    // English headings as en-GB's Intl writes them (the page's `en`)
    expect(await headings(page)).toEqual(['2026-07-10', '2026-07-11', '2026-08-02'].map((d) => heading('en-GB', d)));
    expect(await page.getAttribute('#grid', 'data-layout')).toBe('squares');
    await screenshot(page, 'grouping-day-phone');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('should keep the tools to one row on a phone, the photos on the first screen, every choice in reach', async () => {
    const link = await album();
    for (const javaScriptEnabled of [true, false]) {
      const page = await open(`${baseUrl}/share/${link.key}?group=day`, 'phone', { javaScriptEnabled });
      const chips = await page.$$eval('.grid-tools .button, .grid-tools a', (els) =>
        els
          .filter((el) => (el as HTMLElement).offsetParent !== null)
          .map((el) => {
            const r = el.getBoundingClientRect();
            return { text: el.textContent?.trim(), top: Math.round(r.top), height: r.height };
          }),
      );
      // slideshow (with JavaScript), two orders, three groupings: one row, each a 40 px+ target
      expect(chips.length).toBe(javaScriptEnabled ? 6 : 5);
      expect(new Set(chips.map((c) => c.top)).size, JSON.stringify(chips)).toBe(1);
      for (const chip of chips) expect(chip.height).toBeGreaterThanOrEqual(40);
      // the first photos start on the first screen, under the header and that one row
      const firstTile = await page.$eval('#grid .tile', (el) => el.getBoundingClientRect().top);
      const header = await page.$eval('.share-header', (el) => el.getBoundingClientRect().bottom);
      expect(firstTile - header).toBeLessThan(130);
      // the page itself never scrolls sideways; the row does, and its last choice is reached and works
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
      // the first chip lines up with the header's title
      const left = await page.$eval('.grid-tools', (el) => {
        const first = [...el.querySelectorAll<HTMLElement>('.button, a')].find((x) => x.offsetParent !== null);
        return first?.getBoundingClientRect().left;
      });
      const titleLeft = await page.$eval('.share-header h1', (el) => el.getBoundingClientRect().left);
      expect(Math.abs((left ?? 0) - titleLeft)).toBeLessThanOrEqual(1);
      if (javaScriptEnabled) await screenshot(page, 'phone-tools-one-row');
      await Promise.all([page.waitForURL(/group=month/), page.click('.group-toggle a[href$="group=month"]')]);
    }
  });

  it('should offer dropping files where there is a mouse, not on a touch screen', async () => {
    const albumId = await h.createAlbum(
      photos.map((p) => p.id),
      { name: 'Drop' },
    );
    const link = await h.createLink({ albumId, allowUpload: true });
    for (const [kind, shown] of [
      ['desktop', true],
      ['phone', false],
    ] as const) {
      const page = await open(`${baseUrl}/share/${link.key}`, kind);
      expect(await page.getByText('Add photos & videos').isVisible(), kind).toBe(true);
      expect(await page.locator('.drop-hint').isVisible(), kind).toBe(shown);
      await context?.close();
      context = null;
    }
  });

  it('should offer no grouping on a link that hides metadata, and ignore ?group there', async () => {
    const link = await album({ showMetadata: false });
    const res = await h.app.inject(`/share/${link.key}?group=day`);
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('group-toggle');
    expect(res.body).not.toContain('group-heading');
    expect(res.body).not.toContain('2026-07');
  });
});

describe("photo pages' previous/next follow ?order", () => {
  it('should step in the chosen order and keep it in the links (with JavaScript, arrow keys)', async () => {
    const link = await album();
    const times = new Map(
      (await h.tdb.db.selectFrom('assets').select(['id', 'file_created_at']).execute()).map((r) => [
        r.id,
        r.file_created_at.getTime(),
      ]),
    );
    const byDate = [...photos].sort((a, b) => times.get(a.id)! - times.get(b.id)!);
    const [oldest, second] = byDate;
    // the album's own order (newest first): the oldest is last, nothing after it
    const standard = await h.app.inject(`/share/${link.key}/photos/${oldest!.id}`);
    expect(standard.body).toMatch(/id="viewer-next" rel="next" href="" [^>]*hidden/);
    // oldest first: the oldest comes first, and next is the second oldest, still oldest first
    const asc = await h.app.inject(`/share/${link.key}/photos/${oldest!.id}?order=asc`);
    expect(asc.body).toContain(`id="viewer-next" rel="next" href="/share/${link.key}/photos/${second!.id}?order=asc"`);
    expect(asc.body).toMatch(/id="viewer-prev" rel="prev" href="" [^>]*hidden/);
    expect(asc.body).toContain(`href="/share/${link.key}?order=asc#a-${oldest!.id}"`);

    const page = await open(`${baseUrl}/share/${link.key}/photos/${oldest!.id}?order=asc`, 'desktop');
    await Promise.all([page.waitForURL(`**/photos/${second!.id}?order=asc`), page.keyboard.press('ArrowRight')]);
    expect(await page.textContent('#viewer-position')).toBe(`2 / ${photos.length}`);
  });
});
