import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../src/security-headers.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

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
async function listening(): Promise<{ app: FastifyInstance; base: string }> {
  const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

/** What a response says, but for what differs on every response (the date, its own correlation id). */
async function answer(res: Response) {
  const headers = Object.fromEntries(res.headers);
  const { date: _date, 'x-correlation-id': _id, ...rest } = headers;
  return { status: res.status, headers: rest, body: Buffer.from(await res.arrayBuffer()) };
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
