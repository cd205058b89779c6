import type { AssetRow, SharedLinkRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GRID_PAGE_SIZE } from '../src/routes/pages.ts';
import { addManyPhotos, addPhoto, harnessStorage, launchChromium, listen, screenshot } from './browser-kit.ts';
import { found, type GatewayHarness, startGateway } from './harness.ts';

/**
 * The share page in a real headless Chromium (docs/spec.md §5.4): viewing, the viewer's keyboard navigation, the
 * password flow, deep links, the metadata panel, not-found/expired pages and a phone-width screen.
 * Downloads and uploads: browser-transfer.test.ts. Screenshots: test-results/screenshots/share-page/.
 */

let h: GatewayHarness;
let storage: BlobStore;
let browser: Browser;
let baseUrl: string;
let photos: AssetRow[];
let context: BrowserContext | null = null;

const PHOTO_COUNT = 7;

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  photos = [];
  for (let i = 0; i < PHOTO_COUNT; i++) photos.push(await addPhoto(h, storage, i));
});

afterAll(async () => {
  await browser?.close();
  await storage?.close();
  await h?.close();
});

afterEach(async () => {
  await context?.close();
  context = null;
});

/** A fresh browser profile (no cookies) and a page that fails the test on any script error or foreign request. */
async function newPage(viewport = { width: 1280, height: 800 }): Promise<Page> {
  context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[14]|status of 410/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(baseUrl) && !url.startsWith('data:')) problems.push(`third-party request: ${url}`);
  });
  (page as Page & { problems: string[] }).problems = problems;
  return page;
}

const problemsOf = (page: Page) => (page as Page & { problems: string[] }).problems;

async function albumLink(opts: Parameters<GatewayHarness['createLink']>[0] = {}, name = 'Nice, July 2026') {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name, description: 'Summer nights on the Promenade des Anglais' },
  );
  return h.createLink({ albumId, ...opts });
}

/** Opens a share URL and waits for the bundle to have started (it marks `body[data-ready]`). */
async function open(page: Page, path: string) {
  const res = await page.goto(`${baseUrl}${path}`);
  await page.waitForSelector('body[data-ready="true"], body.page-message', { state: 'attached' });
  return res;
}

/** Every visible thumbnail has actually loaded (lazy loading included). */
async function thumbnailsLoaded(page: Page) {
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLImageElement>('img.tile-thumb')].every((i) => i.complete && i.naturalWidth > 0),
  );
}

const tileIds = (page: Page) => page.$$eval('li.tile', (tiles) => tiles.map((t) => t.id.replace(/^a-/, '')));

/** Form controls a screen reader could not name (docs/spec.md §5.4: form controls have labels). */
const unlabeledControls = (page: Page) =>
  page.$$eval('input:not([type="hidden"]), select, textarea, button', (els) =>
    els
      .filter((el) => {
        const labelled = (el as HTMLInputElement).labels?.length || el.getAttribute('aria-label');
        const text = el.tagName === 'BUTTON' && el.textContent?.trim();
        return !labelled && !text;
      })
      .map((el) => el.outerHTML),
  );

const viewerPosition = (page: Page) => page.textContent('#viewer-position');
const viewerImage = (page: Page) => page.getAttribute('#viewer-media', 'src');

describe('GET /share/:key (browser)', () => {
  it('should show the album with the right number of photos', async () => {
    const link = await albumLink();
    const page = await newPage();
    const res = await open(page, `/share/${link.key}`);
    expect(res?.status()).toBe(200);
    expect(await page.textContent('h1')).toBe('Nice, July 2026');
    expect(await page.textContent('.share-count')).toBe(`${PHOTO_COUNT} photos & videos`);
    expect(await page.locator('li.tile').count()).toBe(PHOTO_COUNT);
    await thumbnailsLoaded(page);
    expect(await page.locator('#download-all').isVisible()).toBe(true);
    await screenshot(page, '01-album-grid');
    expect(problemsOf(page)).toEqual([]);
  });

  it('should open the viewer and move through the photos with the arrow keys, Esc closing it', async () => {
    const link = await albumLink();
    const page = await newPage();
    await open(page, `/share/${link.key}`);
    const ids = await tileIds(page);
    await page.click(`#a-${ids[0]} a`);
    await page.waitForSelector('#viewer', { state: 'visible' });
    expect(await viewerPosition(page)).toBe(`1 / ${PHOTO_COUNT}`);
    expect(await viewerImage(page)).toBe(`/share/${link.key}/assets/${ids[0]}/preview`);
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}/photos/${ids[0]}`);
    await page.waitForFunction(() => (document.getElementById('viewer-media') as HTMLImageElement).complete);
    expect(await page.locator('#viewer-meta').isVisible()).toBe(true);
    expect(await page.textContent('#viewer-meta')).toContain('Fujifilm X100V');
    // the viewer is dark: its controls too, the slideshow's interval picker included (not a white native box)
    const fills = await page.$$eval('.viewer-bar .button:not([hidden]), .viewer-bar select', (els) =>
      els
        .filter((el) => el.getClientRects().length > 0)
        .map((el) => {
          const [r, g, b, a = 1] = getComputedStyle(el)
            .backgroundColor.match(/[\d.]+/g)!
            .map(Number);
          return { id: el.id || el.className, light: a > 0.5 && (r! + g! + b!) / 3 > 128 };
        }),
    );
    expect(fills.length).toBeGreaterThan(3);
    expect(fills.filter((f) => f.light)).toEqual([]);
    await screenshot(page, '02-viewer-with-metadata');

    await page.keyboard.press('ArrowRight');
    expect(await viewerPosition(page)).toBe(`2 / ${PHOTO_COUNT}`);
    expect(await viewerImage(page)).toBe(`/share/${link.key}/assets/${ids[1]}/preview`);
    await page.keyboard.press('ArrowRight');
    expect(await viewerPosition(page)).toBe(`3 / ${PHOTO_COUNT}`);
    await page.keyboard.press('ArrowLeft');
    expect(await viewerPosition(page)).toBe(`2 / ${PHOTO_COUNT}`);
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}/photos/${ids[1]}`);
    // the first photo has no previous one
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await viewerPosition(page)).toBe(`1 / ${PHOTO_COUNT}`);
    expect(await page.locator('#viewer-prev').isVisible()).toBe(false);

    await page.keyboard.press('Escape');
    await page.waitForSelector('#viewer', { state: 'hidden' });
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}`);
    expect(problemsOf(page)).toEqual([]);
  });

  it('should let a browser without JavaScript browse photo by photo', async () => {
    const link = await albumLink();
    context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1024, height: 700 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/share/${link.key}`);
    expect(await page.locator('li.tile').count()).toBe(PHOTO_COUNT);
    const ids = await tileIds(page);
    await page.click(`#a-${ids[0]} a`);
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}/photos/${ids[0]}`);
    expect(await viewerPosition(page)).toBe(`1 / ${PHOTO_COUNT}`);
    await page.click('#viewer-next');
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}/photos/${ids[1]}`);
    expect(await viewerPosition(page)).toBe(`2 / ${PHOTO_COUNT}`);
    await screenshot(page, '03-photo-page-without-javascript');
    await page.click('#viewer-close');
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}`);
  });

  it('should not show a metadata panel, file names or EXIF when the link hides metadata', async () => {
    const link = await albumLink({ showMetadata: false });
    const page = await newPage();
    await open(page, `/share/${link.key}`);
    const ids = await tileIds(page);
    await page.click(`#a-${ids[2]} a`);
    await page.waitForSelector('#viewer', { state: 'visible' });
    expect(await page.locator('#viewer-meta').count()).toBe(0);
    expect(await page.locator('#viewer-info').count()).toBe(0);
    const html = await page.content();
    // the latitude (43.68333) as a pattern that a timestamp's …:43.68xZ cannot match (harness.ts GPS_SECRETS)
    for (const secret of ['DSCF', 'Fujifilm', 'X100V', '23mm', 'Evening', /(?<!\d:?)43[.,]68/])
      expect({ secret: String(secret), found: found(html, secret) }).toEqual({ secret: String(secret), found: null });
    await page.waitForFunction(() => (document.getElementById('viewer-media') as HTMLImageElement).complete);
    await screenshot(page, '04-viewer-metadata-hidden');
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('password-protected links (browser)', () => {
  async function lockedLink(): Promise<SharedLinkRow> {
    return albumLink({ password: 'open sesame' }, 'Family only');
  }

  it('should ask for the password, say "Wrong password", then show the grid', async () => {
    const link = await lockedLink();
    const page = await newPage();
    const res = await open(page, `/share/${link.key}`);
    expect(res?.status()).toBe(401);
    expect(await page.textContent('h1')).toBe('Password required');
    expect(await page.locator('li.tile').count()).toBe(0);
    expect(await unlabeledControls(page)).toEqual([]);
    await screenshot(page, '05-password-form');

    await page.getByLabel('Password').fill('guess');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    expect(await page.textContent('[role="alert"]')).toContain('Wrong password');
    await screenshot(page, '06-wrong-password');

    await page.getByLabel('Password').fill('open sesame');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    await page.waitForSelector('body[data-ready="true"]');
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}`);
    expect(await page.textContent('h1')).toBe('Family only');
    expect(await page.locator('li.tile').count()).toBe(PHOTO_COUNT);
    await thumbnailsLoaded(page);
    await screenshot(page, '07-unlocked-grid');
    expect(problemsOf(page)).toEqual([]);
  });

  it('should bring a deep link to its photo after the password prompt', async () => {
    const link = await lockedLink();
    const page = await newPage();
    const target = photos[3]!.id;
    await open(page, `/share/${link.key}/photos/${target}`);
    expect(await page.textContent('h1')).toBe('Password required');
    await page.getByLabel('Password').fill('open sesame');
    await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
    await page.waitForSelector('body[data-ready="true"]');
    expect(new URL(page.url()).pathname).toBe(`/share/${link.key}/photos/${target}`);
    expect(await viewerImage(page)).toBe(`/share/${link.key}/assets/${target}/preview`);
    await page.waitForFunction(() => (document.getElementById('viewer-media') as HTMLImageElement).complete);
    await screenshot(page, '08-deep-link-photo-page');
    // the photo page answers the arrow keys too
    const before = await viewerPosition(page);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('ArrowRight')]);
    expect(await viewerPosition(page)).not.toBe(before);
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('pages of links that do not work (browser)', () => {
  it('should show "Link not found" for an unknown link', async () => {
    const page = await newPage();
    const res = await open(page, '/share/this-link-does-not-exist');
    expect(res?.status()).toBe(404);
    expect(await page.textContent('h1')).toBe('Link not found');
    await screenshot(page, '09-not-found');
  });

  it('should show the expiry date of an expired link', async () => {
    const link = await albumLink({ expiresAt: new Date(Date.UTC(2026, 0, 31, 18, 0, 0)) });
    const page = await newPage();
    const res = await open(page, `/share/${link.key}`);
    expect(res?.status()).toBe(410);
    expect(await page.textContent('h1')).toBe('This link expired on 31 January 2026');
    await screenshot(page, '10-expired');
  });
});

describe('phone-width screen (browser)', () => {
  it('should render the grid and the viewer without horizontal scrolling', async () => {
    const link = await albumLink({ allowUpload: true });
    const page = await newPage({ width: 360, height: 740 });
    await open(page, `/share/${link.key}`);
    await thumbnailsLoaded(page);
    const overflow = () =>
      page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    const columns = await page.$eval('#grid', (g) => getComputedStyle(g).gridTemplateColumns.split(' ').length);
    expect(columns).toBeGreaterThanOrEqual(2);
    expect(await unlabeledControls(page)).toEqual([]);
    await screenshot(page, '11-phone-grid');
    await page.click('li.tile a');
    await page.waitForSelector('#viewer', { state: 'visible' });
    await page.waitForFunction(() => (document.getElementById('viewer-media') as HTMLImageElement).complete);
    expect(await overflow()).toBeLessThanOrEqual(0);
    const img = await page.$eval('#viewer-media', (i) => i.getBoundingClientRect().width);
    expect(img).toBeLessThanOrEqual(360);
    await screenshot(page, '12-phone-viewer');
    await page.keyboard.press('Escape');
    // the password page too
    const locked = await albumLink({ password: 'pw' });
    await open(page, `/share/${locked.key}`);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await screenshot(page, '13-phone-password');
    expect(problemsOf(page)).toEqual([]);
  });
});

describe('large albums (browser)', () => {
  it('should load the next pages while scrolling, and the viewer should walk across them', async () => {
    const many = await addManyPhotos(h, storage, GRID_PAGE_SIZE + 5);
    const albumId = await h.createAlbum(
      many.map((p) => p.id),
      { name: 'Everything from the summer' },
    );
    const link = await h.createLink({ albumId });
    const page = await newPage();
    await open(page, `/share/${link.key}`);
    // the first page's items are laid out; only the tiles near the viewport are in the DOM
    expect(await page.getAttribute('#grid', 'data-loaded')).toBe(String(GRID_PAGE_SIZE));
    expect(await page.locator('li.tile').count()).toBeLessThan(GRID_PAGE_SIZE);
    // scrolling to the end fetches the next page
    await page.keyboard.press('End');
    await page.waitForFunction(
      (n) => document.getElementById('grid')?.dataset.loaded === String(n),
      GRID_PAGE_SIZE + 5,
    );
    // every page loaded from the first: the page links are gone
    await page.waitForSelector('#pagination', { state: 'detached' });
    await page.keyboard.press('End');
    await page.waitForSelector(`li.tile a[data-index="${GRID_PAGE_SIZE + 4}"]`);
    // the viewport only: a full-page capture lays the page out in a viewport as tall as the page for a moment. In a
    // CI run under load (2026-12-07) the grid re-rendered during it for the top of the page — the capture shows its
    // first rows and an empty end — and the last tile was then out of the DOM for the click's 30 s.
    await screenshot(page, '14-large-album-scrolled', { fullPage: false });

    // and the end brought into view again before the click, whatever moved it
    await page.keyboard.press('End');
    await page.click(`li.tile a[data-index="${GRID_PAGE_SIZE + 4}"]`);
    await page.waitForSelector('#viewer', { state: 'visible' });
    expect(await viewerPosition(page)).toBe(`${GRID_PAGE_SIZE + 5} / ${GRID_PAGE_SIZE + 5}`);
    for (let i = 0; i < 6; i++) await page.keyboard.press('ArrowLeft');
    expect(await viewerPosition(page)).toBe(`${GRID_PAGE_SIZE - 1} / ${GRID_PAGE_SIZE + 5}`);
    // one visit, one view: the continuation pages are not counted
    expect((await h.counters(link.id)).view).toBe(1);
    expect(problemsOf(page)).toEqual([]);
  });
});
