import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { coveredOperations, expectImmichReply, expectImmichResponse } from './immich-conformance.ts';

/**
 * Drives real responses of every Immich operation links-api implements and validates each against
 * Immich 3.1's published document (status code documented + body matches the response schema).
 * Each test is named after the operation(s) it covers.
 */
let h: LinksApiHarness;
let owner: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
});
afterAll(async () => {
  // The list of operations this file covered, for the record.
  console.log(`Immich operations validated against the reference:\n  ${[...coveredOperations].sort().join('\n  ')}`);
  await h?.close();
});

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
async function call(method: Method, url: string, who: TestUser | null, payload?: unknown) {
  const res = await h.app.inject({
    method,
    url,
    ...(who ? { headers: who.headers } : {}),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return res;
}
async function check(method: Method, url: string, who: TestUser | null, payload?: unknown) {
  const res = await call(method, url, who, payload);
  expectImmichReply(method, url, res);
  return res;
}

describe('the conformance checker itself', () => {
  it('should reject an undocumented status and a body that does not match', () => {
    expect(() => expectImmichResponse('GET', '/server/ping', 201, { res: 'pong' })).toThrow(/not documented/);
    expect(() => expectImmichResponse('GET', '/server/ping', 200, { res: 1 })).toThrow(/does not match/);
    expect(() => expectImmichResponse('GET', '/api/albums/:id', 200, { id: 'x' })).toThrow(/does not match/);
    expect(() => expectImmichResponse('GET', '/api/nothing-here', 200, {})).toThrow(/documents no operation/);
  });
});

describe('server', () => {
  it('pingServer, getServerVersion, getSupportedMediaTypes, getServerFeatures', async () => {
    await check('GET', '/api/server/ping', null);
    await check('GET', '/api/server/version', null);
    await check('GET', '/api/server/media-types', null);
    await check('GET', '/api/server/features', null);
  });
});

describe('users and API keys', () => {
  it('getMyUser (GET /users/me)', async () => {
    await check('GET', '/api/users/me', owner);
  });

  it('getMyApiKey (GET /api-keys/me)', async () => {
    await check('GET', '/api/api-keys/me', owner);
  });

  it('createApiKey, getApiKeys, deleteApiKey', async () => {
    const created = await check('POST', '/api/api-keys', owner, { name: 'conformance' });
    expect(created.statusCode).toBe(201);
    await check('GET', '/api/api-keys', owner);
    const del = await check('DELETE', `/api/api-keys/${created.json().apiKey.id}`, owner);
    expect(del.statusCode).toBe(204);
  });

  it('createUserAdmin (POST /admin/users)', async () => {
    const res = await check('POST', '/api/admin/users', h.admin, {
      email: 'conformance@immish.test',
      name: 'Conformance',
      password: 'pw-pw-pw',
    });
    expect(res.statusCode).toBe(201);
  });
});
