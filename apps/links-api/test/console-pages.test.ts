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

/**
 * The Links and Albums actions as plain forms (issue 14 item 6, without JavaScript): each route refuses a
 * cross-site post with 403 and changes nothing, and a same-origin one answers POST/redirect/GET with a notice.
 */
describe('the no-JavaScript forms of the Links and Albums screens', () => {
  let token: string;
  let friend: TestUser;
  const cookie = () => `immich_access_token=${token}`;
  const post = (url: string, body: Record<string, string>, origin = `http://${HOST}`) =>
    h.app.inject({
      method: 'POST',
      url,
      headers: { host: HOST, cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded', origin },
      payload: new URLSearchParams(body).toString(),
    });
  const get = (url: string) => h.app.inject({ url, headers: { host: HOST, cookie: cookie() } });
  const evil = 'https://evil.example';

  beforeAll(async () => {
    token = (await form(owner.email, 'pw')).cookies.find((c) => c.name === 'immich_access_token')!.value;
    friend = await h.newUser('forms-friend');
  });

  it('should create, describe and rename an album only from this origin', async () => {
    expect((await post('/albums/new', { albumName: 'Forged' }, evil)).statusCode).toBe(403);
    const forged = await h.tdb.db.selectFrom('albums').select('id').where('name', '=', 'Forged').execute();
    expect(forged).toEqual([]);
    const made = await post('/albums/new', { albumName: 'No-JS trip', description: 'by form' });
    expect(made.statusCode).toBe(303);
    const location = made.headers.location as string;
    expect(location).toMatch(/^\/albums\/[0-9a-f-]{36}\?notice=albumCreated$/);
    const albumId = location.slice('/albums/'.length, '/albums/'.length + 36);
    expect((await get(location)).body).toContain('<p id="notice" class="notice" role="status">Album created</p>');

    expect((await post(`/albums/${albumId}/details`, { albumName: 'Stolen' }, evil)).statusCode).toBe(403);
    const renamed = await post(`/albums/${albumId}/details`, { albumName: 'Renamed', description: 'new words' });
    expect(renamed.headers.location).toBe(`/albums/${albumId}?notice=albumSaved`);
    const row = await h.tdb.db.selectFrom('albums').selectAll().where('id', '=', albumId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ name: 'Renamed', description: 'new words' });
  });

  it('should invite, change a role, remove and leave only from this origin', async () => {
    const albumId = (
      await h.app.inject({ method: 'POST', url: '/api/albums', headers: owner.headers, payload: { albumName: 'team' } })
    ).json().id as string;
    const role = async () =>
      (
        await h.tdb.db
          .selectFrom('album_users')
          .select('role')
          .where('album_id', '=', albumId)
          .where('user_id', '=', friend.id)
          .executeTakeFirst()
      )?.role ?? null;

    expect((await post(`/albums/${albumId}/members`, { email: friend.email, role: 'editor' }, evil)).statusCode).toBe(
      403,
    );
    expect(await role()).toBeNull();
    const unknown = await post(`/albums/${albumId}/members`, { email: 'nobody@immish.test', role: 'viewer' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toContain('No user has that email address');
    const invited = await post(`/albums/${albumId}/members`, { email: friend.email.toUpperCase(), role: 'viewer' });
    expect(invited.headers.location).toBe(`/albums/${albumId}?notice=memberInvited`);
    expect(await role()).toBe('viewer');

    const member = `/albums/${albumId}/members/${friend.id}`;
    expect((await post(member, { action: 'role', role: 'editor' }, evil)).statusCode).toBe(403);
    expect(await role()).toBe('viewer');
    expect((await post(member, { action: 'role', role: 'editor' })).headers.location).toBe(
      `/albums/${albumId}?notice=roleChanged`,
    );
    expect(await role()).toBe('editor');
    expect((await post(member, { action: 'remove' }, evil)).statusCode).toBe(403);
    expect(await role()).toBe('editor');
    expect((await post(member, { action: 'remove' })).headers.location).toBe(`/albums/${albumId}?notice=memberRemoved`);
    expect(await role()).toBeNull();

    // the friend, invited again, leaves with their own session
    await post(`/albums/${albumId}/members`, { email: friend.email, role: 'viewer' });
    const friendToken = (await form(friend.email, 'pw')).cookies.find((c) => c.name === 'immich_access_token')!.value;
    const leave = (origin: string) =>
      h.app.inject({
        method: 'POST',
        url: `/albums/${albumId}/leave`,
        headers: { host: HOST, cookie: `immich_access_token=${friendToken}`, origin },
      });
    expect((await leave(evil)).statusCode).toBe(403);
    expect(await role()).toBe('viewer');
    expect((await leave(`http://${HOST}`)).headers.location).toBe('/albums?notice=albumLeft');
    expect(await role()).toBeNull();
    // a member cannot use the owner's forms: the owner-only change is refused with the reason
    await post(`/albums/${albumId}/members`, { email: friend.email, role: 'viewer' });
    const sneaky = await h.app.inject({
      method: 'POST',
      url: `/albums/${albumId}/details`,
      headers: {
        host: HOST,
        cookie: `immich_access_token=${friendToken}`,
        origin: `http://${HOST}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'albumName=mine',
    });
    expect(sneaky.statusCode).toBeGreaterThanOrEqual(400);
    expect(sneaky.statusCode).toBeLessThan(500);
    const row = await h.tdb.db.selectFrom('albums').select('name').where('id', '=', albumId).executeTakeFirst();
    expect(row?.name).toBe('team');
  });

  it('should edit a link (changeExpiryTime) and delete it after its confirm page, only from this origin', async () => {
    const albumId = (
      await h.app.inject({ method: 'POST', url: '/api/albums', headers: owner.headers, payload: { albumName: 'lnk' } })
    ).json().id as string;
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const link = (
      await h.app.inject({
        method: 'POST',
        url: '/api/shared-links',
        headers: owner.headers,
        payload: { type: 'ALBUM', albumId, description: 'before', expiresAt, allowDownload: true },
      })
    ).json() as { id: string };
    const row = () => h.tdb.db.selectFrom('shared_links').selectAll().where('id', '=', link.id).executeTakeFirst();

    const page = await get(`/links/${link.id}/edit`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<option value="keep" selected>Keep:');
    expect(page.body).toContain('value="before"');

    const fields = { description: 'after', expires: 'keep', showMetadata: 'on', allowUpload: 'on' };
    expect((await post(`/links/${link.id}/edit`, fields, evil)).statusCode).toBe(403);
    expect((await row())?.description).toBe('before');
    const kept = await post(`/links/${link.id}/edit`, fields);
    expect(kept.headers.location).toBe('/links?notice=linkSaved');
    expect(await row()).toMatchObject({
      description: 'after',
      allow_download: false,
      allow_upload: true,
      show_metadata: true,
      expires_at: new Date(expiresAt),
    });
    expect((await get('/links?notice=linkSaved')).body).toContain('role="status">Link saved</p>');
    // "Never" replaces the expiry (changeExpiryTime true, no expiresAt)
    await post(`/links/${link.id}/edit`, { ...fields, expires: 'never' });
    expect((await row())?.expires_at).toBeNull();
    // a bad slug: the form again, with the reason, and nothing changed
    const bad = await post(`/links/${link.id}/edit`, { ...fields, description: 'x', slug: 'a!' });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('The link could not be saved');
    expect((await row())?.description).toBe('after');
    // an unknown notice key shows nothing
    expect((await get('/links?notice=%3Cb%3E')).body).not.toContain('id="notice"');

    expect((await get(`/links/${link.id}/delete`)).body).toContain('Delete this link?');
    expect((await post(`/links/${link.id}/delete`, {}, evil)).statusCode).toBe(403);
    expect(await row()).toBeDefined();
    expect((await post(`/links/${link.id}/delete`, {})).headers.location).toBe('/links?notice=linkDeleted');
    expect(await row()).toBeUndefined();

    // another user's link: no page, no change
    const theirs = (
      await h.app.inject({
        method: 'POST',
        url: '/api/shared-links',
        headers: friend.headers,
        payload: {
          type: 'ALBUM',
          albumId: (
            await h.app.inject({
              method: 'POST',
              url: '/api/albums',
              headers: friend.headers,
              payload: { albumName: 'f' },
            })
          ).json().id,
        },
      })
    ).json() as { id: string };
    expect((await get(`/links/${theirs.id}/edit`)).headers.location).toBe('/links');
    expect((await post(`/links/${theirs.id}/delete`, {})).headers.location).toBe('/links');
    const still = await h.tdb.db.selectFrom('shared_links').select('id').where('id', '=', theirs.id).execute();
    expect(still).toHaveLength(1);
  });

  it('should sign out through the form only from this origin, ending the session', async () => {
    const session = (await form(friend.email, 'pw')).cookies.find((c) => c.name === 'immich_access_token')!.value;
    const logout = (origin: string) =>
      h.app.inject({
        method: 'POST',
        url: '/logout',
        headers: { host: HOST, cookie: `immich_access_token=${session}`, origin },
      });
    const signedIn = async () =>
      (
        await h.app.inject({ url: '/', headers: { host: HOST, cookie: `immich_access_token=${session}` } })
      ).body.includes('class="page-library"');
    expect((await logout(evil)).statusCode).toBe(403);
    expect(await signedIn()).toBe(true);
    const out = await logout(`http://${HOST}`);
    expect(out.statusCode).toBe(303);
    expect(out.headers.location).toBe('/');
    expect(out.cookies.find((c) => c.name === 'immich_access_token')?.value).toBe('');
    expect(await signedIn()).toBe(false);
  });

  it('should page an album beyond 500 photos', async () => {
    const albumId = (
      await h.app.inject({ method: 'POST', url: '/api/albums', headers: owner.headers, payload: { albumName: 'big' } })
    ).json().id as string;
    const base = Date.UTC(2025, 0, 1);
    const ids = await h.tdb.db
      .insertInto('assets')
      .values(
        Array.from({ length: 502 }, (_, i) => ({
          owner_id: owner.id,
          type: 'IMAGE' as const,
          original_file_name: `a${String(i).padStart(3, '0')}.jpg`,
          checksum: Buffer.from(`album-${String(i).padStart(14, '0')}`),
          original_key: `assets/${owner.id}/album-${i}/original.jpg`,
          status: 'ready' as const,
          file_created_at: new Date(base + i * 60_000),
        })),
      )
      .returning('id')
      .execute();
    await h.tdb.db
      .insertInto('album_assets')
      .values(ids.map((r) => ({ album_id: albumId, asset_id: r.id, added_by: owner.id })))
      .execute();
    const tiles = (body: string) => body.match(/<li class="tile" data-asset-id=/g)?.length ?? 0;
    const first = await get(`/albums/${albumId}`);
    expect(tiles(first.body)).toBe(500);
    expect(first.body).toContain(`rel="next" href="/albums/${albumId}?page=2"`);
    expect(first.body).not.toContain('rel="prev"');
    const second = await get(`/albums/${albumId}?page=2`);
    expect(tiles(second.body)).toBe(2);
    expect(second.body).toContain('alt="a000.jpg"'); // oldest last
    expect(second.body).toContain(`rel="prev" href="/albums/${albumId}?page=1"`);
    expect(second.body).not.toContain('rel="next"');
  });
});
