import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { insertAlbum, insertAsset, insertAssets, UNKNOWN_ID } from './shared-links.fixtures.ts';

let h: LinksApiHarness;
let owner: TestUser;
let other: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  other = await h.newUser('other');
});
afterAll(async () => {
  await h?.close();
});

const future = (days = 7) => new Date(Date.now() + days * 86_400_000).toISOString();

async function call(user: TestUser | null, method: string, url: string, payload?: unknown) {
  const res = await h.app.inject({
    method: method as 'GET',
    url,
    ...(user ? { headers: user.headers } : {}),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected loosely in tests
  let body: any = null;
  try {
    body = res.json();
  } catch {}
  return { status: res.statusCode, body };
}

async function createLink(user: TestUser, payload: Record<string, unknown>) {
  const res = await call(user, 'POST', '/api/shared-links', payload);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function newIndividualLink(extra: Record<string, unknown> = {}) {
  const assetId = await insertAsset(h.tdb.db, owner.id);
  return createLink(owner, { type: 'INDIVIDUAL', assetIds: [assetId], ...extra });
}

const linkRow = (id: string) =>
  h.tdb.db.selectFrom('shared_links').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

describe('POST /api/shared-links', () => {
  it('should require an API key', async () => {
    const res = await call(null, 'POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [UNKNOWN_ID] });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
  });

  it('should create an INDIVIDUAL link with the documented defaults and the assets', async () => {
    const assets = await insertAssets(h.tdb.db, owner.id, 2);
    const link = await createLink(owner, { type: 'INDIVIDUAL', assetIds: assets });
    expect(link).toMatchObject({
      type: 'INDIVIDUAL',
      userId: owner.id,
      description: null,
      expiresAt: null,
      allowDownload: true,
      allowUpload: false,
      showMetadata: true,
      password: null,
      hasPassword: false,
      slug: null,
      views: 0,
      downloads: 0,
      uploads: 0,
      lastAccessedAt: null,
    });
    expect(link.album).toBeUndefined();
    expect(link.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(link.key, 'base64url')).toHaveLength(32);
    expect(link.url).toBe(`http://share.test/share/${link.key}`);
    expect(link.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(link.assets.map((a: { id: string }) => a.id).sort()).toEqual([...assets].sort());
    expect(link.assets[0]).toMatchObject({ ownerId: owner.id, type: 'IMAGE' });
  });

  it('should apply every option given', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const expiresAt = future(3);
    const link = await createLink(owner, {
      type: 'INDIVIDUAL',
      assetIds: [assetId],
      description: 'Vacation photos',
      expiresAt,
      allowDownload: false,
      allowUpload: true,
      showMetadata: false,
      password: 'hunter2',
      slug: 'Vacation-2024_a',
    });
    expect(link).toMatchObject({
      description: 'Vacation photos',
      expiresAt: new Date(expiresAt).toISOString(),
      allowDownload: false,
      allowUpload: true,
      showMetadata: false,
      password: null,
      hasPassword: true,
      slug: 'Vacation-2024_a',
      url: 'http://share.test/share/Vacation-2024_a',
    });
  });

  it('should create an ALBUM link (owner or editor) with the album and no assets', async () => {
    const editor = await h.newUser('editor');
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const albumId = await insertAlbum(h.tdb.db, owner.id, {
      name: 'Summer 2024',
      members: [{ userId: editor.id, role: 'editor' }],
      assetIds: [assetId],
    });
    const link = await createLink(owner, { type: 'ALBUM', albumId, expiresAt: null, allowUpload: true });
    expect(link).toMatchObject({ type: 'ALBUM', assets: [], expiresAt: null, allowUpload: true });
    expect(link.album).toMatchObject({ id: albumId, albumName: 'Summer 2024', assetCount: 1, hasSharedLink: true });
    expect(link.album.albumUsers[0]).toMatchObject({ role: 'owner', user: { id: owner.id } });
    const byEditor = await createLink(editor, { type: 'ALBUM', albumId });
    expect(byEditor).toMatchObject({ userId: editor.id, album: { id: albumId } });
  });

  it("should keep showing an ALBUM link's album after its creator left the album, and drop it once deleted", async () => {
    const editor = await h.newUser('leaver');
    const albumId = await insertAlbum(h.tdb.db, owner.id, {
      name: 'Left',
      members: [{ userId: editor.id, role: 'editor' }],
    });
    const link = await createLink(editor, { type: 'ALBUM', albumId });
    await h.tdb.db.deleteFrom('album_users').where('album_id', '=', albumId).where('user_id', '=', editor.id).execute();
    const after = await call(editor, 'GET', `/api/shared-links/${link.id}`);
    expect(after.status).toBe(200);
    expect(after.body.album).toMatchObject({ id: albumId, albumName: 'Left', ownerId: owner.id });
    expect(after.body.album.albumUsers[0]).toMatchObject({ role: 'owner', user: { id: owner.id } });
    await h.tdb.db.updateTable('albums').set({ deleted_at: new Date() }).where('id', '=', albumId).execute();
    const gone = await call(editor, 'GET', `/api/shared-links/${link.id}`);
    expect(gone.status).toBe(200);
    expect(gone.body.album).toBeUndefined();
  });

  it('should refuse an ALBUM link to an album viewer or stranger, naming the album', async () => {
    const viewer = await h.newUser('viewer');
    const albumId = await insertAlbum(h.tdb.db, owner.id, { members: [{ userId: viewer.id, role: 'viewer' }] });
    for (const user of [viewer, other]) {
      const res = await call(user, 'POST', '/api/shared-links', { type: 'ALBUM', albumId });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(albumId);
    }
    const unknown = await call(owner, 'POST', '/api/shared-links', { type: 'ALBUM', albumId: UNKNOWN_ID });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toContain(UNKNOWN_ID);
  });

  it('should refuse unknown or foreign assets with 400 naming exactly the bad ids', async () => {
    const mine = await insertAsset(h.tdb.db, owner.id);
    const theirs = await insertAsset(h.tdb.db, other.id);
    const count = async () =>
      (await h.tdb.db.selectFrom('shared_links').select('id').where('owner_id', '=', owner.id).execute()).length;
    const before = await count();
    const res = await call(owner, 'POST', '/api/shared-links', {
      type: 'INDIVIDUAL',
      assetIds: [mine, theirs, UNKNOWN_ID],
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain(theirs);
    expect(res.body.message).toContain(UNKNOWN_ID);
    expect(res.body.message).not.toContain(mine);
    expect(await count()).toBe(before);
  });

  it('should refuse inconsistent type/target combinations', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const albumId = await insertAlbum(h.tdb.db, owner.id);
    const cases = [
      { type: 'INDIVIDUAL' },
      { type: 'INDIVIDUAL', assetIds: [] },
      { type: 'INDIVIDUAL', assetIds: [assetId], albumId },
      { type: 'ALBUM' },
      { type: 'ALBUM', albumId, assetIds: [assetId] },
      { type: 'SOMETHING', assetIds: [assetId] },
    ];
    for (const payload of cases) {
      const res = await call(owner, 'POST', '/api/shared-links', payload);
      expect(res.status, JSON.stringify(payload)).toBe(400);
      expect(res.body.message.length).toBeGreaterThan(5);
    }
  });

  it('should refuse malformed UUIDs, wrong types and extra fields with 400', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const bad = [
      { type: 'INDIVIDUAL', assetIds: ['not-a-uuid'] },
      { type: 'ALBUM', albumId: '1234' },
      { type: 'INDIVIDUAL', assetIds: assetId },
      { type: 'INDIVIDUAL', assetIds: [assetId], allowDownload: 'yes' },
      { type: 'INDIVIDUAL', assetIds: [assetId], showMetadata: 1 },
      { type: 'INDIVIDUAL', assetIds: [assetId], expiresAt: 'tomorrow' },
      { type: 'INDIVIDUAL', assetIds: [assetId], expiresAt: 12345 },
      { type: 'INDIVIDUAL', assetIds: [assetId], password: 42 },
      { type: 'INDIVIDUAL', assetIds: [assetId], isOwner: true },
      { type: 'INDIVIDUAL', assetIds: [assetId], description: 'nul \u0000 inside' },
    ];
    for (const payload of bad) {
      const res = await call(owner, 'POST', '/api/shared-links', payload);
      expect(res.status, JSON.stringify(payload)).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
    const notJson = await h.app.inject({
      method: 'POST',
      url: '/api/shared-links',
      headers: { ...owner.headers, 'content-type': 'application/json' },
      payload: '{"type": ',
    });
    expect(notJson.statusCode).toBe(400);
  });

  it('should refuse more than 10,000 asset ids in one request', async () => {
    const ids = Array.from({ length: 10_001 }, () => crypto.randomUUID());
    const res = await call(owner, 'POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: ids });
    expect(res.status).toBe(400);
  });

  it('should refuse an expiry in the past', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const res = await call(owner, 'POST', '/api/shared-links', {
      type: 'INDIVIDUAL',
      assetIds: [assetId],
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/expiresAt must be in the future/);
  });

  it('should store the password only as an argon2id hash and never return it', async () => {
    const link = await newIndividualLink({ password: 'correct horse' });
    expect(link.password).toBeNull();
    expect(link.hasPassword).toBe(true);
    expect(JSON.stringify(link)).not.toContain('correct horse');
    const row = await linkRow(link.id);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(row.password_hash).not.toContain('correct horse');
    expect(row.password_version).toBe(0);
    const listed = await call(owner, 'GET', `/api/shared-links?id=${link.id}`);
    expect(JSON.stringify(listed.body)).not.toContain('argon2');
    expect(listed.body[0]).toMatchObject({ password: null, hasPassword: true });
  });

  it('should treat an empty password and an empty slug as none', async () => {
    const link = await newIndividualLink({ password: '', slug: '' });
    expect(link).toMatchObject({ hasPassword: false, slug: null });
  });
});

describe('slugs', () => {
  it('should refuse malformed slugs with 400 stating the rule', async () => {
    for (const slug of [
      'ab',
      'a'.repeat(41),
      'has space',
      'dot.ted',
      'ünï',
      'slash/x',
      'API',
      'Share',
      'health',
      'docs',
    ]) {
      const assetId = await insertAsset(h.tdb.db, owner.id);
      const res = await call(owner, 'POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [assetId], slug });
      expect(res.status, slug).toBe(400);
      expect(res.body.message).toContain('3–40 characters');
    }
    const reserved = await call(owner, 'POST', '/api/shared-links', {
      type: 'INDIVIDUAL',
      assetIds: [await insertAsset(h.tdb.db, owner.id)],
      slug: 'metrics',
    });
    expect(reserved.body.message).toMatch(/reserved word/);
  });

  it('should give exactly one of two concurrent requests a contested slug (the other 409)', async () => {
    const [a1, a2] = await insertAssets(h.tdb.db, owner.id, 2);
    const results = await Promise.all(
      [a1, a2].map((assetId) =>
        call(owner, 'POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [assetId], slug: 'Race-Slug' }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });

  it('should accept 3 and 40 characters', async () => {
    expect((await newIndividualLink({ slug: 'a_Z' })).slug).toBe('a_Z');
    expect((await newIndividualLink({ slug: 'x'.repeat(40) })).slug).toBe('x'.repeat(40));
  });

  it('should answer 409 for a slug taken by anyone, case-insensitively', async () => {
    await newIndividualLink({ slug: 'Family-Trip' });
    const assetId = await insertAsset(h.tdb.db, other.id);
    for (const slug of ['Family-Trip', 'family-trip', 'FAMILY-TRIP']) {
      const res = await call(other, 'POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [assetId], slug });
      expect(res.status, slug).toBe(409);
      expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
      expect(res.body.message).toMatch(/already in use/);
    }
    const mine = await newIndividualLink({ slug: 'another-one' });
    const clash = await call(owner, 'PATCH', `/api/shared-links/${mine.id}`, { slug: 'FAMILY-trip' });
    expect(clash.status).toBe(409);
    const recase = await call(owner, 'PATCH', `/api/shared-links/${mine.id}`, { slug: 'Another-One' });
    expect(recase.status).toBe(200);
    expect(recase.body.slug).toBe('Another-One');
  });
});

describe('GET /api/shared-links', () => {
  it("should list only the caller's links, newest first, filtered by album and id", async () => {
    const u = await h.newUser('lister');
    const a1 = await insertAsset(h.tdb.db, u.id);
    const albumId = await insertAlbum(h.tdb.db, u.id);
    const l1 = await createLink(u, { type: 'INDIVIDUAL', assetIds: [a1] });
    const l2 = await createLink(u, { type: 'ALBUM', albumId });
    await newIndividualLink();
    const all = await call(u, 'GET', '/api/shared-links');
    expect(all.status).toBe(200);
    expect(all.body.map((l: { id: string }) => l.id)).toEqual([l2.id, l1.id]);
    expect(all.body[1].assets.map((a: { id: string }) => a.id)).toEqual([a1]);
    expect(all.body[0].album.id).toBe(albumId);
    const byAlbum = await call(u, 'GET', `/api/shared-links?albumId=${albumId}`);
    expect(byAlbum.body.map((l: { id: string }) => l.id)).toEqual([l2.id]);
    const byId = await call(u, 'GET', `/api/shared-links?id=${l1.id}`);
    expect(byId.body.map((l: { id: string }) => l.id)).toEqual([l1.id]);
    const foreign = await call(other, 'GET', `/api/shared-links?id=${l1.id}`);
    expect(foreign.body).toEqual([]);
  });

  it('should refuse malformed filters and a missing key', async () => {
    expect((await call(owner, 'GET', '/api/shared-links?albumId=nope')).status).toBe(400);
    expect((await call(owner, 'GET', '/api/shared-links?id=123')).status).toBe(400);
    expect((await call(null, 'GET', '/api/shared-links')).status).toBe(401);
  });
});

describe('GET /api/shared-links/:id', () => {
  it('should return the own link and 400 for anyone else, unknown or malformed ids', async () => {
    const link = await newIndividualLink();
    const res = await call(owner, 'GET', `/api/shared-links/${link.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(link);
    const foreign = await call(other, 'GET', `/api/shared-links/${link.id}`);
    expect(foreign.status).toBe(400);
    expect(foreign.body.message).toMatch(/not found or no access/i);
    expect((await call(owner, 'GET', `/api/shared-links/${UNKNOWN_ID}`)).status).toBe(400);
    expect((await call(owner, 'GET', '/api/shared-links/not-a-uuid')).status).toBe(400);
    expect((await call(null, 'GET', `/api/shared-links/${link.id}`)).status).toBe(401);
  });
});

describe('PATCH /api/shared-links/:id', () => {
  it('should change only the fields sent', async () => {
    const expiresAt = future(5);
    const link = await newIndividualLink({
      description: 'before',
      expiresAt,
      allowDownload: false,
      allowUpload: true,
      showMetadata: false,
      password: 'pw-1',
      slug: 'keep-me',
    });
    const res = await call(owner, 'PATCH', `/api/shared-links/${link.id}`, { description: 'after' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      description: 'after',
      expiresAt: new Date(expiresAt).toISOString(),
      allowDownload: false,
      allowUpload: true,
      showMetadata: false,
      hasPassword: true,
      slug: 'keep-me',
      key: link.key,
    });
    const flags = await call(owner, 'PATCH', `/api/shared-links/${link.id}`, {
      allowDownload: true,
      allowUpload: false,
      showMetadata: true,
      description: null,
    });
    expect(flags.body).toMatchObject({
      allowDownload: true,
      allowUpload: false,
      showMetadata: true,
      description: null,
    });
    expect(flags.body).toMatchObject({ slug: 'keep-me', hasPassword: true });
    const empty = await call(owner, 'PATCH', `/api/shared-links/${link.id}`, {});
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual(flags.body);
  });

  describe('expiry: changeExpiryTime × expiresAt', () => {
    const initial = future(10);
    const next = future(20);
    const cases: { changeExpiryTime?: boolean; expiresAt?: string | null; expect: 'initial' | 'next' | null }[] = [
      { changeExpiryTime: true, expiresAt: next, expect: 'next' },
      { changeExpiryTime: true, expiresAt: null, expect: null },
      { changeExpiryTime: true, expect: null },
      { changeExpiryTime: false, expiresAt: next, expect: 'initial' },
      { changeExpiryTime: false, expiresAt: null, expect: 'initial' },
      { changeExpiryTime: false, expect: 'initial' },
      { expiresAt: next, expect: 'next' },
      { expiresAt: null, expect: null },
      { expect: 'initial' },
    ];
    for (const c of cases) {
      const { expect: want, ...body } = c;
      it(`should give ${want ?? 'never'} for ${JSON.stringify(body)}`, async () => {
        const link = await newIndividualLink({ expiresAt: initial });
        const res = await call(owner, 'PATCH', `/api/shared-links/${link.id}`, { ...body, description: 'x' });
        expect(res.status).toBe(200);
        const wanted = want === null ? null : new Date(want === 'initial' ? initial : next).toISOString();
        expect(res.body.expiresAt).toBe(wanted);
        expect((await linkRow(link.id)).expires_at?.toISOString() ?? null).toBe(wanted);
      });
    }

    it('should refuse a past expiry and a non-boolean changeExpiryTime', async () => {
      const link = await newIndividualLink();
      const past = await call(owner, 'PATCH', `/api/shared-links/${link.id}`, {
        expiresAt: new Date(Date.now() - 1000).toISOString(),
      });
      expect(past.status).toBe(400);
      const wrong = await call(owner, 'PATCH', `/api/shared-links/${link.id}`, { changeExpiryTime: 'true' });
      expect(wrong.status).toBe(400);
    });
  });

  it('should bump password_version when the password is set, changed or removed, and not otherwise', async () => {
    const link = await newIndividualLink();
    const version = async () => (await linkRow(link.id)).password_version;
    const patch = (body: unknown) => call(owner, 'PATCH', `/api/shared-links/${link.id}`, body);
    expect((await patch({ password: 'first' })).body.hasPassword).toBe(true);
    expect(await version()).toBe(1);
    await patch({ password: 'first' }); // same password: no change
    expect(await version()).toBe(1);
    await patch({ description: 'unrelated' });
    expect(await version()).toBe(1);
    const hashBefore = (await linkRow(link.id)).password_hash;
    await patch({ password: 'second' });
    expect(await version()).toBe(2);
    expect((await linkRow(link.id)).password_hash).not.toBe(hashBefore);
    expect((await patch({ password: null })).body.hasPassword).toBe(false);
    expect(await version()).toBe(3);
    expect((await linkRow(link.id)).password_hash).toBeNull();
    await patch({ password: 'third' });
    expect((await patch({ password: '' })).body.hasPassword).toBe(false);
    expect(await version()).toBe(5);
  });

  it('should set, keep and remove the slug', async () => {
    const link = await newIndividualLink();
    const patch = (body: unknown) => call(owner, 'PATCH', `/api/shared-links/${link.id}`, body);
    expect((await patch({ slug: 'my-slug-1' })).body).toMatchObject({
      slug: 'my-slug-1',
      url: 'http://share.test/share/my-slug-1',
    });
    expect((await patch({ description: 'd' })).body.slug).toBe('my-slug-1');
    expect((await patch({ slug: 'no' })).status).toBe(400);
    expect((await patch({ slug: null })).body).toMatchObject({
      slug: null,
      url: `http://share.test/share/${link.key}`,
    });
  });

  it('should refuse type/album changes, extra fields, wrong types and foreign links', async () => {
    const link = await newIndividualLink();
    for (const body of [
      { type: 'ALBUM' },
      { albumId: UNKNOWN_ID },
      { assetIds: [] },
      { allowUpload: 'no' },
      { key: 'x' },
    ]) {
      expect((await call(owner, 'PATCH', `/api/shared-links/${link.id}`, body)).status, JSON.stringify(body)).toBe(400);
    }
    const foreign = await call(other, 'PATCH', `/api/shared-links/${link.id}`, { description: 'hijack' });
    expect(foreign.status).toBe(400);
    expect((await linkRow(link.id)).description).toBeNull();
    expect((await call(owner, 'PATCH', '/api/shared-links/xyz', {})).status).toBe(400);
    expect((await call(null, 'PATCH', `/api/shared-links/${link.id}`, {})).status).toBe(401);
  });
});

describe('DELETE /api/shared-links/:id', () => {
  it('should delete the own link with 204 and refuse others', async () => {
    const link = await newIndividualLink();
    expect((await call(other, 'DELETE', `/api/shared-links/${link.id}`)).status).toBe(400);
    expect((await call(null, 'DELETE', `/api/shared-links/${link.id}`)).status).toBe(401);
    const res = await h.app.inject({ method: 'DELETE', url: `/api/shared-links/${link.id}`, headers: owner.headers });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect((await call(owner, 'GET', `/api/shared-links/${link.id}`)).status).toBe(400);
    expect((await call(owner, 'DELETE', `/api/shared-links/${link.id}`)).status).toBe(400);
    expect((await call(owner, 'DELETE', '/api/shared-links/bad-id')).status).toBe(400);
  });
});

describe('PUT /api/shared-links/:id/assets', () => {
  it('should report per id: success, duplicate, no_permission', async () => {
    const [a1, a2, a3] = await insertAssets(h.tdb.db, owner.id, 3);
    const theirs = await insertAsset(h.tdb.db, other.id);
    const link = await createLink(owner, { type: 'INDIVIDUAL', assetIds: [a1] });
    const res = await call(owner, 'PUT', `/api/shared-links/${link.id}/assets`, {
      assetIds: [a1, a2, theirs, UNKNOWN_ID, a3, a2],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { assetId: a1, success: false, error: 'duplicate' },
      { assetId: a2, success: true },
      { assetId: theirs, success: false, error: 'no_permission' },
      { assetId: UNKNOWN_ID, success: false, error: 'no_permission' },
      { assetId: a3, success: true },
      { assetId: a2, success: false, error: 'duplicate' },
    ]);
    const after = await call(owner, 'GET', `/api/shared-links/${link.id}`);
    expect(after.body.assets.map((a: { id: string }) => a.id).sort()).toEqual([a1, a2, a3].sort());
  });

  it('should treat ids differing only in case as the same asset (never a 5xx)', async () => {
    const [a1, a2] = await insertAssets(h.tdb.db, owner.id, 2);
    const link = await createLink(owner, {
      type: 'INDIVIDUAL',
      assetIds: [a1 as string, (a1 as string).toUpperCase()],
    });
    expect(link.assets).toHaveLength(1);
    const upper = (a2 as string).toUpperCase();
    const res = await call(owner, 'PUT', `/api/shared-links/${link.id}/assets`, {
      assetIds: [(a1 as string).toUpperCase(), upper, a2],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { assetId: (a1 as string).toUpperCase(), success: false, error: 'duplicate' },
      { assetId: upper, success: true },
      { assetId: a2, success: false, error: 'duplicate' },
    ]);
    const removed = await call(owner, 'DELETE', `/api/shared-links/${link.id}/assets`, { assetIds: [upper] });
    expect(removed.body).toEqual([{ assetId: upper, success: true }]);
  });

  it('should answer 400 on an ALBUM link, a foreign link, bad ids and extra fields', async () => {
    const albumId = await insertAlbum(h.tdb.db, owner.id);
    const albumLink = await createLink(owner, { type: 'ALBUM', albumId });
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const onAlbum = await call(owner, 'PUT', `/api/shared-links/${albumLink.id}/assets`, { assetIds: [assetId] });
    expect(onAlbum.status).toBe(400);
    expect(onAlbum.body.message).toMatch(/INDIVIDUAL/);
    const link = await newIndividualLink();
    expect((await call(other, 'PUT', `/api/shared-links/${link.id}/assets`, { assetIds: [assetId] })).status).toBe(400);
    expect((await call(owner, 'PUT', `/api/shared-links/${link.id}/assets`, { assetIds: ['x'] })).status).toBe(400);
    expect(
      (await call(owner, 'PUT', `/api/shared-links/${link.id}/assets`, { assetIds: [assetId], x: 1 })).status,
    ).toBe(400);
    expect((await call(owner, 'PUT', `/api/shared-links/${link.id}/assets`, {})).status).toBe(400);
    expect((await call(null, 'PUT', `/api/shared-links/${link.id}/assets`, { assetIds: [assetId] })).status).toBe(401);
  });
});

describe('DELETE /api/shared-links/:id/assets', () => {
  it('should report per id: success or not_found', async () => {
    const [a1, a2] = await insertAssets(h.tdb.db, owner.id, 2);
    const link = await createLink(owner, { type: 'INDIVIDUAL', assetIds: [a1, a2] });
    const res = await call(owner, 'DELETE', `/api/shared-links/${link.id}/assets`, { assetIds: [a1, UNKNOWN_ID, a1] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([
      { assetId: a1, success: true },
      { assetId: UNKNOWN_ID, success: false, error: 'not_found' },
      { assetId: a1, success: false, error: 'not_found' },
    ]);
    const after = await call(owner, 'GET', `/api/shared-links/${link.id}`);
    expect(after.body.assets.map((a: { id: string }) => a.id)).toEqual([a2]);
  });

  it('should answer 400 on an ALBUM link and for another user', async () => {
    const albumId = await insertAlbum(h.tdb.db, owner.id);
    const albumLink = await createLink(owner, { type: 'ALBUM', albumId });
    const res = await call(owner, 'DELETE', `/api/shared-links/${albumLink.id}/assets`, { assetIds: [UNKNOWN_ID] });
    expect(res.status).toBe(400);
    const link = await newIndividualLink();
    expect(
      (await call(other, 'DELETE', `/api/shared-links/${link.id}/assets`, { assetIds: [link.assets[0].id] })).status,
    ).toBe(400);
    expect((await linkRow(link.id)).id).toBe(link.id);
  });
});
