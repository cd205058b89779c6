import { GatewayConfig } from '@immish/contracts';
import { hashPassword } from '@immish/domain';
import { ConcurrencyGate, ConfigError, createRedis, loadConfig } from '@immish/runtime';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { UnlockTokens, unlockCookieName } from '../src/unlock.ts';
import { type GatewayHarness, startGateway, TEST_UNLOCK_SECRET } from './harness.ts';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

const login = (
  app: FastifyInstance,
  query: string,
  password: string,
  opts: { ip?: string; headers?: Record<string, string> } = {},
) =>
  app.inject({
    method: 'POST',
    url: `/api/shared-links/login?${query}`,
    payload: { password },
    ...(opts.ip ? { remoteAddress: opts.ip } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
  });

async function lockedLink(password = 'correct horse', extra: { slug?: string } = {}) {
  const asset = await h.createAsset();
  const link = await h.createLink({ assetIds: [asset.id], password, ...extra });
  return { link, asset };
}

describe('POST /api/shared-links/login', () => {
  it('should answer 201 with the link (Immich SharedLinkResponseDto) and an HttpOnly SameSite=Lax cookie', async () => {
    const { link, asset } = await lockedLink();
    const res = await login(h.app, `key=${link.key}`, 'correct horse');
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({
      id: link.id,
      key: link.key,
      password: null,
      hasPassword: true,
      type: 'INDIVIDUAL',
    });
    expect(res.json().assets.map((a: { id: string }) => a.id)).toEqual([asset.id]);
    const cookie = res.cookies[0]!;
    expect(cookie.name).toBe(unlockCookieName(link.id));
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
    expect(cookie.secure).toBeFalsy();
    expect(cookie.maxAge).toBe(24 * 3600);
    expect(JSON.stringify(res.json())).not.toContain('correct horse');
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select('type')
      .where('aggregate_id', '=', link.id)
      .execute();
    expect(events.map((e) => e.type)).toContain('shared-link.unlocked');
  });

  it('should accept the slug and mark the cookie Secure behind HTTPS', async () => {
    const { link } = await lockedLink('pw', { slug: 'locked-slug' });
    const https = await h.newApp({ PUBLIC_URL: 'https://share.example' });
    const res = await login(https, 'slug=LOCKED-slug', 'pw');
    expect(res.statusCode).toBe(201);
    expect(res.cookies[0]!.secure).toBe(true);
    const proxied = await h.newApp({ TRUST_PROXY: '127.0.0.1' });
    const viaProxy = await login(proxied, `key=${link.key}`, 'pw', { headers: { 'x-forwarded-proto': 'https' } });
    expect(viaProxy.cookies[0]!.secure).toBe(true);
    const untrusted = await login(h.app, `key=${link.key}`, 'pw', { headers: { 'x-forwarded-proto': 'https' } });
    expect(untrusted.cookies[0]!.secure).toBeFalsy();
  });

  it('should refuse a wrong password with 401, a link without password with 400, an unknown link with 401', async () => {
    const { link } = await lockedLink();
    const wrong = await login(h.app, `key=${link.key}`, 'nope');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().message).toBe('Invalid password');
    expect(wrong.cookies).toHaveLength(0);
    const asset = await h.createAsset();
    const open = await h.createLink({ assetIds: [asset.id] });
    const noPw = await login(h.app, `key=${open.key}`, 'x');
    expect(noPw.statusCode).toBe(400);
    expect(noPw.json().message).toMatch(/no password/);
    const unknown = await login(h.app, `key=${'z'.repeat(43)}`, 'x');
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().message).toBe('Invalid share key');
    const badBody = await h.app.inject({
      method: 'POST',
      url: `/api/shared-links/login?key=${link.key}`,
      payload: { password: 1 },
    });
    expect(badBody.statusCode).toBe(400);
  });

  it('should redirect a form post back to a same-site share path (deep links survive the prompt)', async () => {
    const { link, asset } = await lockedLink();
    const deep = `/share/${link.key}/photos/${asset.id}`;
    const form = (password: string, returnTo: string) =>
      h.app.inject({
        method: 'POST',
        url: `/api/shared-links/login?key=${link.key}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ password, returnTo }).toString(),
      });
    const ok = await form('correct horse', deep);
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe(deep);
    expect(ok.cookies[0]!.name).toBe(unlockCookieName(link.id));
    const wrong = await form('nope', deep);
    expect(wrong.statusCode).toBe(303);
    expect(wrong.headers.location).toBe(`${deep}?unlock_error=invalid_password`);
    for (const evil of ['https://evil.example/share/x', '//evil.example/share/x', '/\\evil.example', '/api/users']) {
      const res = await form('correct horse', evil);
      expect(res.headers.location).toBe(`/share/${link.key}`);
    }
  });
});

describe('POST /api/shared-links/login returnTo (issue 12 item 9)', () => {
  it('should keep the unlock and redirect to a percent-encoded returnTo with non-Latin or odd characters', async () => {
    const { link, asset } = await lockedLink();
    const deep = `/share/${link.key}/photos/${asset.id}`;
    const cases = [
      `${deep}?от=фото`,
      `/share/${link.key}/Ünïcödé-東京-📷`,
      `/share/${link.key}/a\u2028b`,
      `/share/${link.key}/%ZZ%E0`,
      `/s/${link.key}?q="<script>"`,
      `/share/${link.key}/${'é'.repeat(900)}`,
    ];
    for (const returnTo of cases) {
      for (const password of ['correct horse', 'wrong']) {
        const res = await h.app.inject({
          method: 'POST',
          url: `/api/shared-links/login?key=${link.key}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ password, returnTo }).toString(),
        });
        const location = String(res.headers.location ?? '');
        expect({ returnTo, password, status: res.statusCode, body: res.body.slice(0, 200) }).toEqual({
          returnTo,
          password,
          status: 303,
          body: '',
        });
        // printable ASCII only: a valid header value, and still a same-site share path
        expect(location).toMatch(/^\/(share|s)\/[\x21-\x7e]+$/);
        expect(res.headers['content-security-policy']).toBeDefined();
        if (password === 'wrong') expect(location).toContain('unlock_error=invalid_password');
        else expect(res.cookies[0]?.name).toBe(unlockCookieName(link.id));
      }
    }
    // the redirect names the same place: a browser decodes it back to what the page asked for
    const ok = await h.app.inject({
      method: 'POST',
      url: `/api/shared-links/login?key=${link.key}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ password: 'correct horse', returnTo: `${deep}?от=фото` }).toString(),
    });
    expect(new URL(String(ok.headers.location), 'http://share.test').searchParams.get('от')).toBe('фото');
  });
});

describe('password enforcement on recipient routes', () => {
  it('should answer 401 Password required without an unlock, and serve with one', async () => {
    const { link, asset } = await lockedLink();
    const urls = [
      `/api/shared-links/me?key=${link.key}`,
      `/share/${link.key}/assets`,
      `/share/${link.key}/assets/${asset.id}/thumbnail`,
      `/api/assets/${asset.id}/thumbnail?key=${link.key}`,
      `/api/assets/${asset.id}/original?key=${link.key}`,
    ];
    for (const url of urls) {
      const res = await h.app.inject(url);
      expect({ url, status: res.statusCode, message: res.json().message }).toEqual({
        url,
        status: 401,
        message: 'Password required',
      });
    }
    const cookie = await h.unlock(link, 'correct horse');
    for (const url of urls) expect((await h.app.inject({ url, headers: { cookie } })).statusCode).toBe(200);
  });

  it('should hold unlocks of several links in one browser', async () => {
    const a = await lockedLink('one');
    const b = await lockedLink('two');
    const cookie = `${await h.unlock(a.link, 'one')}; ${await h.unlock(b.link, 'two')}`;
    for (const l of [a.link, b.link]) {
      expect((await h.app.inject({ url: `/api/shared-links/me?key=${l.key}`, headers: { cookie } })).statusCode).toBe(
        200,
      );
    }
  });

  it("should refuse another link's unlock, a forged token and an unlock from before a password change", async () => {
    const a = await lockedLink('one');
    const b = await lockedLink('two');
    const cookieA = await h.unlock(a.link, 'one');
    const tokenA = cookieA.split('=')[1]!;
    const me = (key: string, cookie: string) =>
      h.app.inject({ url: `/api/shared-links/me?key=${key}`, headers: { cookie } });
    expect((await me(b.link.key, cookieA)).json().message).toBe('Password required');
    // A's token under B's cookie name: bound to A's id, so useless for B
    expect((await me(b.link.key, `${unlockCookieName(b.link.id)}=${tokenA}`)).statusCode).toBe(401);
    const forged = tokenA.replace(/\.[^.]+$/, `.${'A'.repeat(43)}`);
    expect((await me(a.link.key, `${unlockCookieName(a.link.id)}=${forged}`)).statusCode).toBe(401);
    expect((await me(a.link.key, cookieA)).statusCode).toBe(200);
    await h.tdb.db
      .updateTable('shared_links')
      .set((eb) => ({ password_version: eb('password_version', '+', 1) }))
      .where('id', '=', a.link.id)
      .execute();
    // a replica with a cold cache sees the new password version at once (others: invalidation event or TTL)
    const fresh = await h.newApp();
    expect(
      (await fresh.inject({ url: `/api/shared-links/me?key=${a.link.key}`, headers: { cookie: cookieA } })).json()
        .message,
    ).toBe('Password required');
  });
});

describe('UnlockTokens', () => {
  it('should expire after the TTL and be bound to the link id and password version', () => {
    let now = Date.UTC(2026, 0, 1);
    const tokens = new UnlockTokens({ secret: TEST_UNLOCK_SECRET, ttlHours: 24, now: () => now });
    const link = { id: '6f1c3a52-3a3b-4c1e-9d4f-2b7f3e1a9c01', password_version: 3 };
    const { token } = tokens.issue(link);
    expect(tokens.verify(link, token)).toBe(true);
    expect(tokens.verify({ ...link, password_version: 4 }, token)).toBe(false);
    expect(tokens.verify({ ...link, id: '6f1c3a52-3a3b-4c1e-9d4f-2b7f3e1a9c02' }, token)).toBe(false);
    const other = new UnlockTokens({ secret: `${TEST_UNLOCK_SECRET}x`, ttlHours: 24, now: () => now });
    expect(other.verify(link, token)).toBe(false);
    expect(tokens.verify(link, undefined)).toBe(false);
    expect(tokens.verify(link, 'garbage')).toBe(false);
    now += 24 * 3600 * 1000 + 1000;
    expect(tokens.verify(link, token)).toBe(false);
  });

  it('should keep refusing altered tokens after the genuine one was verified (verified tokens are remembered)', () => {
    const tokens = new UnlockTokens({ secret: TEST_UNLOCK_SECRET, ttlHours: 24 });
    const link = { id: '6f1c3a52-3a3b-4c1e-9d4f-2b7f3e1a9c01', password_version: 1 };
    const { token } = tokens.issue(link);
    expect(tokens.verify(link, token)).toBe(true);
    expect(tokens.verify(link, token)).toBe(true); // second time: from memory
    const [v, id, pv, exp, sig] = token.split('.') as [string, string, string, string, string];
    const flipped = `${sig.slice(0, -2)}${sig.at(-2) === 'A' ? 'B' : 'A'}${sig.at(-1)}`;
    expect(tokens.verify(link, `${v}.${id}.${pv}.${exp}.${flipped}`)).toBe(false);
    expect(tokens.verify(link, `${v}.${id}.${pv}.${Number(exp) + 3600}.${sig}`)).toBe(false);
    expect(tokens.verify({ ...link, password_version: 2 }, `${v}.${id}.2.${exp}.${sig}`)).toBe(false);
    expect(tokens.verify(link, `${token} `)).toBe(false);
  });
});

describe('wrong-password throttling', () => {
  it('should answer 429 with Retry-After after 10 failures per link and IP, before checking the password', async () => {
    const { link } = await lockedLink();
    for (let i = 0; i < 10; i++) {
      expect((await login(h.app, `key=${link.key}`, `wrong${i}`, { ip: '203.0.113.7' })).statusCode).toBe(401);
    }
    // counted in Redis: another replica sees the same counters
    const replica = await h.newApp();
    const blocked = await login(replica, `key=${link.key}`, 'correct horse', { ip: '203.0.113.7' });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    expect(blocked.json().message).toMatch(/Too many wrong passwords/);
    // another client is not affected
    expect((await login(h.app, `key=${link.key}`, 'correct horse', { ip: '198.51.100.1' })).statusCode).toBe(201);
    const ttl = await h.redis.ttl(`${h.prefix}:unlock-attempts:{${link.id}}:ip:203.0.113.7`);
    expect(ttl).toBeGreaterThan(0);
  });

  it('should lock the link for everyone after UNLOCK_MAX_FAILURES_PER_LINK failures per hour', async () => {
    const app = await h.newApp({ UNLOCK_MAX_FAILURES_PER_LINK: '3' });
    const { link } = await lockedLink();
    for (let i = 0; i < 3; i++) {
      expect((await login(app, `key=${link.key}`, 'wrong', { ip: `192.0.2.${i + 1}` })).statusCode).toBe(401);
    }
    const res = await login(app, `key=${link.key}`, 'correct horse', { ip: '192.0.2.99' });
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(3600);
  });
});

describe('TRUST_PROXY (issue 12 item 5)', () => {
  it('should refuse TRUST_PROXY=true at start-up, naming the variable and the fix', () => {
    const env = {
      DATABASE_URL: 'postgres://x@localhost/db',
      REDIS_URL: 'redis://localhost:6379',
      UNLOCK_SECRET: TEST_UNLOCK_SECRET,
    };
    for (const value of ['true', 'yes', '10.0.0.1,nonsense', '10.0.0.0/33', '-1']) {
      let error: unknown;
      try {
        loadConfig(GatewayConfig, { ...env, TRUST_PROXY: value });
      } catch (e) {
        error = e;
      }
      expect(error, value).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n'), value).toMatch(/^TRUST_PROXY: .*hop count.*TRUST_PROXY=1/s);
    }
    const message = (() => {
      try {
        loadConfig(GatewayConfig, { ...env, TRUST_PROXY: 'true' });
      } catch (e) {
        return (e as ConfigError).message;
      }
    })();
    expect(message).toMatch(/X-Forwarded-For/);
    for (const value of ['false', '', '1', '2', '127.0.0.1', '10.0.0.1, 192.168.0.0/16,::1', 'fd00::/8', 'loopback']) {
      expect(() => loadConfig(GatewayConfig, { ...env, TRUST_PROXY: value }), value).not.toThrow();
    }
  });

  it('should ignore X-Forwarded-For from a peer that is not a listed proxy: forged addresses get no fresh guesses', async () => {
    const app = await h.newApp({ TRUST_PROXY: '10.0.0.1,192.168.0.0/16' });
    const { link } = await lockedLink();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await login(app, `key=${link.key}`, `wrong${i}`, {
        ip: '203.0.113.50',
        headers: { 'x-forwarded-for': `198.51.100.${i + 1}` },
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    // through a listed proxy the forwarded address is the client: the blocked one stays blocked...
    const viaProxy = await login(app, `key=${link.key}`, 'correct horse', {
      ip: '192.168.7.8',
      headers: { 'x-forwarded-for': '203.0.113.50' },
    });
    expect(viaProxy.statusCode).toBe(429);
    // ...and another client behind the proxy is not affected
    const other = await login(app, `key=${link.key}`, 'correct horse', {
      ip: '10.0.0.1',
      headers: { 'x-forwarded-for': '198.51.100.200' },
    });
    expect(other.statusCode).toBe(201);
  });

  it('should take the address the last proxy saw with a hop count, whatever the client prepended', async () => {
    const app = await h.newApp({ TRUST_PROXY: '1' });
    const { link } = await lockedLink();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await login(app, `key=${link.key}`, `wrong${i}`, {
        ip: '10.0.0.1',
        headers: { 'x-forwarded-for': `198.51.100.${i + 1}, 203.0.113.60` },
      });
      statuses.push(res.statusCode);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
    const other = await login(app, `key=${link.key}`, 'correct horse', {
      ip: '10.0.0.1',
      headers: { 'x-forwarded-for': '203.0.113.61' },
    });
    expect(other.statusCode).toBe(201);
  });
});

describe('wrong-password throttling under concurrency (issue 12 item 4)', () => {
  const tally = (statuses: number[]) =>
    statuses.reduce<Record<number, number>>((acc, st) => {
      acc[st] = (acc[st] ?? 0) + 1;
      return acc;
    }, {});

  it('should verify exactly 10 of 60 concurrent wrong guesses from one client; the rest 429 + Retry-After', async () => {
    const { link } = await lockedLink();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => login(h.app, `key=${link.key}`, `wrong${i}`, { ip: '203.0.113.77' })),
    );
    expect(tally(results.map((r) => r.statusCode))).toEqual({ 401: 10, 429: 50 });
    for (const r of results.filter((x) => x.statusCode === 429)) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(r.json().message).toMatch(/Too many wrong passwords/);
    }
    // the budget is spent for this client only: another client with the right password unlocks
    expect((await login(h.app, `key=${link.key}`, 'correct horse', { ip: '203.0.113.78' })).statusCode).toBe(201);
  });

  it('should verify at most UNLOCK_MAX_FAILURES_PER_LINK concurrent guesses per link, whatever the addresses', async () => {
    // room for 4 + 32 waiting password checks: every reserved attempt is verified (none answered 503)
    const app = await h.newApp({ UNLOCK_MAX_FAILURES_PER_LINK: '20', UNLOCK_VERIFY_CONCURRENCY: '4' });
    const { link } = await lockedLink();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        login(app, `key=${link.key}`, `wrong${i}`, { ip: `198.18.${Math.floor(i / 200)}.${(i % 200) + 1}` }),
      ),
    );
    expect(tally(results.map((r) => r.statusCode))).toEqual({ 401: 20, 429: 40 });
  });

  it('should unlock with the right password sent among concurrent wrong ones within the budget', async () => {
    const { link } = await lockedLink();
    const results = await Promise.all([
      ...Array.from({ length: 6 }, (_, i) => login(h.app, `key=${link.key}`, `wrong${i}`, { ip: '203.0.113.90' })),
      login(h.app, `key=${link.key}`, 'correct horse', { ip: '203.0.113.90' }),
      ...Array.from({ length: 3 }, (_, i) => login(h.app, `key=${link.key}`, `nope${i}`, { ip: '203.0.113.90' })),
    ]);
    expect(results.map((r) => r.statusCode)).toEqual([...Array(6).fill(401), 201, ...Array(3).fill(401)]);
    // a right password is not a failure: its attempt is given back (9 failures counted, one more is allowed)
    expect((await login(h.app, `key=${link.key}`, 'last', { ip: '203.0.113.90' })).statusCode).toBe(401);
    expect((await login(h.app, `key=${link.key}`, 'correct horse', { ip: '203.0.113.90' })).statusCode).toBe(429);
  });

  it('should answer 503 + Retry-After when the password checks of this process are all busy, and count nothing', async () => {
    const gate = new ConcurrencyGate({ name: 'password verifications', slots: 1, queue: 0 });
    const app = await buildApp({
      config: h.config,
      db: h.tdb.db,
      storage: h.storage,
      redis: h.redis,
      logger: false,
      passwordVerifications: gate,
    });
    try {
      const { link } = await lockedLink();
      let release: () => void = () => {};
      const held = gate.run(() => new Promise<void>((resolve) => (release = resolve)));
      const busy = await login(app, `key=${link.key}`, 'correct horse', { ip: '203.0.113.99' });
      expect(busy.statusCode).toBe(503);
      expect(Number(busy.headers['retry-after'])).toBeGreaterThan(0);
      expect(Object.keys(busy.json()).sort()).toEqual(['correlationId', 'error', 'message', 'statusCode']);
      release();
      await held;
      // the refused attempt was not counted: the client still has its 10 guesses
      for (let i = 0; i < 10; i++) {
        expect((await login(app, `key=${link.key}`, `wrong${i}`, { ip: '203.0.113.99' })).statusCode).toBe(401);
      }
      expect((await login(app, `key=${link.key}`, 'correct horse', { ip: '203.0.113.99' })).statusCode).toBe(429);
    } finally {
      await app.close();
    }
  });
});

describe('Redis down', () => {
  it('should refuse unlocking with 503 + Retry-After (throttling cannot be checked) and still serve open links', async () => {
    const deadUrl = 'redis://127.0.0.1:1';
    const dead = createRedis({ REDIS_URL: deadUrl }, 'producer');
    const app = await buildApp({
      config: { ...h.config, REDIS_URL: deadUrl },
      db: h.tdb.db,
      storage: h.storage,
      redis: dead,
      logger: false,
    });
    try {
      const { link } = await lockedLink();
      const res = await login(app, `key=${link.key}`, 'correct horse');
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      const asset = await h.createAsset();
      const open = await h.createLink({ assetIds: [asset.id] });
      expect((await app.inject(`/api/shared-links/me?key=${open.key}`)).statusCode).toBe(200);
    } finally {
      await app.close();
      dead.disconnect();
    }
  });
});

describe('password change seen by the login at once', () => {
  it('should check the new password even while the old row is cached, and the new unlock works', async () => {
    const { link } = await lockedLink('old password', { slug: 'pw-change' });
    const old = await h.unlock(link, 'old password');
    expect(
      (await h.app.inject({ url: '/api/shared-links/me?slug=pw-change', headers: { cookie: old } })).statusCode,
    ).toBe(200);
    // changed without any event reaching this app (its cache still holds the old row)
    await h.tdb.db
      .updateTable('shared_links')
      .set({ password_hash: await hashPassword('new password'), password_version: link.password_version + 1 })
      .where('id', '=', link.id)
      .execute();
    expect((await login(h.app, `key=${link.key}`, 'old password')).statusCode).toBe(401);
    const fresh = await h.unlock(link, 'new password');
    for (const url of [`/api/shared-links/me?key=${link.key}`, '/api/shared-links/me?slug=pw-change']) {
      expect((await h.app.inject({ url, headers: { cookie: fresh } })).statusCode).toBe(200);
      expect((await h.app.inject({ url, headers: { cookie: old } })).json().message).toBe('Password required');
    }
  });
});
