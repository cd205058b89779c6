import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi } from './harness.ts';

let h: LinksApiHarness;
beforeAll(async () => {
  h = await startLinksApi();
});
afterAll(async () => {
  await h?.close();
});

describe('GET /api/server/*', () => {
  it('should answer ping, version, media types and features without a key', async () => {
    expect((await h.app.inject('/api/server/ping')).json()).toEqual({ res: 'pong' });
    expect((await h.app.inject('/api/server/version')).json()).toMatchObject({ major: 3, minor: 1 });
    const media = (await h.app.inject('/api/server/media-types')).json();
    expect(media.image).toContain('.jpg');
    expect((await h.app.inject('/api/server/features')).statusCode).toBe(200);
  });
});

describe('GET /api/users/me', () => {
  it('should require an API key', async () => {
    const res = await h.app.inject('/api/users/me');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ message: 'Authentication required', statusCode: 401 });
  });

  it('should refuse an unknown key', async () => {
    const res = await h.app.inject({ url: '/api/users/me', headers: { 'x-api-key': 'nope' } });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toBe('Invalid API key');
  });

  it('should accept x-api-key and Authorization: Bearer', async () => {
    const a = await h.app.inject({ url: '/api/users/me', headers: h.admin.headers });
    expect(a.statusCode).toBe(200);
    expect(a.json()).toMatchObject({ id: h.admin.id, email: h.admin.email, isAdmin: true });
    const b = await h.app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${h.admin.key}` } });
    expect(b.json().id).toBe(h.admin.id);
  });
});

describe('GET /api/api-keys/me', () => {
  it('should show the full permission the Immich CLI requires', async () => {
    const res = await h.app.inject({ url: '/api/api-keys/me', headers: h.admin.headers });
    expect(res.json().permissions).toEqual(['all']);
  });
});

describe('POST /api/admin/users', () => {
  it('should create a user with an argon2id password hash (admin only)', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: h.admin.headers,
      payload: { email: 'New@Example.com', name: 'New', password: 'secret-pw' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ email: 'New@Example.com', name: 'New', isAdmin: false });
    expect(JSON.stringify(res.json())).not.toContain('secret-pw');
    const row = await h.tdb.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', res.json().id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const dup = await h.app.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: h.admin.headers,
      payload: { email: 'new@example.com', name: 'Dup', password: 'x' },
    });
    expect(dup.statusCode).toBe(409);
  });

  it('should refuse non-admins with 403 and bad bodies with 400', async () => {
    const u = await h.newUser();
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: u.headers,
      payload: { email: 'a@b.c', name: 'a', password: 'x' },
    });
    expect(res.statusCode).toBe(403);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/admin/users',
      headers: h.admin.headers,
      payload: { email: 'not-an-email', name: 'a', password: 'x' },
    });
    expect(bad.statusCode).toBe(400);
  });
});

describe('POST /api/admin/users/:id/api-keys', () => {
  it('should create a key for that user, shown once, stored hashed', async () => {
    const u = await h.newUser();
    const res = await h.app.inject({
      method: 'POST',
      url: `/api/admin/users/${u.id}/api-keys`,
      headers: h.admin.headers,
      payload: { name: 'phone' },
    });
    expect(res.statusCode).toBe(201);
    const { secret, apiKey } = res.json();
    expect(apiKey).toMatchObject({ name: 'phone', permissions: ['all'] });
    const me = await h.app.inject({ url: '/api/users/me', headers: { 'x-api-key': secret } });
    expect(me.json().id).toBe(u.id);
    const stored = await h.tdb.db
      .selectFrom('api_keys')
      .select('key_hash')
      .where('id', '=', apiKey.id)
      .executeTakeFirstOrThrow();
    expect(stored.key_hash).not.toContain(secret);
    const unknown = await h.app.inject({
      method: 'POST',
      url: '/api/admin/users/00000000-0000-4000-8000-000000000000/api-keys',
      headers: h.admin.headers,
      payload: { name: 'x' },
    });
    expect(unknown.statusCode).toBe(400);
  });
});

describe('POST/GET/DELETE /api/api-keys', () => {
  it('should let a user manage only their own keys', async () => {
    const u = await h.newUser();
    const other = await h.newUser();
    const created = await h.app.inject({
      method: 'POST',
      url: '/api/api-keys',
      headers: u.headers,
      payload: { name: 'cli', permissions: ['all'] },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().apiKey.id;
    const list = await h.app.inject({ url: '/api/api-keys', headers: u.headers });
    expect(list.json().map((k: { id: string }) => k.id)).toContain(id);
    const foreign = await h.app.inject({ method: 'DELETE', url: `/api/api-keys/${id}`, headers: other.headers });
    expect(foreign.statusCode).toBe(400);
    const secret = created.json().secret;
    expect((await h.app.inject({ url: '/api/users/me', headers: { 'x-api-key': secret } })).statusCode).toBe(200);
    const del = await h.app.inject({ method: 'DELETE', url: `/api/api-keys/${id}`, headers: u.headers });
    expect(del.statusCode).toBe(204);
    // the deleted key stops working at once in this process, cache or not
    expect((await h.app.inject({ url: '/api/users/me', headers: { 'x-api-key': secret } })).statusCode).toBe(401);
    const malformed = await h.app.inject({ method: 'DELETE', url: '/api/api-keys/not-a-uuid', headers: u.headers });
    expect(malformed.statusCode).toBe(400);
  });
});

describe('GET /api/openapi.json', () => {
  it('should describe the routes from the contract schemas', async () => {
    const doc = (await h.app.inject('/api/openapi.json')).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/api/users/me');
    expect((await h.app.inject('/api/docs')).statusCode).toBeLessThan(400);
  });
});
