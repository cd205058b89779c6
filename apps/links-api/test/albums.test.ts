import { randomUUID } from 'node:crypto';
import { listAlbumDtos } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventsOf, eventTypesOf, insertAsset, isErrorShape, makeAlbum } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { expectImmichReply } from './immich-conformance.ts';

let h: LinksApiHarness;
let api: ReturnType<typeof client>;
let owner: TestUser;
let editor: TestUser;
let viewer: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  api = client(h);
  owner = await h.newUser('alice');
  editor = await h.newUser('bob');
  viewer = await h.newUser('carol');
  stranger = await h.newUser('mallory');
});
afterAll(async () => {
  await h?.close();
});

const NIL = '00000000-0000-4000-8000-000000000000';

describe('POST /api/albums', () => {
  it('should require an API key', async () => {
    const res = await api('POST', '/api/albums', null, { albumName: 'x' });
    expect(res.statusCode).toBe(401);
    expect(isErrorShape(res.json(), 401)).toBe(true);
  });

  it('should create an album owned by the caller, with an owner row and an album.created event', async () => {
    const res = await api('POST', '/api/albums', owner, { albumName: 'Holidays', description: 'Beach' });
    expect(res.statusCode).toBe(201);
    expectImmichReply('POST', '/albums', res);
    const album = res.json();
    expect(album).toMatchObject({
      albumName: 'Holidays',
      description: 'Beach',
      assetCount: 0,
      albumThumbnailAssetId: null,
      shared: false,
      hasSharedLink: false,
      isActivityEnabled: true,
      order: 'desc',
      ownerId: owner.id,
      owner: { id: owner.id, email: owner.email },
      albumUsers: [{ role: 'owner', user: { id: owner.id } }],
    });
    expect(album.startDate).toBeUndefined();
    const rows = await h.tdb.db.selectFrom('album_users').selectAll().where('album_id', '=', album.id).execute();
    expect(rows.map((r) => [r.user_id, r.role])).toEqual([[owner.id, 'owner']]);
    const events = await eventsOf(h, album.id);
    expect(events).toEqual([
      {
        type: 'album.created',
        aggregateType: 'album',
        aggregateId: album.id,
        subject: { type: 'album', id: album.id },
        actor: { type: 'user', id: owner.id },
        data: { albumId: album.id, ownerId: owner.id },
      },
    ]);
  });

  it('should add members and the assets the caller may share, dropping the others silently', async () => {
    const mine = await insertAsset(h, owner.id);
    const theirs = await insertAsset(h, stranger.id);
    const res = await api('POST', '/api/albums', owner, {
      albumName: 'Shared',
      description: null,
      assetIds: [mine.id, theirs.id, NIL, mine.id],
      albumUsers: [
        { userId: viewer.id, role: 'viewer' },
        { userId: editor.id, role: 'editor' },
        { userId: owner.id, role: 'editor' },
      ],
    });
    expect(res.statusCode).toBe(201);
    const album = res.json();
    expect(album.description).toBe('');
    expect(album.assetCount).toBe(1);
    expect(album.albumThumbnailAssetId).toBe(mine.id);
    expect(album.shared).toBe(true);
    expect(album.albumUsers.map((u: { role: string; user: { id: string } }) => [u.role, u.user.id])).toEqual([
      ['owner', owner.id],
      ['editor', editor.id],
      ['viewer', viewer.id],
    ]);
    const events = await eventsOf(h, album.id);
    expect(events.map((e) => [e.type, e.data])).toEqual([
      ['album.created', { albumId: album.id, ownerId: owner.id }],
      ['album.member-added', { albumId: album.id, userId: viewer.id, role: 'viewer' }],
      ['album.member-added', { albumId: album.id, userId: editor.id, role: 'editor' }],
      ['album.assets-added', { albumId: album.id, assetIds: [mine.id] }],
    ]);
  });

  it('should refuse role owner and unknown users with 400 and create nothing', async () => {
    const before = await h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', owner.id).execute();
    const asOwner = await api('POST', '/api/albums', owner, {
      albumName: 'x',
      albumUsers: [{ userId: editor.id, role: 'owner' }],
    });
    expect(asOwner.statusCode).toBe(400);
    expect(asOwner.json().message).toMatch(/owner/);
    const unknown = await api('POST', '/api/albums', owner, {
      albumName: 'x',
      albumUsers: [{ userId: NIL, role: 'viewer' }],
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toMatch(/User not found/);
    const after = await h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', owner.id).execute();
    expect(after.length).toBe(before.length);
  });

  it('should answer 400 for wrong types, missing or extra fields and malformed ids', async () => {
    for (const payload of [
      {},
      { albumName: 42 },
      { albumName: 'x', extra: true },
      { albumName: 'x', assetIds: ['not-a-uuid'] },
      { albumName: 'x', assetIds: 'nope' },
      { albumName: 'x', albumUsers: [{ userId: 'nope', role: 'viewer' }] },
      { albumName: 'x', albumUsers: [{ userId: viewer.id, role: 'admin' }] },
      { albumName: 'x', albumUsers: [{ userId: viewer.id }] },
      { albumName: 'x', description: 5 },
    ]) {
      const res = await api('POST', '/api/albums', owner, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(isErrorShape(res.json(), 400)).toBe(true);
    }
    const notJson = await h.app.inject({
      method: 'POST',
      url: '/api/albums',
      headers: { ...owner.headers, 'content-type': 'application/json' },
      payload: '{"albumName":',
    });
    expect(notJson.statusCode).toBe(400);
  });
});

describe('GET /api/albums', () => {
  let lh: LinksApiHarness;
  let a: TestUser;
  let b: TestUser;
  let c: TestUser;
  let ids: { ownedPrivate: string; ownedShared: string; ownedLinked: string; sharedWithMe: string; foreign: string };
  let asset: string;

  beforeAll(async () => {
    lh = await startLinksApi();
    a = await lh.newUser('a');
    b = await lh.newUser('b');
    c = await lh.newUser('c');
    asset = (await insertAsset(lh, a.id)).id;
    const ownedPrivate = await makeAlbum(lh, a, { name: 'private', assetIds: [asset] });
    const ownedShared = await makeAlbum(lh, a, { name: 'with-b', viewers: [b] });
    const ownedLinked = await makeAlbum(lh, a, { name: 'linked' });
    await lh.tdb.db
      .insertInto('shared_links')
      .values({ owner_id: a.id, type: 'ALBUM', album_id: ownedLinked.id, key: 'k'.repeat(43) })
      .execute();
    const sharedWithMe = await makeAlbum(lh, b, { name: 'from-b', editors: [a] });
    const foreign = await makeAlbum(lh, c, { name: 'c-only' });
    const deleted = await makeAlbum(lh, a, { name: 'gone' });
    await client(lh)('DELETE', `/api/albums/${deleted.id}`, a);
    ids = {
      ownedPrivate: ownedPrivate.id,
      ownedShared: ownedShared.id,
      ownedLinked: ownedLinked.id,
      sharedWithMe: sharedWithMe.id,
      foreign: foreign.id,
    };
  });
  afterAll(async () => {
    await lh?.close();
  });

  const list = async (who: TestUser, query = '') => {
    const res = await client(lh)('GET', `/api/albums${query}`, who);
    expect(res.statusCode, res.body).toBe(200);
    expectImmichReply('GET', '/albums', res);
    return (res.json() as { id: string }[]).map((x) => x.id).sort();
  };

  it('should require an API key', async () => {
    expect((await client(lh)('GET', '/api/albums', null)).statusCode).toBe(401);
  });

  it('should list owned albums and albums shared with me, never deleted or foreign ones', async () => {
    expect(await list(a)).toEqual([ids.ownedPrivate, ids.ownedShared, ids.ownedLinked, ids.sharedWithMe].sort());
    expect(await list(c)).toEqual([ids.foreign]);
  });

  it('should filter with Immich’s shared=true|false', async () => {
    expect(await list(a, '?shared=true')).toEqual([ids.ownedShared, ids.ownedLinked, ids.sharedWithMe].sort());
    expect(await list(a, '?shared=false')).toEqual([ids.ownedPrivate]);
  });

  it('should filter with Immich 3.1’s isOwned, isShared, name, id and assetId', async () => {
    expect(await list(a, '?isOwned=true')).toEqual([ids.ownedPrivate, ids.ownedShared, ids.ownedLinked].sort());
    expect(await list(a, '?isOwned=false')).toEqual([ids.sharedWithMe]);
    expect(await list(a, '?isShared=false')).toEqual([ids.ownedPrivate]);
    expect(await list(a, '?name=with-b')).toEqual([ids.ownedShared]);
    expect(await list(a, `?id=${ids.sharedWithMe}`)).toEqual([ids.sharedWithMe]);
    expect(await list(a, `?id=${ids.foreign}`)).toEqual([]);
    expect(await list(a, `?assetId=${asset}`)).toEqual([ids.ownedPrivate]);
    expect(await list(c, `?assetId=${asset}`)).toEqual([]);
  });

  it('should compute counts, dates, thumbnail, sharing flags and member order in the listing', async () => {
    const res = await client(lh)('GET', '/api/albums', a);
    const byId = new Map((res.json() as { id: string }[]).map((x) => [x.id, x as Record<string, unknown>]));
    expect(byId.get(ids.ownedPrivate)).toMatchObject({
      assetCount: 1,
      albumThumbnailAssetId: asset,
      shared: false,
      hasSharedLink: false,
      startDate: expect.any(String),
      endDate: expect.any(String),
      lastModifiedAssetTimestamp: expect.any(String),
    });
    expect(byId.get(ids.ownedLinked)).toMatchObject({ shared: true, hasSharedLink: true, assetCount: 0 });
    const fromB = byId.get(ids.sharedWithMe) as { albumUsers: { role: string; user: { id: string } }[] };
    expect(fromB.albumUsers.map((u) => [u.role, u.user.id])).toEqual([
      ['owner', b.id],
      ['editor', a.id],
    ]);
  });

  it('should answer 400 for malformed filters and unknown query parameters', async () => {
    for (const q of ['?shared=maybe', '?assetId=nope', '?id=123', '?isOwned=2', '?bogus=1']) {
      const res = await client(lh)('GET', `/api/albums${q}`, a);
      expect(res.statusCode, q).toBe(400);
    }
  });
});

describe('GET /api/albums/:id', () => {
  it('should show the album to every member, with contributor counts', async () => {
    const asset = await insertAsset(h, editor.id);
    const album = await makeAlbum(h, owner, { editors: [editor], viewers: [viewer] });
    await api('PUT', `/api/albums/${album.id}/assets`, editor, { ids: [asset.id] });
    for (const who of [owner, editor, viewer]) {
      const res = await api('GET', `/api/albums/${album.id}`, who);
      expect(res.statusCode).toBe(200);
      expectImmichReply('GET', '/albums/{id}', res);
      expect(res.json()).toMatchObject({
        id: album.id,
        assetCount: 1,
        contributorCounts: [{ userId: editor.id, assetCount: 1 }],
      });
      // the caller comes right after the owner
      if (who !== owner) expect(res.json().albumUsers[1].user.id).toBe(who.id);
    }
  });

  it('should answer 400 without content for another user’s album, an unknown id and a malformed id', async () => {
    const album = await makeAlbum(h, owner, { name: 'top-secret-name' });
    for (const url of [`/api/albums/${album.id}`, `/api/albums/${NIL}`, '/api/albums/not-a-uuid', '/api/albums/1']) {
      const res = await api('GET', url, stranger);
      expect(res.statusCode, url).toBe(400);
      expect(isErrorShape(res.json(), 400)).toBe(true);
      expect(res.body).not.toContain('top-secret-name');
    }
    expect((await api('GET', `/api/albums/${album.id}`, null)).statusCode).toBe(401);
  });
});

describe('PATCH /api/albums/:id', () => {
  it('should update name, description, order, activity and thumbnail, with an album.updated event', async () => {
    const a1 = await insertAsset(h, owner.id);
    const a2 = await insertAsset(h, owner.id);
    const album = await makeAlbum(h, owner, { assetIds: [a1.id, a2.id] });
    expect(album.albumThumbnailAssetId).toBe(a1.id);
    const res = await api('PATCH', `/api/albums/${album.id}`, owner, {
      albumName: 'Renamed',
      description: null,
      order: 'asc',
      isActivityEnabled: false,
      albumThumbnailAssetId: a2.id,
    });
    expect(res.statusCode).toBe(200);
    expectImmichReply('PATCH', '/albums/{id}', res);
    expect(res.json()).toMatchObject({
      albumName: 'Renamed',
      description: '',
      order: 'asc',
      isActivityEnabled: false,
      albumThumbnailAssetId: a2.id,
    });
    const events = await eventsOf(h, album.id);
    expect(events.at(-1)).toMatchObject({
      type: 'album.updated',
      data: {
        albumId: album.id,
        changed: ['albumName', 'description', 'order', 'isActivityEnabled', 'albumThumbnailAssetId'],
      },
    });
  });

  it('should refuse a thumbnail that is not in the album, wrong types and extra fields', async () => {
    const album = await makeAlbum(h, owner);
    const outside = await insertAsset(h, owner.id);
    for (const payload of [
      { albumThumbnailAssetId: outside.id },
      { albumThumbnailAssetId: 'x' },
      { albumName: 1 },
      { order: 'sideways' },
      { isActivityEnabled: 'yes' },
      { ownerId: stranger.id },
    ]) {
      const res = await api('PATCH', `/api/albums/${album.id}`, owner, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    expect(await eventTypesOf(h, album.id)).toEqual(['album.created']);
  });

  it('should not write an event when nothing changes', async () => {
    const album = await makeAlbum(h, owner);
    const res = await api('PATCH', `/api/albums/${album.id}`, owner, {});
    expect(res.statusCode).toBe(200);
    expect(await eventTypesOf(h, album.id)).toEqual(['album.created']);
  });
});

describe('DELETE /api/albums/:id', () => {
  it('should soft-delete the album, drop its shared links, and hide it everywhere', async () => {
    const asset = await insertAsset(h, owner.id);
    const album = await makeAlbum(h, owner, { viewers: [viewer], assetIds: [asset.id] });
    const link = await h.tdb.db
      .insertInto('shared_links')
      .values({ owner_id: owner.id, type: 'ALBUM', album_id: album.id, key: `del-${album.id}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    const res = await api('DELETE', `/api/albums/${album.id}`, owner);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expectImmichReply('DELETE', '/albums/{id}', res);
    const row = await h.tdb.db
      .selectFrom('albums')
      .select('deleted_at')
      .where('id', '=', album.id)
      .executeTakeFirstOrThrow();
    expect(row.deleted_at).toBeInstanceOf(Date);
    expect(await h.tdb.db.selectFrom('shared_links').select('id').where('id', '=', link.id).execute()).toEqual([]);
    expect((await eventsOf(h, album.id)).at(-1)).toMatchObject({
      type: 'album.deleted',
      subject: { type: 'album', id: album.id },
      data: { albumId: album.id },
    });
    expect(await eventsOf(h, link.id)).toMatchObject([{ type: 'shared-link.deleted', data: { linkId: link.id } }]);

    for (const who of [owner, viewer]) {
      const listed = (await api('GET', '/api/albums', who)).json() as { id: string }[];
      expect(listed.map((x) => x.id)).not.toContain(album.id);
      expect((await api('GET', `/api/albums/${album.id}`, who)).statusCode).toBe(400);
      expect((await api('GET', `/api/albums/${album.id}/assets`, who)).statusCode).toBe(400);
    }
    expect((await api('PUT', `/api/albums/${album.id}/assets`, owner, { ids: [asset.id] })).statusCode).toBe(400);
    expect((await api('DELETE', `/api/albums/${album.id}`, owner)).statusCode).toBe(400);
  });
});

describe('PUT /api/albums/:id/assets', () => {
  it('should answer per id: success, duplicate, no_permission, and emit assets-added with the added ids', async () => {
    const a1 = await insertAsset(h, owner.id);
    const a2 = await insertAsset(h, owner.id);
    const foreign = await insertAsset(h, stranger.id);
    const album = await makeAlbum(h, owner, { assetIds: [a1.id] });
    const res = await api('PUT', `/api/albums/${album.id}/assets`, owner, {
      ids: [a1.id, a2.id, a2.id, foreign.id, NIL],
    });
    expect(res.statusCode).toBe(200);
    expectImmichReply('PUT', '/albums/{id}/assets', res);
    expect(res.json()).toEqual([
      { id: a1.id, success: false, error: 'duplicate' },
      { id: a2.id, success: true },
      { id: a2.id, success: false, error: 'duplicate' },
      { id: foreign.id, success: false, error: 'no_permission' },
      { id: NIL, success: false, error: 'no_permission' },
    ]);
    const events = await eventsOf(h, album.id);
    expect(events.at(-1)).toMatchObject({ type: 'album.assets-added', data: { albumId: album.id, assetIds: [a2.id] } });
    const again = await api('PUT', `/api/albums/${album.id}/assets`, owner, { ids: [a2.id] });
    expect(again.json()).toEqual([{ id: a2.id, success: false, error: 'duplicate' }]);
    expect((await eventsOf(h, album.id)).length).toBe(events.length);
  });

  it('should add an asset once when the same add arrives concurrently', async () => {
    const asset = await insertAsset(h, owner.id);
    const album = await makeAlbum(h, owner);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => api('PUT', `/api/albums/${album.id}/assets`, owner, { ids: [asset.id] })),
    );
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    const outcomes = results.map((r) => r.json()[0]);
    expect(outcomes.filter((o) => o.success)).toHaveLength(1);
    expect(outcomes.filter((o) => o.error === 'duplicate')).toHaveLength(5);
    expect((await eventTypesOf(h, album.id)).filter((t) => t === 'album.assets-added')).toHaveLength(1);
  });

  it('should set the thumbnail of an album that has none', async () => {
    const album = await makeAlbum(h, owner);
    const a = await insertAsset(h, owner.id);
    await api('PUT', `/api/albums/${album.id}/assets`, owner, { ids: [a.id] });
    expect((await api('GET', `/api/albums/${album.id}`, owner)).json().albumThumbnailAssetId).toBe(a.id);
  });

  it('should answer 400 for too many ids and 413 for a body over the size limit', async () => {
    const album = await makeAlbum(h, owner);
    const ids = (n: number) => Array.from({ length: n }, () => randomUUID());
    const tooMany = await api('PUT', `/api/albums/${album.id}/assets`, owner, { ids: ids(10_001) });
    expect(tooMany.statusCode).toBe(400);
    expect(isErrorShape(tooMany.json(), 400)).toBe(true);
    const tooLarge = await api('PUT', `/api/albums/${album.id}/assets`, owner, { ids: ids(30_000) });
    expect(tooLarge.statusCode).toBe(413);
    expect(isErrorShape(tooLarge.json(), 413)).toBe(true);
  });

  it('should answer 400 for malformed ids and bodies', async () => {
    const album = await makeAlbum(h, owner);
    for (const payload of [{ ids: ['nope'] }, { ids: 'x' }, {}, { ids: [], extra: 1 }]) {
      const res = await api('PUT', `/api/albums/${album.id}/assets`, owner, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });
});

describe('DELETE /api/albums/:id/assets', () => {
  it('should let the owner remove any asset, answer not_found for others, and emit assets-removed', async () => {
    const mine = await insertAsset(h, owner.id);
    const editors = await insertAsset(h, editor.id);
    const album = await makeAlbum(h, owner, { editors: [editor], assetIds: [mine.id] });
    await api('PUT', `/api/albums/${album.id}/assets`, editor, { ids: [editors.id] });
    const res = await api('DELETE', `/api/albums/${album.id}/assets`, owner, { ids: [mine.id, editors.id, NIL] });
    expect(res.statusCode).toBe(200);
    expectImmichReply('DELETE', '/albums/{id}/assets', res);
    expect(res.json()).toEqual([
      { id: mine.id, success: true },
      { id: editors.id, success: true },
      { id: NIL, success: false, error: 'not_found' },
    ]);
    expect((await eventsOf(h, album.id)).at(-1)).toMatchObject({
      type: 'album.assets-removed',
      data: { albumId: album.id, assetIds: [mine.id, editors.id] },
    });
    const after = (await api('GET', `/api/albums/${album.id}`, owner)).json();
    expect(after).toMatchObject({ assetCount: 0, albumThumbnailAssetId: null });
  });

  it('should let an editor remove only the assets they added (no_permission for the rest)', async () => {
    const ownersAsset = await insertAsset(h, owner.id);
    const editorsAsset = await insertAsset(h, editor.id);
    const album = await makeAlbum(h, owner, { editors: [editor], assetIds: [ownersAsset.id] });
    await api('PUT', `/api/albums/${album.id}/assets`, editor, { ids: [editorsAsset.id] });
    const res = await api('DELETE', `/api/albums/${album.id}/assets`, editor, {
      ids: [ownersAsset.id, editorsAsset.id],
    });
    expect(res.json()).toEqual([
      { id: ownersAsset.id, success: false, error: 'no_permission' },
      { id: editorsAsset.id, success: true },
    ]);
    // the thumbnail (the owner's asset) stays
    expect((await api('GET', `/api/albums/${album.id}`, owner)).json()).toMatchObject({
      assetCount: 1,
      albumThumbnailAssetId: ownersAsset.id,
    });
  });

  it('should move the thumbnail to a remaining asset when its asset is removed', async () => {
    const a1 = await insertAsset(h, owner.id);
    const a2 = await insertAsset(h, owner.id);
    const album = await makeAlbum(h, owner, { assetIds: [a1.id, a2.id] });
    await api('DELETE', `/api/albums/${album.id}/assets`, owner, { ids: [a1.id] });
    expect((await api('GET', `/api/albums/${album.id}`, owner)).json().albumThumbnailAssetId).toBe(a2.id);
  });
});

describe('album thumbnail', () => {
  it('should fall back to the newest live asset when the thumbnail is trashed or was never chosen', async () => {
    const older = await insertAsset(h, owner.id, { file_created_at: new Date('2021-01-01T00:00:00Z') });
    const newer = await insertAsset(h, owner.id, { file_created_at: new Date('2022-01-01T00:00:00Z') });
    const album = await makeAlbum(h, owner, { assetIds: [older.id, newer.id] });
    expect(album.albumThumbnailAssetId).toBe(older.id);
    await h.tdb.db.updateTable('assets').set({ trashed_at: new Date() }).where('id', '=', older.id).execute();
    expect((await api('GET', `/api/albums/${album.id}`, owner)).json()).toMatchObject({
      albumThumbnailAssetId: newer.id,
      assetCount: 1,
    });

    // assets placed directly (as the ingest worker does for upload batches), no thumbnail chosen
    const placed = await makeAlbum(h, owner);
    const p1 = await insertAsset(h, owner.id, { file_created_at: new Date('2023-01-01T00:00:00Z') });
    const p2 = await insertAsset(h, owner.id, { file_created_at: new Date('2023-06-01T00:00:00Z') });
    await h.tdb.db
      .insertInto('album_assets')
      .values([p1, p2].map((a) => ({ album_id: placed.id, asset_id: a.id, added_by: owner.id })))
      .execute();
    expect((await api('GET', `/api/albums/${placed.id}`, owner)).json()).toMatchObject({
      albumThumbnailAssetId: p2.id,
      assetCount: 2,
      startDate: '2023-01-01T00:00:00.000Z',
      endDate: '2023-06-01T00:00:00.000Z',
    });
  });
});

describe('GET /api/albums/:id/assets', () => {
  it('should page through the album’s assets newest first, hiding trashed ones', async () => {
    const assets = [];
    for (let i = 0; i < 5; i++) {
      assets.push(await insertAsset(h, owner.id, { file_created_at: new Date(Date.UTC(2020, 0, 1 + i)) }));
    }
    const trashed = await insertAsset(h, owner.id, { trashed_at: new Date() });
    const album = await makeAlbum(h, owner, { viewers: [viewer], assetIds: [...assets, trashed].map((a) => a.id) });
    const p1 = await api('GET', `/api/albums/${album.id}/assets?page=1&size=2`, viewer);
    expect(p1.statusCode).toBe(200);
    expect(p1.json()).toMatchObject({ total: 5, page: 1, size: 2 });
    expect(p1.json().items.map((a: { id: string }) => a.id)).toEqual([assets[4]!.id, assets[3]!.id]);
    expect(p1.json().items[0]).toMatchObject({ type: 'IMAGE', status: 'ready', ownerId: owner.id });
    const p3 = await api('GET', `/api/albums/${album.id}/assets?page=3&size=2`, viewer);
    expect(p3.json().items.map((a: { id: string }) => a.id)).toEqual([assets[0]!.id]);
    const dflt = await api('GET', `/api/albums/${album.id}/assets`, owner);
    expect(dflt.json()).toMatchObject({ total: 5, page: 1, size: 100 });
    expect((await api('GET', `/api/albums/${album.id}`, owner)).json().assetCount).toBe(5);
  });

  it('should answer 400 for bad paging and for non-members', async () => {
    const album = await makeAlbum(h, owner);
    for (const q of ['?page=0', '?size=0', '?size=1001', '?page=x', '?extra=1']) {
      expect((await api('GET', `/api/albums/${album.id}/assets${q}`, owner)).statusCode, q).toBe(400);
    }
    expect((await api('GET', `/api/albums/${album.id}/assets`, stranger)).statusCode).toBe(400);
  });
});

describe('PUT /api/albums/assets', () => {
  it('should add every shareable asset to every album the caller may add to', async () => {
    const a1 = await insertAsset(h, editor.id);
    const a2 = await insertAsset(h, editor.id);
    const foreign = await insertAsset(h, stranger.id);
    const asEditor = await makeAlbum(h, owner, { editors: [editor] });
    const asViewer = await makeAlbum(h, owner, { viewers: [editor] });
    const own = await makeAlbum(h, editor, { assetIds: [a1.id] });
    const res = await api('PUT', '/api/albums/assets', editor, {
      albumIds: [asEditor.id, asViewer.id, own.id],
      assetIds: [a1.id, a2.id, foreign.id],
    });
    expect(res.statusCode).toBe(200);
    expectImmichReply('PUT', '/albums/assets', res);
    expect(res.json()).toEqual({ success: true });
    const contents = async (albumId: string) =>
      (await h.tdb.db.selectFrom('album_assets').select('asset_id').where('album_id', '=', albumId).execute())
        .map((r) => r.asset_id)
        .sort();
    expect(await contents(asEditor.id)).toEqual([a1.id, a2.id].sort());
    expect(await contents(asViewer.id)).toEqual([]);
    expect(await contents(own.id)).toEqual([a1.id, a2.id].sort());
    expect((await eventsOf(h, asEditor.id)).at(-1)).toMatchObject({ type: 'album.assets-added' });

    const again = await api('PUT', '/api/albums/assets', editor, { albumIds: [own.id], assetIds: [a1.id] });
    expect(again.json()).toEqual({ success: false, error: 'duplicate' });
    const noAlbum = await api('PUT', '/api/albums/assets', editor, { albumIds: [asViewer.id], assetIds: [a1.id] });
    expect(noAlbum.json()).toEqual({ success: false, error: 'no_permission' });
    const noAsset = await api('PUT', '/api/albums/assets', editor, { albumIds: [own.id], assetIds: [foreign.id] });
    expect(noAsset.json()).toEqual({ success: false, error: 'no_permission' });
  });

  it('should answer 401 without a key and 400 for bad bodies', async () => {
    expect((await api('PUT', '/api/albums/assets', null, { albumIds: [], assetIds: [] })).statusCode).toBe(401);
    for (const payload of [{}, { albumIds: ['x'], assetIds: [] }, { albumIds: [], assetIds: [], extra: 1 }]) {
      expect((await api('PUT', '/api/albums/assets', owner, payload)).statusCode, JSON.stringify(payload)).toBe(400);
    }
  });
});

describe('GET /api/albums/statistics', () => {
  it('should count owned, shared and not-shared albums of the caller', async () => {
    const u = await h.newUser('stats');
    const v = await h.newUser('stats-friend');
    await makeAlbum(h, u);
    await makeAlbum(h, u, { viewers: [v] });
    await makeAlbum(h, v, { editors: [u] });
    const gone = await makeAlbum(h, u);
    await api('DELETE', `/api/albums/${gone.id}`, u);
    const res = await api('GET', '/api/albums/statistics', u);
    expect(res.statusCode).toBe(200);
    expectImmichReply('GET', '/albums/statistics', res);
    expect(res.json()).toEqual({ owned: 2, shared: 2, notShared: 1 });
    expect((await api('GET', '/api/albums/statistics', null)).statusCode).toBe(401);
  });
});

describe('listAlbumDtos (the query behind GET /api/albums)', () => {
  it('should compute every listed field in two queries, however many albums', async () => {
    const reader = await h.newUser('reader');
    for (let i = 0; i < 12; i++) {
      const asset = await insertAsset(h, reader.id);
      await makeAlbum(h, reader, { name: `bulk-${i}`, viewers: [viewer], editors: [editor], assetIds: [asset.id] });
    }
    let queries = 0;
    const counting = h.tdb.db.withPlugin({
      transformQuery: (args) => {
        queries += 1;
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    const albums = await listAlbumDtos(counting, reader.id);
    expect(albums).toHaveLength(12);
    expect(albums.every((a) => a.assetCount === 1 && a.albumUsers.length === 3 && a.startDate)).toBe(true);
    expect(queries).toBe(2);
  });
});
