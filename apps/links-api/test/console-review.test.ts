import type { AssetRow } from '@immish/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleStack, consoleScreenshot, seriousViolations, signIn, startConsoleStack } from './console-kit.ts';
import type { LinksApiHarness, TestUser } from './harness.ts';

/**
 * Issue 19 item 3 in Debian's Chromium at 390 px: the link form's "Review guest uploads" and byte budget, and the
 * review screen of a link (pending thumbnails, select, Approve / Reject, each confirmed). The pending uploads are
 * rows of `link_uploads` over ready photos that are not in the album, as an upload through the link leaves them
 * (the path from the gateway through the ingest worker is test/upload-review.e2e.test.ts). axe-core on each screen.
 */

const PHONE_390 = { width: 390, height: 844 };
let stack: ConsoleStack;
let h: LinksApiHarness;
let owner: TestUser;
let photos: AssetRow[];
let albumId: string;
let linkId: string;

beforeAll(async () => {
  stack = await startConsoleStack();
  h = stack.h;
  owner = await stack.signInUser('review-owner');
  photos = await stack.addPhotos(owner, 4);
  const album = await h.app.inject({
    method: 'POST',
    url: '/api/albums',
    headers: owner.headers,
    payload: { albumName: 'Party', assetIds: [photos[0]!.id] },
  });
  expect(album.statusCode).toBe(201);
  albumId = album.json().id;
  const link = await h.app.inject({
    method: 'POST',
    url: '/api/shared-links',
    headers: owner.headers,
    payload: { type: 'ALBUM', albumId, allowUpload: true, uploadReview: true, maxUploadBytes: 50_000_000 },
  });
  expect(link.statusCode).toBe(201);
  linkId = link.json().id;
  await h.tdb.db
    .insertInto('link_uploads')
    .values(photos.slice(1).map((p) => ({ link_id: linkId, asset_id: p.id, bytes: Number(p.size) })))
    .execute();
});

afterAll(async () => {
  await stack?.close();
});

const albumAssetIds = async () =>
  (
    (await h.app.inject({ url: `/api/albums/${albumId}/assets?page=1&size=50`, headers: owner.headers })).json() as {
      items: { id: string }[];
    }
  ).items.map((a) => a.id);

describe('the review screen of guest uploads in Chromium', { timeout: 180_000 }, () => {
  it('should show the moderation options in the link form, then approve 2 and reject 1 with confirmation', async () => {
    const { page, problems } = await stack.newPage(PHONE_390);
    await signIn(page, stack.consoleUrl, owner.email);

    // the link form (the page that works without JavaScript) shows the link's options
    await page.goto(`${stack.consoleUrl}/links/${linkId}/edit`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.getByLabel('Review guest uploads').isChecked()).toBe(true);
    expect(await page.getByLabel('Upload budget (MB)').inputValue()).toBe('50');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'phone-390-review-01-link-form');

    // the Links screen leads to the review screen
    await page.goto(`${stack.consoleUrl}/links`);
    await page.waitForSelector('body.page-links[data-ready="true"]');
    await page.getByRole('link', { name: 'Review guest uploads of Party' }).click();
    await page.waitForSelector('body.page-link-review[data-ready="true"]');
    expect(await page.locator('#review-count').textContent()).toBe('3 uploads wait for your review.');
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('#review-grid img')].every(
        (i) => i.complete && i.naturalWidth > 0,
      ),
    );
    expect(await page.locator('#review-grid img').count()).toBe(3);
    // each upload fills its square tile, its checkbox on the photo's corner (a label's default margin once pushed
    // the photo 12 px down: the box sat on the tile's edge and the photo spilled out of the tile)
    const misplaced: string[] = await page.evaluate(() =>
      [...document.querySelectorAll('#review-grid .review-item')].flatMap((item) => {
        const tile = item.getBoundingClientRect();
        const img = item.querySelector('img')!.getBoundingClientRect();
        const box = item.querySelector('input')!.getBoundingClientRect();
        const inside = (r: DOMRect, o: DOMRect) =>
          r.left >= o.left - 0.5 && r.top >= o.top - 0.5 && r.right <= o.right + 0.5 && r.bottom <= o.bottom + 0.5;
        return inside(img, tile) && inside(tile, img) && inside(box, img)
          ? []
          : [item.querySelector('input')!.getAttribute('aria-label') ?? '?'];
      }),
    );
    expect(misplaced).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE_390.width);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'phone-390-review-02-pending');

    // Select all ticks every box (a plain link, so without JavaScript too), Clear selection none
    const ticked = () =>
      page.$$eval('#review-grid input[type="checkbox"]', (boxes) => boxes.map((x) => (x as HTMLInputElement).checked));
    expect(await ticked()).toEqual([false, false, false]);
    await Promise.all([page.waitForURL(/\/uploads\?all=1$/), page.getByRole('link', { name: 'Select all' }).click()]);
    expect(await ticked()).toEqual([true, true, true]);
    await Promise.all([page.waitForURL(/\/uploads$/), page.getByRole('link', { name: 'Clear selection' }).click()]);
    expect(await ticked()).toEqual([false, false, false]);

    // approve two: a confirmation first
    const [, a, b, c] = photos as [AssetRow, AssetRow, AssetRow, AssetRow];
    await page.getByLabel(`Select ${a.original_file_name}`).check();
    await page.getByLabel(`Select ${b.original_file_name}`).check();
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForSelector('#review-confirm');
    expect(await page.locator('#review-confirm-text').textContent()).toContain('Approve 2 photos?');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'phone-390-review-03-confirm-approve');
    expect((await albumAssetIds()).sort()).toEqual([photos[0]!.id].sort()); // nothing before the confirmation
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForSelector('body.page-link-review[data-ready="true"]');
    expect(await page.getByText('2 uploads approved.').count()).toBe(1);
    expect(await page.locator('#review-count').textContent()).toBe('1 upload waits for your review.');
    expect((await albumAssetIds()).sort()).toEqual([photos[0]!.id, a.id, b.id].sort());

    // reject the last one, confirmed: deleted
    await page.getByLabel(`Select ${c.original_file_name}`).check();
    await page.getByRole('button', { name: 'Reject' }).click();
    await page.waitForSelector('#review-confirm');
    expect(await page.locator('#review-confirm-text').textContent()).toContain('Reject 1 photo?');
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForSelector('body.page-link-review[data-ready="true"]');
    expect(await page.getByText('1 upload rejected and deleted.').count()).toBe(1);
    expect(await page.locator('#review-count').textContent()).toBe('Nothing waits for your review.');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'phone-390-review-04-done');
    const gone = await h.tdb.db.selectFrom('assets').select('id').where('id', '=', c.id).executeTakeFirst();
    expect(gone).toBeUndefined();
    expect(await stack.storage.head(c.original_key)).toBeNull();
    expect(problems).toEqual([]);
  });
  it('should show another user nothing of the link, ?all=1 or not, and refuse a made-up ?all', async () => {
    const [pending] = await stack.addPhotos(owner, 1);
    await h.tdb.db
      .insertInto('link_uploads')
      .values({ link_id: linkId, asset_id: pending!.id, bytes: Number(pending!.size) })
      .execute();
    const intruder = await stack.signInUser('review-intruder');
    const { page } = await stack.newPage(PHONE_390);
    await signIn(page, stack.consoleUrl, intruder.email);
    for (const query of ['', '?all=1']) {
      const response = await page.goto(`${stack.consoleUrl}/links/${linkId}/uploads${query}`);
      expect(new URL(page.url()).pathname, query).toBe('/links');
      expect(response?.status()).toBe(200);
      expect(await page.locator('#review-grid').count()).toBe(0);
      expect(await page.content()).not.toContain(pending!.id);
    }
    // the owner's own page with a value the schema does not know: a 400, not a page with boxes ticked
    const ownerPage = (await stack.newPage(PHONE_390)).page;
    await signIn(ownerPage, stack.consoleUrl, owner.email);
    const odd = await ownerPage.goto(`${stack.consoleUrl}/links/${linkId}/uploads?all=yes`);
    expect(odd?.status()).toBe(400);
    const all = await ownerPage.goto(`${stack.consoleUrl}/links/${linkId}/uploads?all=1`);
    expect(all?.status()).toBe(200);
    expect(await ownerPage.locator(`input[value="${pending!.id}"]`).isChecked()).toBe(true);
  });
});
