import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { coveredOperations, expectImmichReply } from './immich-conformance.ts';
import { insertAlbum, insertAssets } from './shared-links.fixtures.ts';

/**
 * Every shared-link operation of links-api against Immich 3.1's published document: the status code is the
 * one Immich documents and the body validates against its response schema (immish's extra fields allowed).
 */
let h: LinksApiHarness;
let owner: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
});
afterAll(async () => {
  console.log(
    `Shared-link operations validated against the reference:\n  ${[...coveredOperations].sort().join('\n  ')}`,
  );
  await h?.close();
});

async function check(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown) {
  const res = await h.app.inject({
    method,
    url,
    headers: owner.headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  expectImmichReply(method, url, res);
  return res;
}

describe('shared links (Immich conformance)', () => {
  it('createSharedLink, getAllSharedLinks, getSharedLinkById, updateSharedLink, removeSharedLink: INDIVIDUAL', async () => {
    const assets = await insertAssets(h.tdb.db, owner.id, 2);
    const created = await check('POST', '/api/shared-links', {
      type: 'INDIVIDUAL',
      assetIds: assets,
      description: 'd',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      password: 'pw',
      slug: 'conformance-individual',
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect((await check('GET', '/api/shared-links')).statusCode).toBe(200);
    expect((await check('GET', `/api/shared-links?id=${id}`)).json()).toHaveLength(1);
    await check('GET', `/api/shared-links/${id}`);
    await check('PATCH', `/api/shared-links/${id}`, { description: null, changeExpiryTime: true, password: null });
    expect((await check('DELETE', `/api/shared-links/${id}`)).statusCode).toBe(204);
  });

  it('createSharedLink, getAllSharedLinks?albumId: ALBUM (with the embedded AlbumResponseDto)', async () => {
    const assets = await insertAssets(h.tdb.db, owner.id, 1);
    const albumId = await insertAlbum(h.tdb.db, owner.id, { assetIds: assets });
    const created = await check('POST', '/api/shared-links', { type: 'ALBUM', albumId, allowUpload: true });
    expect(created.json().album.id).toBe(albumId);
    await check('GET', `/api/shared-links?albumId=${albumId}`);
  });

  it('addSharedLinkAssets, removeSharedLinkAssets', async () => {
    const [a1, a2] = await insertAssets(h.tdb.db, owner.id, 2);
    const link = (await check('POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [a1] })).json();
    const added = await check('PUT', `/api/shared-links/${link.id}/assets`, { assetIds: [a1, a2] });
    expect(added.json()).toEqual([
      { assetId: a1, success: false, error: 'duplicate' },
      { assetId: a2, success: true },
    ]);
    await check('DELETE', `/api/shared-links/${link.id}/assets`, { assetIds: [a2] });
  });
});
