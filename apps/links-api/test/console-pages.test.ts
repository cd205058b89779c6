import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * The owner console's server side without a browser (issue 14 items 1, 3, 6): the pages and their headers, the
 * sign-in form that works without JavaScript, escaping of the owner's data, and the slug check.
 */
let h: LinksApiHarness;
let owner: TestUser;
const HOST = 'console.test';

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('pages');
});
afterAll(async () => {
  await h?.close();
});

const form = (email: string, password: string, headers: Record<string, string> = {}) =>
  h.app.inject({
    method: 'POST',
    url: '/login',
    headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams({ email, password }).toString(),
  });

describe('GET /', () => {
  it('should show the sign-in page with the strict CSP when signed out', async () => {
    const res = await h.app.inject({ url: '/', headers: { host: HOST } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('<form id="login-form" method="post" action="/login"');
    expect(res.body).not.toMatch(/<script>|style="/);
  });

  it('should sign in through the form without JavaScript and show the library, escaping file names', async () => {
    await h.tdb.db
      .insertInto('assets')
      .values({
        owner_id: owner.id,
        type: 'IMAGE',
        original_file_name: '<img src=x onerror=alert(1)>.jpg',
        checksum: Buffer.from('0123456789abcdef0123'),
        original_key: `assets/${owner.id}/x/original.jpg`,
        status: 'failed',
        error: 'not a picture <b>',
      })
      .execute();
    const res = await form(owner.email, 'pw');
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/');
    const token = res.cookies.find((c) => c.name === 'immich_access_token')!.value;
    const page = await h.app.inject({ url: '/', headers: { host: HOST, cookie: `immich_access_token=${token}` } });
    expect(page.body).toContain('class="page-library"');
    expect(page.body).toContain('&lt;img src=x onerror=alert(1)&gt;.jpg');
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).toContain('Failed: not a picture &lt;b&gt;');
  });

  it('should page the library beyond 500 photos', async () => {
    const many = await h.newUser('many');
    const base = Date.UTC(2026, 0, 1);
    await h.tdb.db
      .insertInto('assets')
      .values(
        Array.from({ length: 502 }, (_, i) => ({
          owner_id: many.id,
          type: 'IMAGE' as const,
          original_file_name: `p${String(i).padStart(3, '0')}.jpg`,
          checksum: Buffer.from(`many-${String(i).padStart(15, '0')}`),
          original_key: `assets/${many.id}/${i}/original.jpg`,
          status: 'processing' as const,
          file_created_at: new Date(base + i * 60_000),
        })),
      )
      .execute();
    const token = (await form(many.email, 'pw')).cookies.find((c) => c.name === 'immich_access_token')!.value;
    const get = (url: string) => h.app.inject({ url, headers: { host: HOST, cookie: `immich_access_token=${token}` } });
    const tiles = (body: string) => body.match(/<li class="tile /g)?.length ?? 0;
    const first = await get('/');
    expect(tiles(first.body)).toBe(500);
    expect(first.body).toContain('Photo p501.jpg'); // newest first
    expect(first.body).toContain('rel="next" href="/?page=2"');
    expect(first.body).not.toContain('rel="prev"');
    const second = await get('/?page=2');
    expect(tiles(second.body)).toBe(2);
    expect(second.body).toContain('Photo p000.jpg');
    expect(second.body).toContain('rel="prev" href="/?page=1"');
    expect(second.body).not.toContain('rel="next"');
    expect((await get('/?page=0')).statusCode).toBe(400);
  });

  it('should answer a wrong password with the form again (401) and a cross-site form with 403', async () => {
    const wrong = await form(owner.email, 'nope');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.body).toContain('Incorrect email or password');
    expect(wrong.cookies).toEqual([]);
    const foreign = await form(owner.email, 'pw', { origin: 'https://evil.example' });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.cookies).toEqual([]);
  });

  it('should create a link from the page form only when it comes from this origin (CSRF)', async () => {
    const asset = await h.tdb.db
      .insertInto('assets')
      .values({
        owner_id: owner.id,
        type: 'IMAGE',
        original_file_name: 'form.jpg',
        checksum: Buffer.from('form-link-checksum-0'),
        original_key: `assets/${owner.id}/form/original.jpg`,
        status: 'ready',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const token = (await form(owner.email, 'pw')).cookies.find((c) => c.name === 'immich_access_token')!.value;
    const post = (headers: Record<string, string>) =>
      h.app.inject({
        method: 'POST',
        url: '/links/new',
        headers: {
          host: HOST,
          cookie: `immich_access_token=${token}`,
          'content-type': 'application/x-www-form-urlencoded',
          ...headers,
        },
        payload: new URLSearchParams({
          assetId: asset.id,
          description: 'csrf probe',
          expires: 'd7',
          showMetadata: 'on',
        }).toString(),
      });
    const count = async () =>
      (await h.tdb.db.selectFrom('shared_links').select('id').where('description', '=', 'csrf probe').execute()).length;
    expect((await post({ origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await post({ 'sec-fetch-site': 'same-site' })).statusCode).toBe(403);
    expect((await post({})).statusCode).toBe(403);
    expect(await count()).toBe(0);
    const ok = await post({ origin: `http://${HOST}` });
    expect(ok.statusCode).toBe(201);
    expect(ok.body).toContain('http://share.test/share/');
    expect(ok.body).toMatch(/<svg viewBox="0 0 \d+ \d+"/);
    expect(await count()).toBe(1);
    const link = await h.tdb.db
      .selectFrom('shared_links')
      .selectAll()
      .where('description', '=', 'csrf probe')
      .executeTakeFirstOrThrow();
    expect(link).toMatchObject({ allow_download: false, show_metadata: true, allow_upload: false });
    // another user's album id finds nothing: back to the library, no link
    const other = await h.newUser('other');
    const theirs = (
      await h.app.inject({
        method: 'POST',
        url: '/api/albums',
        headers: other.headers,
        payload: { albumName: 'theirs' },
      })
    ).json();
    const sneaky = await h.app.inject({
      url: `/links/new?albumId=${theirs.id}`,
      headers: { host: HOST, cookie: `immich_access_token=${token}` },
    });
    expect(sneaky.statusCode).toBe(303);
  });

  it('should serve the bundle with a content hash, immutable when versioned', async () => {
    const page = (await h.app.inject({ url: '/' })).body;
    const js = /src="(\/static\/console\.js\?v=[^"]+)"/.exec(page)![1]!;
    const res = await h.app.inject({ url: js });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toContain('immutable');
    expect(res.body.length).toBeGreaterThan(1000);
  });
});

describe('GET /api/shared-link-slugs/availability', () => {
  it('should say whether a slug follows the rule and is free (case-insensitively)', async () => {
    const album = (
      await h.app.inject({ method: 'POST', url: '/api/albums', headers: owner.headers, payload: { albumName: 'x' } })
    ).json();
    const made = await h.app.inject({
      method: 'POST',
      url: '/api/shared-links',
      headers: owner.headers,
      payload: { type: 'ALBUM', albumId: album.id, slug: 'Holiday-2026' },
    });
    expect(made.statusCode).toBe(201);
    const check = async (slug: string) =>
      (
        await h.app.inject({
          url: `/api/shared-link-slugs/availability?slug=${encodeURIComponent(slug)}`,
          headers: owner.headers,
        })
      ).json();
    expect(await check('free-one')).toEqual({ slug: 'free-one', available: true, problem: null });
    expect(await check('holiday-2026')).toMatchObject({ available: false, problem: expect.stringContaining('in use') });
    expect(await check('a!')).toMatchObject({ available: false, problem: expect.stringContaining('Invalid slug') });
    expect(await check('api')).toMatchObject({ available: false, problem: expect.stringContaining('reserved') });
    const anonymous = await h.app.inject({ url: '/api/shared-link-slugs/availability?slug=x' });
    expect(anonymous.statusCode).toBe(401);
  });
});
