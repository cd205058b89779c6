import { createApiKey } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyJpeg } from '../../ingest-worker/test/fixtures.ts';
import { type FormPart, multipartBody } from '../../ingest-worker/test/http-helpers.ts';
import { client, insertAsset } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * Issue 12 item 6: API key permissions are enforced per route, as Immich does (`x-immich-permission` in the
 * reference document; a missing permission → 403 `Missing required permission: <name>`), and a key never
 * creates a key with more than it has (400 `Cannot grant permissions you do not have`). The per-route sweep
 * against the reference lives in conformance.test.ts; this file is the adversarial probe of the issue.
 */
let h: LinksApiHarness;
let owner: TestUser;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  call = client(h);
});
afterAll(async () => {
  await h?.close();
});

/** A key of `user` carrying exactly `permissions`, as a TestUser (same id, other key). */
async function scoped(user: TestUser, permissions: string[]): Promise<TestUser> {
  const { secret } = await createApiKey(h.tdb.db, user.id, `scoped ${permissions.join(',')}`, permissions);
  return { ...user, key: secret, headers: { 'x-api-key': secret } };
}

const missing = (permission: string) => ({
  message: `Missing required permission: ${permission}`,
  error: 'Forbidden',
  statusCode: 403,
  correlationId: expect.any(String),
});

describe('an ["asset.read"] key (the probe of issue 12)', () => {
  it('should read assets and itself, and be refused every write it was not granted', async () => {
    const asset = await insertAsset(h, owner.id);
    const album = (await call('POST', '/api/albums', owner, { albumName: 'kept' })).json();
    const fullKey = (await call('GET', '/api/api-keys/me', owner)).json();
    const reader = await scoped(owner, ['asset.read']);

    // what it was granted (and what Immich lets any key do: read itself)
    expect((await call('GET', `/api/assets/${asset.id}`, reader)).statusCode).toBe(200);
    const me = await call('GET', '/api/api-keys/me', reader);
    expect(me.statusCode).toBe(200);
    expect(me.json().permissions).toEqual(['asset.read']);

    // minting an all-powerful key
    const mint = await call('POST', '/api/api-keys', reader, { name: 'escalate', permissions: ['all'] });
    expect(mint.statusCode).toBe(403);
    expect(mint.json()).toEqual(missing('apiKey.create'));

    // albums
    const create = await call('POST', '/api/albums', reader, { albumName: 'nope' });
    expect(create.statusCode).toBe(403);
    expect(create.json()).toEqual(missing('album.create'));
    const del = await call('DELETE', `/api/albums/${album.id}`, reader);
    expect(del.statusCode).toBe(403);
    expect(del.json()).toEqual(missing('album.delete'));
    expect((await call('GET', `/api/albums/${album.id}`, owner)).statusCode).toBe(200);

    // trashing photos
    const trash = await call('DELETE', '/api/assets', reader, { ids: [asset.id] });
    expect(trash.statusCode).toBe(403);
    expect(trash.json()).toEqual(missing('asset.delete'));
    const row = await h.tdb.db
      .selectFrom('assets')
      .select('trashed_at')
      .where('id', '=', asset.id)
      .executeTakeFirstOrThrow();
    expect(row.trashed_at).toBeNull();

    // deleting keys (the owner's full key stays)
    const dropKey = await call('DELETE', `/api/api-keys/${fullKey.id}`, reader);
    expect(dropKey.statusCode).toBe(403);
    expect(dropKey.json()).toEqual(missing('apiKey.delete'));
    expect((await call('GET', '/api/users/me', owner)).statusCode).toBe(200);

    // and every other thing it was not given
    expect((await call('GET', '/api/albums', reader)).json()).toEqual(missing('album.read'));
    expect((await call('GET', '/api/shared-links', reader)).json()).toEqual(missing('sharedLink.read'));
    expect((await call('GET', `/api/assets/${asset.id}/original`, reader)).json()).toEqual(missing('asset.download'));
  });
});

describe('POST /api/api-keys', () => {
  it('should never create a key with more than the caller has (400, as Immich)', async () => {
    const creator = await scoped(owner, ['apiKey.create']);
    for (const permissions of [['all'], ['apiKey.read'], ['apiKey.create', 'album.read']]) {
      const res = await call('POST', '/api/api-keys', creator, { name: 'more', permissions });
      expect(res.statusCode, JSON.stringify(permissions)).toBe(400);
      expect(res.json()).toMatchObject({ message: 'Cannot grant permissions you do not have', statusCode: 400 });
    }
    // no permissions given means `all` (the immish default): more than this key has
    expect((await call('POST', '/api/api-keys', creator, { name: 'default' })).statusCode).toBe(400);
    const same = await call('POST', '/api/api-keys', creator, { name: 'same', permissions: ['apiKey.create'] });
    expect(same.statusCode).toBe(201);
    expect(same.json().apiKey.permissions).toEqual(['apiKey.create']);
  });

  it('should let an `all` key create any key, and keys with a subset of what a scoped key has', async () => {
    const full = await call('POST', '/api/api-keys', owner, { name: 'reader', permissions: ['asset.read'] });
    expect(full.statusCode).toBe(201);
    const creator = await scoped(owner, ['apiKey.create', 'album.read', 'album.create']);
    const sub = await call('POST', '/api/api-keys', creator, { name: 'sub', permissions: ['album.read'] });
    expect(sub.statusCode).toBe(201);
    const subKey = { ...owner, headers: { 'x-api-key': sub.json().secret } };
    expect((await call('GET', '/api/albums', subKey)).statusCode).toBe(200);
    expect((await call('POST', '/api/albums', subKey, { albumName: 'x' })).json()).toEqual(missing('album.create'));
  });

  it("should refuse a permission name that is not in Immich's vocabulary (400)", async () => {
    for (const permissions of [['asset.fly'], ['ALL'], ['all', 'album.reed'], []]) {
      const res = await call('POST', '/api/api-keys', owner, { name: 'typo', permissions });
      expect(res.statusCode, JSON.stringify(permissions)).toBe(400);
      expect(res.json().message).toMatch(/permissions/);
    }
  });
});

describe('admin routes', () => {
  it('should answer a non-admin 403 before looking at the key’s permissions (as Immich)', async () => {
    const res = await call('GET', '/api/admin/users', await scoped(owner, ['adminUser.read']));
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/^Forbidden/);
  });

  it('should refuse an admin key without the permission, and accept one with it', async () => {
    const noRead = await call('GET', '/api/admin/users', await scoped(h.admin, ['asset.read']));
    expect(noRead.json()).toEqual(missing('adminUser.read'));
    expect((await call('GET', '/api/admin/users', await scoped(h.admin, ['adminUser.read']))).statusCode).toBe(200);
  });

  it('should not let a scoped admin key mint an `all` key for anyone (POST /api/admin/users/:id/api-keys)', async () => {
    const adminCreator = await scoped(h.admin, ['apiKey.create']);
    const res = await call('POST', `/api/admin/users/${owner.id}/api-keys`, adminCreator, { name: 'escalate' });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toBe('Cannot grant permissions you do not have');
    const ok = await call('POST', `/api/admin/users/${owner.id}/api-keys`, h.admin, { name: 'by an all key' });
    expect(ok.statusCode).toBe(201);
  });
});

describe('POST /api/upload-batches (immish-only: asset.upload, plus albumAsset.create for an album)', () => {
  it('should let an ["asset.upload"] key upload, but not into an album', async () => {
    const album = (await call('POST', '/api/albums', owner, { albumName: 'target' })).json();
    const uploader = await scoped(owner, ['asset.upload']);
    const post = (parts: FormPart[]) => {
      const form = multipartBody(parts);
      return h.app.inject({
        method: 'POST',
        url: '/api/upload-batches',
        headers: { ...uploader.headers, ...form.headers },
        payload: form.payload,
      });
    };
    const file = { name: 'files', filename: 'a.jpg', data: await tinyJpeg(7) };
    const intoAlbum = await post([{ name: 'albumId', value: album.id }, file]);
    expect(intoAlbum.statusCode).toBe(403);
    expect(intoAlbum.json()).toEqual(missing('albumAsset.create'));
    const plain = await post([file]);
    expect(plain.statusCode).toBe(202);
    const batch = await call('GET', `/api/upload-batches/${plain.json().id}`, uploader);
    expect(batch.statusCode).toBe(200);
  });
});
