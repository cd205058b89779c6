import { randomBytes } from 'node:crypto';
import { linkAssetPosition, listLinkAssets } from '@immish/domain';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkResolver } from '../src/link-resolver.ts';
import { GRID_PAGE_SIZE } from '../src/routes/pages.ts';
import { CONTENT_SECURITY_POLICY } from '../src/security-headers.ts';
import { escapeHtml, html, jsonScript, raw } from '../src/views/html.ts';
import { found, type GatewayHarness, GPS_SECRETS, jpegWithExif, PHOTO_YEAR, startGateway } from './harness.ts';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

/** A JPEG with EXIF and GPS; random bytes after its end marker keep every checksum unique. */
const uniqueJpeg = async () => Buffer.concat([await jpegWithExif(), randomBytes(16)]);
const newAsset = async (opts: Parameters<GatewayHarness['createAsset']>[0] = {}) =>
  h.createAsset({ bytes: await uniqueJpeg(), ...opts });

const get = (url: string, cookie?: string) =>
  h.app.inject({ method: 'GET', url, ...(cookie ? { headers: { cookie } } : {}) });

async function albumLink(opts: Parameters<GatewayHarness['createLink']>[0] & { name?: string; count?: number } = {}) {
  const assets = [];
  for (let i = 0; i < (opts.count ?? 2); i++) assets.push(await newAsset());
  const albumId = await h.createAlbum(
    assets.map((a) => a.id),
    { ...(opts.name !== undefined ? { name: opts.name } : {}) },
  );
  const link = await h.createLink({ ...opts, albumId });
  return { link, assets, albumId };
}

/** Every `<meta property="og:…">` of a page. */
function ogTags(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of body.matchAll(/<meta property="(og:[a-z_]+)" content="([^"]*)">/g)) out[m[1]!] = m[2]!;
  return out;
}

describe('html templates', () => {
  it('should escape every interpolation and keep only explicit raw() markup', () => {
    const evil = `<script>alert("x")</script>' onload='x`;
    expect(html`<p title="${evil}">${evil}</p>`.value).toBe(`<p title="${escapeHtml(evil)}">${escapeHtml(evil)}</p>`);
    expect(html`<p>${[html`<b>${'<i>'}</b>`, '<u>']}</p>`.value).toBe('<p><b>&lt;i&gt;</b>&lt;u&gt;</p>');
    expect(html`${raw('<hr>')}${null}${undefined}${false}${0}`.value).toBe('<hr>0');
  });

  it('should keep JSON data blocks from closing their script element', () => {
    const block = jsonScript('d', { name: '</script><script>alert(1)</script>', sep: '\u2028' }).value;
    expect(block.match(/<\/script>/g)).toHaveLength(1);
    expect(JSON.parse(block.replace(/^<script[^>]*>/, '').replace(/<\/script>$/, ''))).toEqual({
      name: '</script><script>alert(1)</script>',
      sep: '\u2028',
    });
  });
});

describe('GET /share/:key', () => {
  it('should render the album: title, description, count, one lazy thumbnail link per photo, OG tags', async () => {
    const { link, assets } = await albumLink({ name: 'Summer 2026', count: 3 });
    const res = await get(`/share/${link.key}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.body;
    expect(body).toContain('<h1>Summer 2026</h1>');
    expect(body).toContain('By the sea');
    expect(body).toContain('3 photos &amp; videos');
    expect(body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    const tiles = [...body.matchAll(/<li class="tile" id="a-([0-9a-f-]{36})">/g)].map((m) => m[1]);
    expect(new Set(tiles)).toEqual(new Set(assets.map((a) => a.id)));
    for (const a of assets) {
      expect(body).toContain(`href="/share/${link.key}/photos/${a.id}"`);
      expect(body).toMatch(
        new RegExp(
          `<img class="tile-thumb" src="/share/${link.key}/assets/${a.id}/thumbnail" alt="Photo \\d of 3" loading="lazy"`,
        ),
      );
    }
    const og = ogTags(body);
    expect(og['og:title']).toBe('Summer 2026');
    expect(og['og:description']).toBe('3 shared photos &amp; videos');
    expect(og['og:image']).toBe(`http://share.test/share/${link.key}/og.jpg`);
    expect(og['og:url']).toBe(`http://share.test/share/${link.key}`);
  });

  it('should render an album name and description with markup inert', async () => {
    const evil = '<script>alert(1)</script>';
    const { link, albumId } = await albumLink({ name: evil });
    await h.tdb.db
      .updateTable('albums')
      .set({ description: `"><img src=x onerror=alert(2)>` })
      .where('id', '=', albumId)
      .execute();
    const body = (await get(`/share/${link.key}`)).body;
    expect(body).not.toContain('<script>alert(1)</script>');
    expect(body).not.toContain('<img src=x');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
    // the only scripts are the bundle and the JSON data block
    const scripts = [...body.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([
      expect.stringMatching(/^ src="\/static\/share\.js\?v=[\w-]+" defer$/),
      ' type="application/json" id="share-data"',
    ]);
  });

  it('should use the link description, else "Shared photos", for an INDIVIDUAL link', async () => {
    const a = await newAsset();
    const described = await h.createLink({ assetIds: [a.id], description: 'For grandma' });
    expect((await get(`/share/${described.key}`)).body).toContain('<h1>For grandma</h1>');
    const bare = await h.createLink({ assetIds: [a.id] });
    const body = (await get(`/share/${bare.key}`)).body;
    expect(body).toContain('<h1>Shared photos</h1>');
    expect(body).toContain('1 photo or video');
    expect(ogTags(body)['og:description']).toBe('1 shared photos &amp; videos');
  });

  it('should serve the same page by slug under /share/:slug and /s/:slug, with links under the slug', async () => {
    const { link } = await albumLink({ slug: 'beach-days' });
    for (const url of ['/share/beach-days', '/s/beach-days', '/share/BEACH-days']) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('href="/share/beach-days/photos/');
    }
    expect(link.slug).toBe('beach-days');
  });

  it('should not put file names, EXIF, GPS, dates or the metadata panel in the page when showMetadata=false', async () => {
    const { link } = await albumLink({ showMetadata: false });
    const body = (await get(`/share/${link.key}`)).body;
    for (const secret of [
      'IMG_',
      'SecretCam',
      'X100',
      'Lens9',
      'secret place',
      ...GPS_SECRETS,
      PHOTO_YEAR,
      'viewer-meta',
    ]) {
      expect({ secret: String(secret), found: found(body, secret) }).toEqual({ secret: String(secret), found: null });
    }
    const data = JSON.parse(/<script type="application\/json" id="share-data">(.*?)<\/script>/s.exec(body)![1]!);
    expect(data.items.every((i: { meta: unknown }) => i.meta === null)).toBe(true);
  });

  it('should carry the metadata of each photo for the viewer when showMetadata=true', async () => {
    const { link } = await albumLink({ count: 1 });
    const body = (await get(`/share/${link.key}`)).body;
    expect(body).toContain('id="viewer-meta"');
    const data = JSON.parse(/<script type="application\/json" id="share-data">(.*?)<\/script>/s.exec(body)![1]!);
    expect(data.items[0].meta.fileName).toMatch(/^IMG_\d+\.jpg$/);
    expect(data.items[0].meta.fields).toEqual(
      expect.arrayContaining([
        ['Camera', 'SecretCam X100'],
        ['Lens', 'Lens9'],
        ['Place', '48.85660° N, 2.35080° E'],
        ['Date', '2 Jan 2020, 03:04'],
      ]),
    );
  });

  it('should offer Download all only with allowDownload, and the upload form only with allowUpload', async () => {
    const open = (await albumLink({ allowDownload: true, allowUpload: true })).link;
    const openBody = (await get(`/share/${open.key}`)).body;
    expect(openBody).toContain(`id="download-all" data-export-url="/share/${open.key}/exports"`);
    expect(openBody).toContain(`action="/share/${open.key}/uploads" enctype="multipart/form-data"`);
    expect(openBody).toMatch(/<label for="upload-files"[^>]*>Add photos &amp; videos<\/label>/);
    const closed = (await albumLink({ allowDownload: false, allowUpload: false })).link;
    const closedBody = (await get(`/share/${closed.key}`)).body;
    expect(closedBody).not.toContain('download-all');
    expect(closedBody).not.toContain('viewer-download');
    expect(closedBody).not.toContain('/uploads');
    expect(closedBody).not.toContain('/original');
  });

  it('should paginate large albums with server-side page links', async () => {
    const assets = [];
    for (let i = 0; i < GRID_PAGE_SIZE + 3; i++) assets.push(await newAsset({ derivatives: false }));
    const albumId = await h.createAlbum(assets.map((a) => a.id));
    const link = await h.createLink({ albumId });
    const first = (await get(`/share/${link.key}`)).body;
    expect(first.match(/<li class="tile"/g)).toHaveLength(GRID_PAGE_SIZE);
    expect(first).toContain(`rel="next" href="/share/${link.key}?page=2"`);
    const second = await get(`/share/${link.key}?page=2`);
    expect(second.statusCode).toBe(200);
    expect(second.body.match(/<li class="tile"/g)).toHaveLength(3);
    expect(second.body).toContain(`rel="prev" href="/share/${link.key}"`);
    expect(second.body).toContain('<span aria-current="page">2</span>');
    // out of range or junk → the nearest real page
    expect((await get(`/share/${link.key}?page=99`)).body).toContain('<span aria-current="page">2</span>');
    expect((await get(`/share/${link.key}?page=x`)).body).toContain('<span aria-current="page">1</span>');

    // the bundle's next page while scrolling: the same data and page links, nothing else (no tiles, no card)
    const shareData = (body: string) =>
      JSON.parse(/<script type="application\/json" id="share-data">([\s\S]*?)<\/script>/.exec(body)?.[1] ?? 'null');
    const pagination = (body: string) => /<nav class="pagination"[\s\S]*?<\/nav>/.exec(body)?.[0];
    const next = await h.app.inject({
      method: 'GET',
      url: `/share/${link.key}?page=2`,
      headers: { 'x-share-continuation': '1' },
    });
    expect(next.statusCode).toBe(200);
    expect(next.headers.vary).toBe('accept-language, x-share-continuation, accept-encoding');
    expect(next.headers['cache-control']).toBe('no-store');
    expect(shareData(next.body)).not.toBeNull();
    expect(shareData(next.body)).toEqual(shareData(second.body));
    expect(pagination(next.body)).toBeDefined();
    expect(pagination(next.body)).toBe(pagination(second.body));
    for (const absent of ['<li class="tile"', 'id="grid"', 'og:', 'id="viewer"', '<script src='])
      expect(next.body).not.toContain(absent);
    expect(next.body.length).toBeLessThan(second.body.length / 2);
  });

  it('should count a page view (GET, not HEAD)', async () => {
    const { link } = await albumLink();
    await get(`/share/${link.key}`);
    await get(`/share/${link.key}`);
    expect((await h.app.inject({ method: 'HEAD', url: `/share/${link.key}` })).statusCode).toBe(200);
    expect((await h.counters(link.id)).view).toBe(2);
  });

  it('should answer 404 "Link not found" for an unknown key or slug', async () => {
    for (const url of ['/share/no-such-slug', `/share/${'k'.repeat(43)}`, '/s/nope-nope']) {
      const res = await get(url);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('<h1>Link not found</h1>');
    }
  });

  it('should answer 404 once the link is deleted', async () => {
    const { link } = await albumLink();
    await h.tdb.db.deleteFrom('shared_links').where('id', '=', link.id).execute();
    const res = await (await h.newApp()).inject({ method: 'GET', url: `/share/${link.key}` });
    expect(res.statusCode).toBe(404);
  });

  it('should answer 410 "This link expired on <date>" for an expired link, without OG tags', async () => {
    const expiresAt = new Date(Date.UTC(2025, 2, 14, 12, 0, 0));
    const { link } = await albumLink({ expiresAt });
    const res = await get(`/share/${link.key}`);
    expect(res.statusCode).toBe(410);
    expect(res.body).toContain('This link expired on <time datetime="2025-03-14T12:00:00.000Z">14 March 2025</time>');
    expect(ogTags(res.body)).toEqual({});
  });

  it('should show the password form (401) with no album data and no OG tags when the link is locked', async () => {
    const { link } = await albumLink({ password: 'hunter2', name: 'Private album' });
    const res = await get(`/share/${link.key}?page=2`);
    expect(res.statusCode).toBe(401);
    const body = res.body;
    expect(body).toContain('<h1>Password required</h1>');
    expect(body).toContain(
      `<form class="password-form" method="post" action="/api/shared-links/login?key=${link.key}">`,
    );
    expect(body).toContain(`<input type="hidden" name="returnTo" value="/share/${link.key}?page=2">`);
    expect(body).toContain('<label class="field-label" for="password">Password</label>');
    expect(body).toContain('<input id="password" name="password" type="password"');
    expect(body).not.toContain('Private album');
    expect(body).not.toContain('/thumbnail');
    expect(ogTags(body)).toEqual({});
    // only known messages: the query cannot put text on the page
    for (const junk of ['constructor', '__proto__', '<b>x</b>']) {
      const page = (await get(`/share/${link.key}?unlock_error=${encodeURIComponent(junk)}`)).body;
      expect(page).not.toContain('role="alert"');
    }
  });

  it('should show "Wrong password" after a wrong form post, and the album after the right one', async () => {
    const { link } = await albumLink({ password: 'hunter2', name: 'Private album' });
    const wrong = await h.app.inject({
      method: 'POST',
      url: `/api/shared-links/login?key=${link.key}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `password=nope&returnTo=${encodeURIComponent(`/share/${link.key}`)}`,
    });
    expect(wrong.statusCode).toBe(303);
    const again = await get(wrong.headers.location as string);
    expect(again.statusCode).toBe(401);
    expect(again.body).toContain('Wrong password');
    expect(again.body).toContain('aria-invalid="true"');
    const right = await h.app.inject({
      method: 'POST',
      url: `/api/shared-links/login?key=${link.key}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `password=hunter2&returnTo=${encodeURIComponent(`/share/${link.key}`)}`,
    });
    expect(right.statusCode).toBe(303);
    const cookie = `${right.cookies[0]!.name}=${right.cookies[0]!.value}`;
    const page = await get(right.headers.location as string, cookie);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Private album</h1>');
    expect(ogTags(page.body)['og:title']).toBe('Private album');
  });

  it('should post the password form of a slug link with ?slug= and come back to /s/:slug', async () => {
    const { link } = await albumLink({ password: 'pw', slug: 'family-only' });
    const locked = await get('/s/family-only');
    expect(locked.statusCode).toBe(401);
    expect(locked.body).toContain('action="/api/shared-links/login?slug=family-only"');
    expect(locked.body).toContain('name="returnTo" value="/s/family-only"');
    const right = await h.app.inject({
      method: 'POST',
      url: '/api/shared-links/login?slug=family-only',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `password=pw&returnTo=${encodeURIComponent('/s/family-only')}`,
    });
    expect(right.statusCode).toBe(303);
    expect(right.headers.location).toBe('/s/family-only');
    const cookie = `${right.cookies[0]!.name}=${right.cookies[0]!.value}`;
    expect((await get('/s/family-only', cookie)).statusCode).toBe(200);
    expect(link.slug).toBe('family-only');
  });

  it('should say so when the form is throttled after too many wrong passwords', async () => {
    const { link } = await albumLink({ password: 'right' });
    const form = (password: string) =>
      h.app.inject({
        method: 'POST',
        url: `/api/shared-links/login?key=${link.key}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        remoteAddress: '203.0.113.9',
        payload: `password=${password}&returnTo=${encodeURIComponent(`/share/${link.key}`)}`,
      });
    for (let i = 0; i < h.config.UNLOCK_MAX_FAILURES_PER_IP; i++) await form(`wrong${i}`);
    const blocked = await form('right');
    expect(blocked.statusCode).toBe(303);
    const page = await get(blocked.headers.location as string);
    expect(page.statusCode).toBe(401);
    expect(page.body).toContain('Too many wrong passwords. Try again later.');
  });

  it('should send the security headers and a strict CSP on pages and on the page assets', async () => {
    const { link } = await albumLink();
    const page = await get(`/share/${link.key}`);
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toBe(CONTENT_SECURITY_POLICY);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    // nothing inline that the CSP would block, nothing from another origin
    expect(page.body).not.toMatch(/\sstyle=|\son[a-z]+=|<style|javascript:/i);
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const m of page.body.matchAll(/<(?:link rel="stylesheet"|script) (?:href|src)="([^"]+)"/g)) {
      const asset = await get(m[1]!);
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(asset.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(asset.headers['content-type']).toMatch(/^text\/(css|javascript); charset=utf-8$/);
      const etag = asset.headers.etag as string;
      expect((await h.app.inject({ method: 'GET', url: m[1]!, headers: { 'if-none-match': etag } })).statusCode).toBe(
        304,
      );
    }
  });
});

/**
 * The next grid page the bundle fetches (`x-share-continuation: 1`) is the page's data alone: a link holder who sends
 * the header himself must get nothing the full page would not give him, and pass every gate the full page has.
 */
describe('GET /share/:key with x-share-continuation, from a link holder who forges it', () => {
  const continuation = (url: string, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'GET', url, headers: { 'x-share-continuation': '1', ...headers } });
  const SHARE_DATA = 'id="share-data"';

  it('should answer a locked link with the password form (401), no data and no asset id', async () => {
    const { link, assets } = await albumLink({ password: 'hunter2', name: 'Private album' });
    const res = await continuation(`/share/${link.key}?page=1`);
    expect(res.statusCode).toBe(401);
    expect(res.body).toContain('<h1>Password required</h1>');
    for (const absent of [SHARE_DATA, 'Private album', ...assets.map((a) => a.id)])
      expect(res.body).not.toContain(absent);
  });

  it('should hide file names, EXIF, GPS and dates when showMetadata=false, as the full page does', async () => {
    const { link } = await albumLink({ showMetadata: false });
    const res = await continuation(`/share/${link.key}`);
    expect(res.statusCode).toBe(200);
    for (const secret of ['IMG_', 'SecretCam', 'X100', 'Lens9', 'secret place', ...GPS_SECRETS, PHOTO_YEAR]) {
      expect({ secret: String(secret), found: found(res.body, secret) }).toEqual({
        secret: String(secret),
        found: null,
      });
    }
    const data = JSON.parse(/<script type="application\/json" id="share-data">(.*?)<\/script>/s.exec(res.body)![1]!);
    expect(data.items).toHaveLength(2);
    expect(data.items.every((i: { meta: unknown }) => i.meta === null)).toBe(true);
  });

  it('should give a link-preview bot its card only', async () => {
    const { link } = await albumLink();
    const res = await continuation(`/share/${link.key}`, {
      'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    });
    expect(res.statusCode).toBe(200);
    expect(ogTags(res.body)['og:title']).toBeDefined();
    expect(res.body).not.toContain(SHARE_DATA);
  });

  it('should admit exactly 3 of 100 parallel first requests to a link limited to 3 visits (410 for the rest)', async () => {
    const { link } = await albumLink();
    await h.tdb.db.updateTable('shared_links').set({ max_visits: 3 }).where('id', '=', link.id).execute();
    const answers = await Promise.all(Array.from({ length: 100 }, () => continuation(`/share/${link.key}`)));
    const status = answers.map((a) => a.statusCode);
    expect([status.filter((s) => s === 200).length, status.filter((s) => s === 410).length]).toEqual([3, 97]);
    const used = await h.tdb.db
      .selectFrom('shared_links')
      .select('visits_used')
      .where('id', '=', link.id)
      .executeTakeFirstOrThrow();
    expect(used.visits_used).toBe(3);
    expect(answers.filter((a) => a.statusCode === 410).every((a) => !a.body.includes(SHARE_DATA))).toBe(true);
  });

  it('should answer the full page to any other value of the header', async () => {
    const { link } = await albumLink();
    for (const value of ['0', 'true', '1, 1', 'yes']) {
      const res = await h.app.inject({ url: `/share/${link.key}`, headers: { 'x-share-continuation': value } });
      expect({ value, status: res.statusCode, tiles: res.body.includes('<li class="tile"') }).toEqual({
        value,
        status: 200,
        tiles: true,
      });
    }
  });
});

describe('GET /share/:key/photos/:assetId', () => {
  it('should render the photo with previous/next links and a way back to its grid page', async () => {
    const { link, assets } = await albumLink({ count: 3 });
    const grid = (await get(`/share/${link.key}`)).body;
    const order = [...grid.matchAll(/<li class="tile" id="a-([0-9a-f-]{36})">/g)].map((m) => m[1]!);
    expect(new Set(order)).toEqual(new Set(assets.map((a) => a.id)));
    const res = await get(`/share/${link.key}/photos/${order[1]}`);
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body).toContain(`src="/share/${link.key}/assets/${order[1]}/preview"`);
    expect(body).toContain(`rel="prev" href="/share/${link.key}/photos/${order[0]}"`);
    expect(body).toContain(`rel="next" href="/share/${link.key}/photos/${order[2]}"`);
    expect(body).toContain(`href="/share/${link.key}#a-${order[1]}"`);
    expect(body).toContain('2 / 3');
    expect(body).toContain(`href="/share/${link.key}/assets/${order[1]}/original" download`);
    expect(body).toMatch(/<dt>Camera<\/dt><dd>SecretCam X100<\/dd>/);
    expect(ogTags(body)['og:image']).toBe(`http://share.test/share/${link.key}/assets/${order[1]}/card.jpg`);
  });

  it('should place every photo exactly as the grid orders them (ties, microseconds, both album orders)', async () => {
    const { link, assets, albumId } = await albumLink({ count: 7 });
    // three share one instant (ties broken by id), two differ only in microseconds
    const times = [
      '2024-05-01T10:00:00.000001Z',
      '2024-05-01T10:00:00.000002Z',
      '2024-05-01T09:00:00Z',
      '2024-05-01T09:00:00Z',
      '2024-05-01T09:00:00Z',
      '2023-01-01T00:00:00Z',
      '2025-12-31T23:59:59.999999Z',
    ];
    for (const [i, a] of assets.entries()) {
      await sql`update assets set file_created_at = ${times[i]}::timestamptz where id = ${a.id}`.execute(h.tdb.db);
    }
    const resolved = await new LinkResolver({ db: h.tdb.db, ttlMs: 0 }).require({ kind: 'key', value: link.key });
    for (const order of ['desc', 'asc'] as const) {
      await h.tdb.db.updateTable('albums').set({ sort_order: order }).where('id', '=', albumId).execute();
      const active = { ...resolved, album: { ...resolved.album!, sort_order: order } };
      const ids = (await listLinkAssets(h.tdb.db, active)).map((r) => r.id);
      expect(ids).toHaveLength(7);
      for (const [index, id] of ids.entries()) {
        const p = await linkAssetPosition(h.tdb.db, active, id);
        expect({ id: p?.row.id, index: p?.index, total: p?.total, prev: p?.prev, next: p?.next }).toEqual({
          id,
          index,
          total: 7,
          prev: ids[index - 1] ?? null,
          next: ids[index + 1] ?? null,
        });
      }
    }
    const other = await h.createAsset();
    expect(await linkAssetPosition(h.tdb.db, resolved, other.id)).toBeNull();
  });

  it('should leave out the metadata panel and offer the preview of an unstrippable original when showMetadata=false', async () => {
    const heic = await newAsset({ fileName: 'IMG_9.tif', mime: 'image/tiff' });
    const link = await h.createLink({ assetIds: [heic.id], showMetadata: false });
    const body = (await get(`/share/${link.key}/photos/${heic.id}`)).body;
    expect(body).not.toContain('viewer-meta');
    for (const secret of ['IMG_', 'SecretCam', 'Lens9', 'secret place', ...GPS_SECRETS])
      expect({ secret: String(secret), found: found(body, secret) }).toEqual({ secret: String(secret), found: null });
    expect(body).toContain(`href="/share/${link.key}/assets/${heic.id}/preview" download>Download preview</a>`);
  });

  it('should play a video inline (rendition or web-playable original, stripped when hidden), and show its poster otherwise', async () => {
    const bytes = Buffer.concat([Buffer.from('\0\0\0\x18ftypmp42'), randomBytes(64)]);
    const video = await newAsset({ fileName: 'clip.mp4', mime: 'video/mp4', bytes });
    await h.tdb.db.updateTable('assets').set({ duration: '75000' }).where('id', '=', video.id).execute();
    const open = await h.createLink({ assetIds: [video.id], slug: 'clip-open' });
    const grid = (await get('/s/clip-open')).body;
    expect(grid).toContain('<span class="tile-badge">▶ 1:15</span>');
    expect(grid).toContain('alt="Video 1 of 1"');
    const page = (await get(`/s/clip-open/photos/${video.id}`)).body;
    expect(page).toMatch(
      new RegExp(
        `<video class="viewer-media" id="viewer-media" controls playsinline preload="metadata" poster="/share/clip-open/assets/${video.id}/preview" src="/share/clip-open/assets/${video.id}/video"`,
      ),
    );
    expect(open.slug).toBe('clip-open');
    // an MP4 is stripped losslessly: a link that hides metadata plays it too
    const hidden = await h.createLink({ assetIds: [video.id], showMetadata: false });
    const hiddenPage = (await get(`/share/${hidden.key}/photos/${video.id}`)).body;
    expect(hiddenPage).toContain(`src="/share/${hidden.key}/assets/${video.id}/video"`);
    // a WebM cannot be stripped: poster and preview only when metadata is hidden
    const webm = await newAsset({ fileName: 'clip.webm', mime: 'video/webm', bytes: randomBytes(64) });
    const hiddenWebm = await h.createLink({ assetIds: [webm.id], showMetadata: false });
    const webmPage = (await get(`/share/${hiddenWebm.key}/photos/${webm.id}`)).body;
    expect(webmPage).not.toContain('<video');
    expect(webmPage).toContain(
      `<img class="viewer-media" id="viewer-media" src="/share/${hiddenWebm.key}/assets/${webm.id}/preview"`,
    );
    expect(webmPage).toContain('Download preview');
    // a rendition still being made: the poster until it is ready, then the rendition
    await h.tdb.db
      .updateTable('assets')
      .set({ rendition_status: 'running', rendition_progress: 40 })
      .where('id', '=', video.id)
      .execute();
    const pending = await h.createLink({ assetIds: [video.id] });
    expect((await get(`/share/${pending.key}/photos/${video.id}`)).body).not.toContain('<video');
    const busy = await h.app.inject(`/share/${pending.key}/assets/${video.id}/video`);
    expect(busy.statusCode).toBe(503);
    expect(busy.json().message).toMatch(/being converted .*40% done/);
  });

  it('should keep the deep link through the password prompt', async () => {
    const { link, assets } = await albumLink({ password: 'pw' });
    const deep = `/share/${link.key}/photos/${assets[0]!.id}`;
    const locked = await get(deep);
    expect(locked.statusCode).toBe(401);
    expect(locked.body).toContain(`name="returnTo" value="${deep}"`);
    const cookie = await h.unlock(link, 'pw');
    const open = await get(deep, cookie);
    expect(open.statusCode).toBe(200);
    expect(open.body).toContain(`/assets/${assets[0]!.id}/preview`);
  });

  it('should answer a page (not JSON) for an asset outside the link: 404, or 400 for a malformed id', async () => {
    const { link } = await albumLink();
    const stranger = await newAsset();
    const outside = await get(`/share/${link.key}/photos/${stranger.id}`);
    expect(outside.statusCode).toBe(404);
    expect(outside.body).toContain('Photo not found');
    const malformed = await get(`/share/${link.key}/photos/not-a-uuid`);
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers['content-type']).toBe('text/html; charset=utf-8');
  });
});
