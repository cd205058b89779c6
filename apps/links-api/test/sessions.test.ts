import { createHash } from 'node:crypto';
import { Sessions } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { expectImmichReply } from './immich-conformance.ts';

/**
 * Issue 14 item 1: Immich-compatible sign-in and login sessions — cookies, Bearer tokens, hashed storage,
 * expiry, revocation, password change, CSRF refusal of cookie-authenticated cross-site writes, and the
 * wrong-password throttle (429 + Retry-After).
 */
let h: LinksApiHarness;
let owner: TestUser;
const HOST = 'console.test';
const ORIGIN = `http://${HOST}`;

beforeAll(async () => {
  // TRUST_PROXY=1: the test stands in for one reverse proxy (client addresses, https from X-Forwarded-*)
  h = await startLinksApi({ TRUST_PROXY: '1', LOGIN_MAX_FAILURES_PER_IP: '3', LOGIN_MAX_FAILURES_PER_ACCOUNT: '5' });
  owner = await h.newUser('owner');
});
afterAll(async () => {
  await h?.close();
});

let ipSeq = 0;
/** Each test signs in from its own client address, so the per-address budget of one test is not another's. */
const freshIp = () => `203.0.113.${++ipSeq}`;

async function login(email: string, password: string, headers: Record<string, string> = {}) {
  return h.app.inject({
    method: 'POST',
    url: '/api/auth/login',
    headers: { host: HOST, 'x-forwarded-for': freshIp(), ...headers },
    payload: { email, password },
  });
}

/** Signs in and returns the access token and the cookie header a browser would send back. */
async function signIn(email = owner.email, password = 'pw') {
  const res = await login(email, password);
  expect(res.statusCode).toBe(201);
  const token = res.json().accessToken as string;
  return { token, cookie: `immich_access_token=${token}; immich_auth_type=password; immich_is_authenticated=true` };
}

describe('POST /api/auth/login', () => {
  it("should answer Immich's LoginResponseDto and set HttpOnly, SameSite=Lax session cookies", async () => {
    const res = await login(owner.email.toUpperCase(), 'pw');
    expectImmichReply('POST', '/api/auth/login', res);
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ userId: owner.id, userEmail: owner.email, isAdmin: false, name: 'owner' });
    expect(body.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookies = Object.fromEntries(res.cookies.map((c) => [c.name, c]));
    expect(cookies.immich_access_token).toMatchObject({
      value: body.accessToken,
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
    });
    expect(cookies.immich_access_token!.secure).toBeFalsy();
    expect(cookies.immich_auth_type).toMatchObject({ value: 'password', httpOnly: true });
    expect(cookies.immich_is_authenticated).toMatchObject({ value: 'true' });
    expect(cookies.immich_is_authenticated!.httpOnly).toBeFalsy();
  });

  it('should mark the cookies Secure when the request came over https through the trusted proxy', async () => {
    const res = await login(owner.email, 'pw', { 'x-forwarded-proto': 'https' });
    expect(res.statusCode).toBe(201);
    for (const c of res.cookies) expect(c.secure, c.name).toBe(true);
  });

  it('should store only the SHA-256 of the token, never the token', async () => {
    const { token } = await signIn();
    const rows = await h.tdb.db.selectFrom('sessions').selectAll().where('user_id', '=', owner.id).execute();
    const hash = createHash('sha256').update(token).digest('hex');
    expect(rows.map((r) => r.token_hash)).toContain(hash);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('should refuse a wrong password and an unknown email with the same 401', async () => {
    const wrong = await login(owner.email, 'nope');
    const unknown = await login('nobody@immish.test', 'pw');
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ message: 'Incorrect email or password', statusCode: 401 });
      expect(res.cookies).toEqual([]);
    }
  });

  it('should answer 400 in the error shape to a body without a password', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/auth/login', payload: { email: owner.email } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('should refuse a sign-in posted from another site (login CSRF)', async () => {
    const res = await login(owner.email, 'pw', { origin: 'https://evil.example' });
    expect(res.statusCode).toBe(403);
    expect(res.cookies).toEqual([]);
  });
});

describe('wrong-password throttling (per account and client address, like link unlocks)', () => {
  it('should answer 429 + Retry-After once the budget is spent, even to the right password, and not count right ones', async () => {
    const user = await h.newUser('throttled');
    const ip = '198.51.100.7';
    const from = { 'x-forwarded-for': ip };
    // right passwords are given back: any number of them leaves the budget whole
    for (let i = 0; i < 4; i++) expect((await login(user.email, 'pw', from)).statusCode).toBe(201);
    for (let i = 0; i < 3; i++) expect((await login(user.email, `wrong${i}`, from)).statusCode).toBe(401);
    const refused = await login(user.email, 'pw', from);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.json()).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    // another address still signs in (until the account's own budget, LOGIN_MAX_FAILURES_PER_ACCOUNT=5, is spent)
    expect((await login(user.email, 'pw')).statusCode).toBe(201);
  });

  it('should count concurrent guesses atomically: no more than the budget are checked', async () => {
    const user = await h.newUser('burst');
    const from = { 'x-forwarded-for': '198.51.100.99' };
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => login(user.email, `guess${i}`, from)));
    const codes = all.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 401)).toHaveLength(3);
    expect(codes.filter((c) => c === 429)).toHaveLength(9);
  });
});

describe('using a session', () => {
  it('should accept the access token as Bearer and the cookie, wherever an API key is accepted', async () => {
    const { token, cookie } = await signIn();
    const bearer = await h.app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } });
    expect(bearer.statusCode).toBe(200);
    expect(bearer.json().id).toBe(owner.id);
    const viaCookie = await h.app.inject({ url: '/api/albums', headers: { cookie, host: HOST } });
    expect(viaCookie.statusCode).toBe(200);
    const validate = await h.app.inject({
      method: 'POST',
      url: '/api/auth/validateToken',
      headers: { authorization: `Bearer ${token}` },
    });
    expectImmichReply('POST', '/api/auth/validateToken', validate);
    expect(validate.json()).toEqual({ authStatus: true });
  });

  it('should give a session every permission of its user (as Immich does): it may mint a full API key', async () => {
    const { token } = await signIn();
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/api-keys',
      headers: { authorization: `Bearer ${token}` },
      payload: { name: 'from the console' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().apiKey.permissions).toEqual(['all']);
  });

  it('should refuse an unknown token with 401', async () => {
    const res = await h.app.inject({ url: '/api/users/me', headers: { cookie: 'immich_access_token=forged' } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ message: 'Invalid user token', statusCode: 401 });
  });
});

describe('CSRF: cookie-authenticated unsafe requests must come from this origin', () => {
  it('should refuse a cross-site form post with 403 in the error shape and change nothing', async () => {
    const { cookie } = await signIn();
    const before = await h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', owner.id).execute();
    for (const extra of [
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
      {}, // neither header: not provably same-origin
    ]) {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/albums',
        headers: { cookie, host: HOST, 'content-type': 'application/json', ...extra },
        payload: JSON.stringify({ albumName: 'planted' }),
      });
      expect(res.statusCode, JSON.stringify(extra)).toBe(403);
      expect(res.json()).toMatchObject({ statusCode: 403, error: 'Forbidden', correlationId: expect.any(String) });
    }
    const after = await h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', owner.id).execute();
    expect(after).toHaveLength(before.length);
  });

  it('should accept the same request from this origin (Origin or Sec-Fetch-Site), and header credentials without either', async () => {
    const { token, cookie } = await signIn();
    const post = (headers: Record<string, string>) =>
      h.app.inject({
        method: 'POST',
        url: '/api/albums',
        headers: { host: HOST, ...headers },
        payload: { albumName: 'ok' },
      });
    expect((await post({ cookie, origin: ORIGIN })).statusCode).toBe(201);
    expect((await post({ cookie, 'sec-fetch-site': 'same-origin' })).statusCode).toBe(201);
    expect((await post({ authorization: `Bearer ${token}` })).statusCode).toBe(201);
    expect((await post(owner.headers)).statusCode).toBe(201);
  });
});

describe('GET/DELETE /api/sessions', () => {
  it('should list the live sessions in Immich shape with the current one marked, and revoke one or all others', async () => {
    const user = await h.newUser('devices');
    const a = await signIn(user.email);
    const b = await signIn(user.email);
    const c = await signIn(user.email);
    const auth = (t: string) => ({ authorization: `Bearer ${t}` });
    const list = await h.app.inject({ url: '/api/sessions', headers: auth(a.token) });
    expectImmichReply('GET', '/api/sessions', list);
    const sessions = list.json() as { id: string; current: boolean; expiresAt: string }[];
    expect(sessions).toHaveLength(3);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const current = sessions.find((s) => s.current)!;
    const others = sessions.filter((s) => !s.current);

    const one = await h.app.inject({ method: 'DELETE', url: `/api/sessions/${others[0]!.id}`, headers: auth(a.token) });
    expectImmichReply('DELETE', '/api/sessions/:id', one);
    expect(one.statusCode).toBe(204);
    // exactly one of b and c was the revoked one
    let alive = 0;
    for (const s of [b, c]) {
      if ((await h.app.inject({ url: '/api/users/me', headers: auth(s.token) })).statusCode === 200) alive++;
    }
    expect(alive).toBe(1);
    // someone else's session id is "not found" (no leak)
    const foreign = await h.app.inject({
      method: 'DELETE',
      url: `/api/sessions/${current.id}`,
      headers: owner.headers,
    });
    expect(foreign.statusCode).toBe(400);

    const all = await h.app.inject({ method: 'DELETE', url: '/api/sessions', headers: auth(a.token) });
    expectImmichReply('DELETE', '/api/sessions', all);
    for (const s of [b, c]) {
      expect((await h.app.inject({ url: '/api/users/me', headers: auth(s.token) })).statusCode).toBe(401);
    }
    expect((await h.app.inject({ url: '/api/users/me', headers: auth(a.token) })).statusCode).toBe(200);
  });
});

describe('POST /api/auth/logout', () => {
  it('should end the session, clear the cookies, and leave other sessions signed in', async () => {
    const other = await signIn();
    const { token, cookie } = await signIn();
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      headers: { cookie, host: HOST, origin: ORIGIN },
    });
    expectImmichReply('POST', '/api/auth/logout', res);
    expect(res.json()).toEqual({ successful: true, redirectUri: '/auth/login?autoLaunch=0' });
    const cleared = res.cookies.find((c) => c.name === 'immich_access_token')!;
    expect(cleared.value).toBe('');
    expect(
      (await h.app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } })).statusCode,
    ).toBe(401);
    expect((await h.app.inject({ url: '/api/users/me', headers: { cookie, host: HOST } })).statusCode).toBe(401);
    expect(
      (await h.app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${other.token}` } })).statusCode,
    ).toBe(200);
  });
});

describe('POST /api/auth/change-password', () => {
  it('should refuse a wrong current password, then change it and sign out the other sessions', async () => {
    const user = await h.newUser('changer');
    const mine = await signIn(user.email);
    const other = await signIn(user.email);
    const change = (payload: object) =>
      h.app.inject({
        method: 'POST',
        url: '/api/auth/change-password',
        headers: { authorization: `Bearer ${mine.token}`, 'x-forwarded-for': freshIp() },
        payload,
      });
    expect((await change({ password: 'wrong', newPassword: 'a-new-secret' })).statusCode).toBe(401);
    expect((await change({ password: 'pw', newPassword: 'short' })).statusCode).toBe(400);
    const res = await change({ password: 'pw', newPassword: 'a-new-secret' });
    expectImmichReply('POST', '/api/auth/change-password', res);
    expect(res.json()).toMatchObject({ id: user.id, email: user.email });
    const me = (t: string) => h.app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${t}` } });
    expect((await me(mine.token)).statusCode).toBe(200);
    expect((await me(other.token)).statusCode).toBe(401);
    expect((await login(user.email, 'pw')).statusCode).toBe(401);
    expect((await login(user.email, 'a-new-secret')).statusCode).toBe(201);
  });

  it('should keep the other sessions when invalidateSessions is false', async () => {
    const user = await h.newUser('keeper');
    const mine = await signIn(user.email);
    const other = await signIn(user.email);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/auth/change-password',
      headers: { authorization: `Bearer ${mine.token}` },
      payload: { password: 'pw', newPassword: 'another-secret', invalidateSessions: false },
    });
    expect(res.statusCode).toBe(200);
    expect(
      (await h.app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${other.token}` } })).statusCode,
    ).toBe(200);
  });
});

describe('session expiry (sliding, capped)', () => {
  it('should end a session left unused for the idle period, slide it with use, and never beyond the cap', async () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const day = 24 * 3600 * 1000;
    const sessions = new Sessions(h.tdb.db, { idleDays: 7, maxDays: 20 }, { now: () => now, cacheTtlMs: 0 });
    const user = (await h.tdb.db.selectFrom('users').selectAll().where('id', '=', owner.id).executeTakeFirstOrThrow())!;
    const device = { deviceType: 'test', deviceOS: 'test', appVersion: null };

    const idle = await sessions.create(user, device);
    now += 7 * day + 1;
    expect(await sessions.authenticate(idle.token)).toBeNull();

    const used = await sessions.create(user, device);
    for (let i = 0; i < 3; i++) {
      now += 6 * day; // each use within the idle period moves the end forward
      expect((await sessions.authenticate(used.token))?.session?.id).toBe(used.session.id);
    }
    now += 6 * day; // 24 days after sign-in: past the 20-day cap however much it was used
    expect(await sessions.authenticate(used.token)).toBeNull();
  });
});
