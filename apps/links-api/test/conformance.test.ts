import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAsset } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { coveredOperations, expectImmichReply, expectImmichResponse } from './immich-conformance.ts';

/**
 * Drives real responses of every Immich operation links-api implements and validates each against
 * Immich 3.1's published document (status code documented + body matches the response schema).
 * Each test is named after the operation(s) it covers.
 */
let h: LinksApiHarness;
let owner: TestUser;
let member: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  member = await h.newUser('member');
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

describe('albums', () => {
  it('createAlbum, getAllAlbums, getAlbumInfo, updateAlbumInfo, deleteAlbum', async () => {
    const asset = await insertAsset(h, owner.id);
    const created = await check('POST', '/api/albums', owner, {
      albumName: 'Conformance',
      description: 'with an asset and a member',
      assetIds: [asset.id],
      albumUsers: [{ userId: member.id, role: 'viewer' }],
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    const empty = await check('POST', '/api/albums', owner, { albumName: '' });
    await check('GET', '/api/albums', owner);
    await check('GET', '/api/albums?shared=true', owner);
    await check('GET', '/api/albums?isOwned=false', member);
    await check('GET', `/api/albums?assetId=${asset.id}`, owner);
    await check('GET', `/api/albums/${id}`, owner);
    await check('GET', `/api/albums/${id}`, member);
    await check('GET', `/api/albums/${empty.json().id}`, owner);
    await check('PATCH', `/api/albums/${id}`, owner, { albumName: 'Renamed', description: null, order: 'asc' });
    expect((await check('DELETE', `/api/albums/${empty.json().id}`, owner)).statusCode).toBe(204);
  });

  it('addAssetsToAlbum, removeAssetFromAlbum (per-id results)', async () => {
    const a1 = await insertAsset(h, owner.id);
    const foreign = await insertAsset(h, member.id);
    const album = (await call('POST', '/api/albums', owner, { albumName: 'assets' })).json();
    const added = await check('PUT', `/api/albums/${album.id}/assets`, owner, { ids: [a1.id, a1.id, foreign.id] });
    expect(added.json().map((r: { error?: string }) => r.error)).toEqual([undefined, 'duplicate', 'no_permission']);
    const removed = await check('DELETE', `/api/albums/${album.id}/assets`, owner, { ids: [a1.id, foreign.id] });
    expect(removed.json().map((r: { error?: string }) => r.error)).toEqual([undefined, 'not_found']);
  });

  it('addUsersToAlbum, updateAlbumUser, removeUserFromAlbum', async () => {
    const album = (await call('POST', '/api/albums', owner, { albumName: 'members' })).json();
    await check('PUT', `/api/albums/${album.id}/users`, owner, { albumUsers: [{ userId: member.id }] });
    const role = await check('PUT', `/api/albums/${album.id}/user/${member.id}`, owner, { role: 'viewer' });
    expect(role.statusCode).toBe(204);
    const left = await check('DELETE', `/api/albums/${album.id}/user/me`, member);
    expect(left.statusCode).toBe(204);
  });
});
