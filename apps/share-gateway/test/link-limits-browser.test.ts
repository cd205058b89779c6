import type { AssetRow, SharedLinkRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPhoto, harnessStorage, launchChromium, listen, screenshot } from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 19 item 2: a one-time link (`maxVisits: 1`) survives being pasted into every chat of the issue: each
 * chat's preview bot fetches it three times and gets the Open Graph card (title and image), consuming nothing;
 * then a person opens it once in a real Chromium and sees the album; then another browser finds it used up.
 * A password link's card names no image, and a bot cannot unlock anything.
 */

/** The preview fetchers of issue 19 item 2, with the User-Agent each sends (README "Link-preview bots"). */
const PREVIEW_BOTS: [string, string][] = [
  ['Slack', 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)'],
  ['WhatsApp', 'WhatsApp/2.23.20.0 A'],
  ['Facebook', 'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)'],
  ['X', 'Twitterbot/1.0'],
  ['Discord', 'Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)'],
  ['Telegram', 'TelegramBot (like TwitterBot)'],
  ['LinkedIn', 'LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)'],
  [
    'Applebot',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)',
  ],
  [
    'iMessage',
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0',
  ],
  ['Teams', 'Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com'],
  ['Teams (MicrosoftPreview)', 'Mozilla/5.0 (compatible; MicrosoftPreview/2.0; +https://aka.ms/MicrosoftPreview)'],
  ['Signal', 'WhatsApp/2'],
];

let browser: Browser;
let h: GatewayHarness;
let storage: BlobStore;
let baseUrl: string;
let photos: AssetRow[];

beforeAll(async () => {
  browser = await launchChromium();
  h = await startGateway();
  storage = harnessStorage(h);
  baseUrl = await listen(h);
  photos = [];
  for (let i = 0; i < 4; i++) photos.push(await addPhoto(h, storage, i));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await storage?.close();
  await h?.close();
});

const metaOf = (body: string) =>
  Object.fromEntries([...body.matchAll(/<meta property="(og:[a-z_:]+)" content="([^"]*)">/g)].map((m) => [m[1], m[2]]));

async function oneTimeLink(opts: { password?: string } = {}): Promise<SharedLinkRow> {
  const albumId = await h.createAlbum(
    photos.map((p) => p.id),
    { name: 'Summer by the lake' },
  );
  const link = await h.createLink({ albumId, ...opts });
  await h.tdb.db.updateTable('shared_links').set({ max_visits: 1 }).where('id', '=', link.id).execute();
  return link;
}

const visitsUsed = async (linkId: string) =>
  (await h.tdb.db.selectFrom('shared_links').select('visits_used').where('id', '=', linkId).executeTakeFirstOrThrow())
    .visits_used;

describe('a one-time link pasted into every chat', () => {
  it('should give every preview bot the card (3 fetches each), then admit one person, then be used up', async () => {
    const link = await oneTimeLink();
    for (const [name, ua] of PREVIEW_BOTS) {
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${baseUrl}/share/${link.key}`, { headers: { 'user-agent': ua } });
        expect(res.status, name).toBe(200);
        const body = await res.text();
        const og = metaOf(body);
        expect(og['og:title'], name).toBe('Summer by the lake');
        expect(og['og:image'], name).toBe(`http://share.test/share/${link.key}/og.jpg`);
        // the card only: no grid, no script, no asset URL but the card's
        expect(body, name).not.toContain('tile-thumb');
        expect(body, name).not.toContain('<script');
        const card = await fetch(`${baseUrl}${new URL(og['og:image']!).pathname}`, { headers: { 'user-agent': ua } });
        expect([card.status, card.headers.get('content-type')], name).toEqual([200, 'image/jpeg']);
      }
      // nothing else of a limited link: content routes 403, and nothing is consumed
      const content = await fetch(`${baseUrl}/api/shared-links/me?key=${link.key}`, { headers: { 'user-agent': ua } });
      expect(content.status, name).toBe(403);
      const thumb = await fetch(`${baseUrl}/share/${link.key}/assets/${photos[0]!.id}/thumbnail`, {
        headers: { 'user-agent': ua },
      });
      expect(thumb.status, name).toBe(403);
    }
    expect(await visitsUsed(link.id)).toBe(0);
    expect((await h.counters(link.id)).view).toBe(0);

    // a person opens it once and sees the album
    const person = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const page = await person.newPage();
      const res = await page.goto(`${baseUrl}/share/${link.key}`);
      expect(res?.status()).toBe(200);
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll<HTMLImageElement>('img.tile-thumb')].length === 4 &&
          [...document.querySelectorAll<HTMLImageElement>('img.tile-thumb')].every(
            (i) => i.complete && i.naturalWidth > 0,
          ),
        undefined,
        { timeout: 30_000 },
      );
      expect(await page.locator('h1').first().textContent()).toContain('Summer by the lake');
      await screenshot(page, 'one-time-link-opened');
      // browsing on (the photo page, a reload) is the same visit
      await page.goto(`${baseUrl}/share/${link.key}/photos/${photos[1]!.id}`);
      await page.waitForFunction(() => (document.getElementById('viewer-media') as HTMLImageElement | null)?.complete);
      expect((await page.reload())?.status()).toBe(200);
    } finally {
      await person.close();
    }
    expect(await visitsUsed(link.id)).toBe(1);

    // anyone else finds it used up
    const other = await browser.newContext();
    try {
      const page = await other.newPage();
      const res = await page.goto(`${baseUrl}/share/${link.key}`);
      expect(res?.status()).toBe(410);
      expect(await page.locator('h1').textContent()).toBe('This link has been used up');
      await screenshot(page, 'one-time-link-used-up');
    } finally {
      await other.close();
    }
    expect(await visitsUsed(link.id)).toBe(1);
  }, 180_000);

  it("should give a password link's bots a card with no image and no album name, and never unlock for a bot", async () => {
    const link = await oneTimeLink({ password: 'lake' });
    for (const [name, ua] of PREVIEW_BOTS) {
      const res = await fetch(`${baseUrl}/share/${link.key}`, { headers: { 'user-agent': ua } });
      expect(res.status, name).toBe(200);
      const body = await res.text();
      const og = metaOf(body);
      expect(og['og:title'], name).toBe('Shared photos');
      expect(body, name).not.toContain('og:image');
      expect(body, name).not.toContain('Summer by the lake');
      expect((await fetch(`${baseUrl}/share/${link.key}/og.jpg`, { headers: { 'user-agent': ua } })).status).toBe(401);
      const unlock = await fetch(`${baseUrl}/api/shared-links/login?key=${link.key}`, {
        method: 'POST',
        headers: { 'user-agent': ua, 'content-type': 'application/json' },
        body: JSON.stringify({ password: 'lake' }),
      });
      expect(unlock.status, name).toBe(403);
      expect(unlock.headers.get('set-cookie'), name).toBeNull();
    }
    expect(await visitsUsed(link.id)).toBe(0);
  }, 120_000);
});
