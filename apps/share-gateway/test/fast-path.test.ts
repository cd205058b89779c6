import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../src/security-headers.ts';
import { type GatewayHarness, startGateway, updateLinkWithEvent } from './harness.ts';

// Issue 17: a plain GET of a cached thumbnail or preview is answered before fastify (src/fast-path.ts). These
// tests hold it to the route's answer over real HTTP (inject never reaches the server's request listener): the
// first request of each URL goes the long way and fills the caches, the next is answered from memory.

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

/** A gateway listening on loopback, with a long link-cache TTL (nothing expires during a test). */
async function listening(env: Record<string, string> = {}): Promise<{ app: FastifyInstance; base: string }> {
  const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000', ...env });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** What a response says, but for what differs on every response (the date, its own correlation id). */
async function answer(res: Response) {
  const headers = Object.fromEntries(res.headers);
  const { date: _date, 'x-correlation-id': _id, ...rest } = headers;
  return { status: res.status, headers: rest, body: Buffer.from(await res.arrayBuffer()) };
}

/**
 * 100 parallel requests of `url`, in turn with this browser's unlock (`cookie`, whose answer is `good`), the same
 * token tampered or forged, another link's valid unlock, and this token under the other link's cookie name: only
 * the first kind is answered (20 of them, each from memory), every other one is the password's 401.
 */
async function expectEachUnlockItsOwnAnswer(
  app: FastifyInstance,
  url: string,
  good: Awaited<ReturnType<typeof answer>>,
  cookie: string,
  otherCookie: string,
) {
  const [name, token = ''] = cookie.split('=');
  // one character in the middle changed (the last one of a base64url text may carry only padding bits)
  const mid = Math.floor(token.length / 2);
  const tampered = `${token.slice(0, mid)}${token[mid] === 'A' ? 'B' : 'A'}${token.slice(mid + 1)}`;
  const variants = [
    { cookie, ok: true },
    { cookie: `${name}=${tampered}`, ok: false }, // tampered
    { cookie: `${name}=forged`, ok: false },
    { cookie: otherCookie, ok: false }, // another link's valid unlock
    { cookie: `${otherCookie.split('=')[0]}=${token}`, ok: false }, // this token under the other link's name
  ];
  const before = app.fastAnswers;
  const results = await Promise.all(
    Array.from({ length: 100 }, async (_, i) => {
      const v = variants[i % variants.length]!;
      const res = await fetch(url, { headers: { cookie: v.cookie } });
      return { v, res: await answer(res) };
    }),
  );
  for (const { v, res } of results) {
    if (v.ok) expect(res).toEqual(good);
    else expect(res.status).toBe(401);
  }
  expect(app.fastAnswers - before).toBe(20);
}

describe('the fast path of cached thumbnails and previews', () => {
  it('should give over HTTP exactly the answer of the route: status, headers and bytes, 200 and 304', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id], password: 'pw' });
    const { app, base } = await listening();
    const cookie = await h.unlock(link, 'pw', app);
    for (const kind of ['thumbnail', 'preview'] as const) {
      const url = `${base}/share/${link.key}/assets/${asset.id}/${kind}`;
      const before = app.fastAnswers;
      const slow = await answer(await fetch(url, { headers: { cookie } }));
      expect(app.fastAnswers).toBe(before);
      const fast = await answer(await fetch(url, { headers: { cookie } }));
      expect(app.fastAnswers).toBe(before + 1);
      expect(slow.status).toBe(200);
      expect(fast).toEqual(slow);
      expect(fast.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(Number(fast.headers['content-length'])).toBe(fast.body.length);
      if (kind === 'preview') expect(fast.headers['content-disposition']).toMatch(/^inline; filename=/);
      else expect(fast.headers['content-disposition']).toBeUndefined();
    }
    // 304: the long way on a fresh gateway (nothing cached), then from memory
    const url = `${base}/share/${link.key}/assets/${asset.id}/thumbnail`;
    const etag = String((await fetch(url, { headers: { cookie } })).headers.get('etag'));
    const cold = await listening();
    const coldUrl = `${cold.base}/share/${link.key}/assets/${asset.id}/thumbnail`;
    const coldCookie = await h.unlock(link, 'pw', cold.app);
    const slow304 = await answer(await fetch(coldUrl, { headers: { cookie: coldCookie, 'if-none-match': etag } }));
    const before = cold.app.fastAnswers;
    const fast304 = await answer(await fetch(coldUrl, { headers: { cookie: coldCookie, 'if-none-match': etag } }));
    expect(cold.app.fastAnswers).toBe(before + 1);
    expect(slow304.status).toBe(304);
    expect(fast304).toEqual(slow304);
    expect(fast304.body.length).toBe(0);
  });

  it("should keep the caller's correlation id and give each answer its own otherwise", async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id] });
    const { app, base } = await listening();
    const url = `${base}/share/${link.key}/assets/${asset.id}/thumbnail`;
    await fetch(url);
    const before = app.fastAnswers;
    const mine = await fetch(url, { headers: { 'x-correlation-id': 'grid-req-42' } });
    const a = await fetch(url);
    const b = await fetch(url);
    expect(app.fastAnswers).toBe(before + 3);
    expect(mine.headers.get('x-correlation-id')).toBe('grid-req-42');
    expect(a.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers.get('x-correlation-id')).not.toBe(b.headers.get('x-correlation-id'));
  });

  it('should refuse nothing itself: a warm URL without the unlock, with another link unlocked, or outside the link goes the long way', async () => {
    const asset = await h.createAsset();
    const other = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id], password: 'pw' });
    const otherLink = await h.createLink({ assetIds: [asset.id, other.id], password: 'pw2' });
    const { app, base } = await listening();
    const cookie = await h.unlock(link, 'pw', app);
    const otherCookie = await h.unlock(otherLink, 'pw2', app);
    const url = `${base}/share/${link.key}/assets/${asset.id}/thumbnail`;
    await fetch(url, { headers: { cookie } });
    await fetch(`${base}/share/${otherLink.key}/assets/${other.id}/thumbnail`, { headers: { cookie: otherCookie } });
    expect((await fetch(url, { headers: { cookie } })).status).toBe(200);
    const before = app.fastAnswers;
    const locked = await fetch(url);
    expect(locked.status).toBe(401);
    expect((await locked.json()).message).toBe('Password required');
    const wrongUnlock = await fetch(url, { headers: { cookie: otherCookie } });
    expect(wrongUnlock.status).toBe(401);
    // `other` is cached (with the other link) and its bytes are in memory, but this link does not show it
    const outside = await fetch(`${base}/share/${link.key}/assets/${other.id}/thumbnail`, { headers: { cookie } });
    expect(outside.status).toBe(400);
    expect((await outside.json()).message).toBe('Asset not found in this shared link');
    // HEAD, a trailing slash, an upper-case id and a percent-encoded key are fastify's
    expect((await fetch(url, { method: 'HEAD', headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${url}/`, { headers: { cookie } })).status).toBe(200);
    const upper = `${base}/share/${link.key}/assets/${asset.id.toUpperCase()}/thumbnail`;
    expect([200, 400]).toContain((await fetch(upper, { headers: { cookie } })).status);
    const encoded = `${base}/share/${encodeURIComponent(link.key).replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`)}/assets/${asset.id}/thumbnail`;
    expect((await fetch(encoded, { headers: { cookie } })).status).toBe(200);
    expect(app.fastAnswers).toBe(before);
  });

  it('should give 100 parallel requests with valid, forged, tampered and foreign unlocks each its own answer', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id], password: 'pw' });
    const other = await h.createLink({ assetIds: [asset.id], password: 'pw2' });
    const { app, base } = await listening();
    const cookie = await h.unlock(link, 'pw', app);
    const otherCookie = await h.unlock(other, 'pw2', app);
    const url = `${base}/share/${link.key}/assets/${asset.id}/thumbnail`;
    const good = await answer(await fetch(url, { headers: { cookie } })); // warms every cache
    await expectEachUnlockItsOwnAnswer(app, url, good, cookie, otherCookie);
  });

  it('should not echo a forged correlation id (line breaks, JSON, over-long): a fresh one instead', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id] });
    const { app, base } = await listening();
    const url = `${base}/share/${link.key}/assets/${asset.id}/thumbnail`;
    await fetch(url);
    const before = app.fastAnswers;
    for (const forged of ['a"},{"level":60', 'x'.repeat(65), 'id with spaces']) {
      const res = await fetch(url, { headers: { 'x-correlation-id': forged } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(app.fastAnswers).toBe(before + 3);
  });

  it('should stop answering when the cached link expires, and the route then refuses', async () => {
    // only Date is faked (sockets and the database keep real time), before the app is built
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const asset = await h.createAsset();
      const { app, base } = await listening();
      const expiresAt = new Date(Date.now() + 30_000); // within the link cache's TTL
      const link = await h.createLink({ assetIds: [asset.id], expiresAt });
      const url = `${base}/share/${link.key}/assets/${asset.id}/thumbnail`;
      await fetch(url);
      const before = app.fastAnswers;
      expect((await fetch(url)).status).toBe(200);
      expect(app.fastAnswers).toBe(before + 1);
      vi.setSystemTime(expiresAt.getTime() + 1);
      const expired = await fetch(url);
      expect(expired.status).toBe(401);
      expect((await expired.json()).message).toBe('Invalid share key');
      expect(app.fastAnswers).toBe(before + 1);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** A GET over HTTP with the bytes as sent (fetch would decode a compressed body). */
function rawGet(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    })
      .on('error', reject)
      .end();
  });
}

/** What an answer says, but for what differs on every response or only between HTTP and inject. */
function comparable(a: { status: number; headers: Record<string, unknown>; body: Buffer }) {
  const { date: _d, 'x-correlation-id': _i, connection: _c, 'keep-alive': _k, ...headers } = a.headers;
  return { status: a.status, headers, body: a.body };
}

const BROWSER_ENCODINGS = 'gzip, deflate, br, zstd';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';

/** Asks until the fast path answers (the first load builds the body, its compressed forms follow on the pool). */
async function warm(app: FastifyInstance, url: string, headers: Record<string, string>) {
  for (let i = 0; i < 200; i++) {
    const before = app.fastAnswers;
    const res = await rawGet(url, headers);
    expect(res.status).toBe(200);
    if (app.fastAnswers === before + 1) return res;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never answered from memory: ${url}`);
}

/**
 * The fast path's answer of `path` (warmed until it answers from memory) against the route's (inject never reaches
 * the fast path): the same status, headers and bytes, in the coding `acceptEncoding` asks for, with the pages'
 * security headers. Returns the fast answer.
 */
async function expectRouteAnswer(app: FastifyInstance, base: string, path: string, headers: Record<string, string>) {
  const fast = await warm(app, `${base}${path}`, headers);
  const before = app.fastAnswers;
  const slow = await app.inject({ url: path, headers });
  expect(app.fastAnswers).toBe(before);
  expect(comparable(fast)).toEqual(
    comparable({ status: slow.statusCode, headers: slow.headers, body: slow.rawPayload }),
  );
  const encoding = headers['accept-encoding'];
  expect(fast.headers['content-encoding']).toBe(
    encoding === undefined ? undefined : encoding === 'gzip' ? 'gzip' : 'br',
  );
  expect(fast.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  return fast;
}

/**
 * A password link unlocked in this browser (`cookie`), another link's unlock (`otherCookie`) and a visit-limited
 * link, on one photo, with a listening gateway: what the "leave it to the route" tests ask about.
 */
async function lockedAndLimited(linkOpts: { slug?: string } = {}) {
  const asset = await h.createAsset();
  const link = await h.createLink({ assetIds: [asset.id], password: 'pw', ...linkOpts });
  const other = await h.createLink({ assetIds: [asset.id], password: 'pw2' });
  const limited = await h.createLink({ assetIds: [asset.id] });
  await h.tdb.db.updateTable('shared_links').set({ max_visits: 100 }).where('id', '=', limited.id).execute();
  const { app, base } = await listening();
  const cookie = await h.unlock(link, 'pw', app);
  const otherCookie = await h.unlock(other, 'pw2', app);
  return { asset, link, limited, app, base, cookie, otherCookie };
}

describe('the fast path of a cached /me', () => {
  it("should give exactly the route's answer in each coding: status, headers and bytes", async () => {
    const assets = [await h.createAsset(), await h.createAsset(), await h.createAsset()];
    const albumId = await h.createAlbum(
      assets.map((a) => a.id),
      { name: 'Fast', description: 'x'.repeat(2000) }, // a body over the 1 KB below which nothing is compressed
    );
    const link = await h.createLink({ albumId, password: 'pw', showMetadata: false });
    const { app, base } = await listening();
    const cookie = await h.unlock(link, 'pw', app);
    const path = `/api/shared-links/me?key=${link.key}`;
    for (const encoding of [undefined, 'gzip', BROWSER_ENCODINGS]) {
      await expectRouteAnswer(app, base, path, { cookie, ...(encoding ? { 'accept-encoding': encoding } : {}) });
    }
  });

  it("should record each load as the route does: a view (not a bot's) and a visit with fastify's client address", async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id] });
    // one proxy in front: the client is the address it forwards
    const { app, base } = await listening({ TRUST_PROXY: '1' });
    const path = `/api/shared-links/me?key=${link.key}`;
    const headers = { 'user-agent': FIREFOX, 'x-forwarded-for': '203.0.113.50' };
    await warm(app, `${base}${path}`, headers);
    await h.counters(link.id); // settles the counters so far
    const viewsBefore = (await h.counters(link.id)).view;
    const record = vi.spyOn(app.activityLog!, 'record');
    const before = app.fastAnswers;
    await rawGet(`${base}${path}`, headers);
    await rawGet(`${base}${path}`, {
      ...headers,
      'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    });
    expect(app.fastAnswers).toBe(before + 2);
    await app.inject({ url: path, headers }); // the route, for comparison
    expect(record).toHaveBeenCalledTimes(3);
    const [fastVisit, botVisit, routeVisit] = record.mock.calls.map((c) => c[0]);
    expect(fastVisit).toEqual(routeVisit);
    expect(fastVisit).toMatchObject({
      linkId: link.id,
      action: 'visit',
      client: { network: '203.0.113.0/24', bot: false },
    });
    expect(botVisit!.client.bot).toBe(true);
    // the fast load and the route's load count; the bot's does not
    expect((await h.counters(link.id)).view).toBe(viewsBefore + 2);
  });

  it('should answer the slug, the query and Immich header forms, and leave everything else to the route', async () => {
    const { link, limited, app, base, cookie, otherCookie } = await lockedAndLimited({
      slug: `fast-${randomUUID().slice(0, 8)}`,
    });
    const me = `${base}/api/shared-links/me`;
    await warm(app, `${me}?key=${link.key}`, { cookie });
    await warm(app, `${me}?slug=${link.slug}`, { cookie });
    await warm(app, me, { cookie, 'x-immich-share-key': link.key });
    await warm(app, me, { cookie, 'x-immich-share-slug': link.slug! });

    const before = app.fastAnswers;
    const locked = await rawGet(`${me}?key=${link.key}`);
    expect(locked.status).toBe(401);
    expect(JSON.parse(String(locked.body)).message).toBe('Password required');
    expect((await rawGet(`${me}?key=${link.key}`, { cookie: otherCookie })).status).toBe(401);
    // another parameter, a percent-encoded key, HEAD, a trailing slash: fastify's, same answer
    expect((await rawGet(`${me}?key=${link.key}&page=2`, { cookie })).status).toBe(200);
    const encoded = `%${link.key.charCodeAt(0).toString(16)}${link.key.slice(1)}`;
    expect((await rawGet(`${me}?key=${encoded}`, { cookie })).status).toBe(200);
    expect((await rawGet(`${me}?key=${link.key}`, { cookie }, 'HEAD')).status).toBe(200);
    expect((await rawGet(`${me}/?key=${link.key}`, { cookie })).status).toBe(200);
    // a limited link always goes through the gate
    for (let i = 0; i < 3; i++) expect((await rawGet(`${me}?key=${limited.key}`)).status).toBe(200);
    expect(app.fastAnswers).toBe(before);
  });

  it('should not serve a body the owner changed: the relay drops it and the route builds the new one', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id], description: 'before' });
    const { app, base } = await listening();
    h.startRelay();
    const url = `${base}/api/shared-links/me?key=${link.key}`;
    expect(JSON.parse(String((await warm(app, url, {})).body)).description).toBe('before');
    await updateLinkWithEvent(h.tdb.db, link.id, { description: 'after' }, ['description']);
    await vi.waitFor(async () => expect(JSON.parse(String((await rawGet(url)).body)).description).toBe('after'), {
      timeout: 10_000,
      interval: 50,
    });
    // and from memory again, the new body
    expect(JSON.parse(String((await warm(app, url, {})).body)).description).toBe('after');
  });
});

describe('the fast path of a kept grid page', () => {
  it("should give exactly the route's answer: the whole page and its data, in each coding, any page number", async () => {
    const assets = [await h.createAsset(), await h.createAsset(), await h.createAsset()];
    const albumId = await h.createAlbum(
      assets.map((a) => a.id),
      { name: 'Grid' },
    );
    const link = await h.createLink({ albumId, password: 'pw' });
    const { app, base } = await listening();
    const cookie = await h.unlock(link, 'pw', app);
    for (const path of [`/share/${link.key}`, `/share/${link.key}?page=1`, `/share/${link.key}?page=99`]) {
      for (const continuation of [false, true]) {
        for (const encoding of [undefined, 'gzip', BROWSER_ENCODINGS]) {
          const headers = {
            cookie,
            'accept-language': 'fr-FR,fr;q=0.9',
            ...(continuation ? { 'x-share-continuation': '1' } : {}),
            ...(encoding ? { 'accept-encoding': encoding } : {}),
          };
          const fast = await expectRouteAnswer(app, base, path, headers);
          expect(fast.headers['content-type']).toBe('text/html; charset=utf-8');
        }
      }
    }
  });

  it("should count a page's view and visit as the route does, and none for the bundle's next pages", async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id] });
    const { app, base } = await listening({ TRUST_PROXY: '1' });
    const url = `${base}/share/${link.key}`;
    const headers = { 'user-agent': FIREFOX, 'x-forwarded-for': '203.0.113.50' };
    await warm(app, url, headers);
    await warm(app, url, { ...headers, 'x-share-continuation': '1' });
    await h.counters(link.id); // settles the counters so far
    const viewsBefore = (await h.counters(link.id)).view;
    const record = vi.spyOn(app.activityLog!, 'record');
    const before = app.fastAnswers;
    await rawGet(url, headers);
    await rawGet(url, { ...headers, 'x-share-continuation': '1' });
    expect(app.fastAnswers).toBe(before + 2);
    await app.inject({ url: `/share/${link.key}`, headers }); // the route, for comparison
    expect(record).toHaveBeenCalledTimes(2);
    const [fastVisit, routeVisit] = record.mock.calls.map((c) => c[0]);
    expect(fastVisit).toEqual(routeVisit);
    expect(fastVisit).toMatchObject({ linkId: link.id, action: 'visit', client: { network: '203.0.113.0/24' } });
    // the fast page and the route's count; the bundle's next page does not
    expect((await h.counters(link.id)).view).toBe(viewsBefore + 2);
  });

  it('should give 100 parallel requests with valid, forged, tampered and foreign unlocks each its own page', async () => {
    const { asset, link, app, base, cookie, otherCookie } = await lockedAndLimited();
    const url = `${base}/share/${link.key}`;
    const good = await answer(await warm(app, url, { cookie }).then(() => fetch(url, { headers: { cookie } })));
    expect(good.status).toBe(200);
    expect(String(good.body)).toContain(asset.id);
    await expectEachUnlockItsOwnAnswer(app, url, good, cookie, otherCookie);
  });

  it('should leave to the route what it does not keep or must not answer: locked, a bot, a choice, a limited link', async () => {
    const { asset, link, limited, app, base, cookie, otherCookie } = await lockedAndLimited();
    const page = `${base}/share/${link.key}`;
    await warm(app, page, { cookie });
    const before = app.fastAnswers;
    // locked for this browser (no unlock, another link's unlock): the password form, 401
    for (const headers of [{}, { cookie: otherCookie }] as Record<string, string>[]) {
      const res = await rawGet(page, headers);
      expect(res.status).toBe(401);
      expect(String(res.body)).not.toContain(asset.id);
    }
    // a link-preview bot gets the card, with no photo of a password link
    const bot = await rawGet(page, {
      cookie,
      'user-agent': 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    });
    expect(bot.status).toBe(200);
    expect(String(bot.body)).not.toContain(asset.id);
    // the route's own choices, another parameter, a percent-encoded key, a trailing slash, HEAD
    for (const path of ['?order=asc', '?group=day', '?page=1&x=1', '?page=', '/']) {
      expect((await rawGet(`${page}${path}`, { cookie })).status).toBe(200);
    }
    const encoded = `%${link.key.charCodeAt(0).toString(16)}${link.key.slice(1)}`;
    expect((await rawGet(`${base}/share/${encoded}`, { cookie })).status).toBe(200);
    expect((await rawGet(page, { cookie }, 'HEAD')).status).toBe(200);
    // a limited link always goes through the gate
    for (let i = 0; i < 3; i++) expect((await rawGet(`${base}/share/${limited.key}`)).status).toBe(200);
    expect(app.fastAnswers).toBe(before);
  });
});
