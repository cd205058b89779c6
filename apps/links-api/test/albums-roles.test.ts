import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventsOf, insertAsset, isErrorShape, makeAlbum } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * docs/spec.md §4.3's role table, route by route: owner / editor / viewer / non-member. Every case starts from a
 * fresh album (owner + editor + viewer + one more viewer, one asset added by the owner, one by the editor).
 * A denied call answers 400 in the error shape, leaks nothing, changes nothing and writes no event.
 */

type Role = 'owner' | 'editor' | 'viewer' | 'stranger';
const ROLES: Role[] = ['owner', 'editor', 'viewer', 'stranger'];

let h: LinksApiHarness;
let api: ReturnType<typeof client>;
let users: Record<Role, TestUser>;
let target: TestUser;
let newcomer: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  api = client(h);
  users = {
    owner: await h.newUser('owner'),
    editor: await h.newUser('editor'),
    viewer: await h.newUser('viewer'),
    stranger: await h.newUser('stranger'),
  };
  target = await h.newUser('target');
  newcomer = await h.newUser('newcomer');
});
afterAll(async () => {
  await h?.close();
});

interface Fixture {
  albumId: string;
  name: string;
  ownersAsset: string;
  editorsAsset: string;
  /** an asset of the caller that is not in the album */
  callersAsset: string;
}

let seq = 0;
async function fixture(caller: TestUser): Promise<Fixture> {
  const name = `secret-album-${++seq}`;
  const ownersAsset = (await insertAsset(h, users.owner.id)).id;
  const editorsAsset = (await insertAsset(h, users.editor.id)).id;
  const callersAsset = (await insertAsset(h, caller.id)).id;
  const album = await makeAlbum(h, users.owner, {
    name,
    editors: [users.editor],
    viewers: [users.viewer, target],
    assetIds: [ownersAsset],
  });
  const added = await api('PUT', `/api/albums/${album.id}/assets`, users.editor, { ids: [editorsAsset] });
  expect(added.json()).toEqual([{ id: editorsAsset, success: true }]);
  return { albumId: album.id, name, ownersAsset, editorsAsset, callersAsset };
}

interface Case {
  route: string;
  allowed: Role[];
  run: (who: TestUser, f: Fixture) => Promise<LightMyRequestResponse>;
  /** checks after an allowed call (status, effect) */
  ok: (res: LightMyRequestResponse, f: Fixture, role: Role) => Promise<void> | void;
}

const members = async (albumId: string) =>
  (await h.tdb.db.selectFrom('album_users').select(['user_id', 'role']).where('album_id', '=', albumId).execute()).map(
    (r) => `${r.user_id}:${r.role}`,
  );

const cases: Case[] = [
  {
    route: 'GET /api/albums/:id',
    allowed: ['owner', 'editor', 'viewer'],
    run: (who, f) => api('GET', `/api/albums/${f.albumId}`, who),
    ok: (res, f) => {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: f.albumId, assetCount: 2 });
    },
  },
  {
    route: 'GET /api/albums/:id/assets',
    allowed: ['owner', 'editor', 'viewer'],
    run: (who, f) => api('GET', `/api/albums/${f.albumId}/assets`, who),
    ok: (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.json().total).toBe(2);
    },
  },
  {
    route: 'PATCH /api/albums/:id',
    allowed: ['owner', 'editor'],
    run: (who, f) => api('PATCH', `/api/albums/${f.albumId}`, who, { albumName: 'renamed', description: 'd' }),
    ok: (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ albumName: 'renamed', description: 'd' });
    },
  },
  {
    route: 'DELETE /api/albums/:id',
    allowed: ['owner'],
    run: (who, f) => api('DELETE', `/api/albums/${f.albumId}`, who),
    ok: async (res, f) => {
      expect(res.statusCode).toBe(204);
      expect((await api('GET', `/api/albums/${f.albumId}`, users.owner)).statusCode).toBe(400);
    },
  },
  {
    route: 'PUT /api/albums/:id/assets',
    allowed: ['owner', 'editor'],
    run: (who, f) => api('PUT', `/api/albums/${f.albumId}/assets`, who, { ids: [f.callersAsset] }),
    ok: (res, f) => {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual([{ id: f.callersAsset, success: true }]);
    },
  },
  {
    route: 'PUT /api/albums/assets (bulk)',
    // not a 400 for others: Immich answers the bulk call with {success:false, error:'no_permission'}
    allowed: ['owner', 'editor', 'viewer', 'stranger'],
    run: (who, f) => api('PUT', '/api/albums/assets', who, { albumIds: [f.albumId], assetIds: [f.callersAsset] }),
    ok: async (res, f, role) => {
      expect(res.statusCode).toBe(200);
      const mayAdd = role === 'owner' || role === 'editor';
      expect(res.json()).toEqual(mayAdd ? { success: true } : { success: false, error: 'no_permission' });
      const inAlbum = await h.tdb.db
        .selectFrom('album_assets')
        .select('asset_id')
        .where('album_id', '=', f.albumId)
        .where('asset_id', '=', f.callersAsset)
        .execute();
      expect(inAlbum.length).toBe(mayAdd ? 1 : 0);
    },
  },
  {
    route: 'DELETE /api/albums/:id/assets (an asset the owner added)',
    // an editor reaches the route but gets a per-id no_permission
    allowed: ['owner', 'editor'],
    run: (who, f) => api('DELETE', `/api/albums/${f.albumId}/assets`, who, { ids: [f.ownersAsset] }),
    ok: (res, f, role) => {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual([
        role === 'owner'
          ? { id: f.ownersAsset, success: true }
          : { id: f.ownersAsset, success: false, error: 'no_permission' },
      ]);
    },
  },
  {
    route: 'DELETE /api/albums/:id/assets (an asset the editor added)',
    allowed: ['owner', 'editor'],
    run: (who, f) => api('DELETE', `/api/albums/${f.albumId}/assets`, who, { ids: [f.editorsAsset] }),
    ok: (res, f) => {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual([{ id: f.editorsAsset, success: true }]);
    },
  },
  {
    route: 'PUT /api/albums/:id/users',
    allowed: ['owner', 'editor'],
    run: (who, f) =>
      api('PUT', `/api/albums/${f.albumId}/users`, who, { albumUsers: [{ userId: newcomer.id, role: 'viewer' }] }),
    ok: async (res, f) => {
      expect(res.statusCode).toBe(200);
      expect(await members(f.albumId)).toContain(`${newcomer.id}:viewer`);
    },
  },
  {
    route: 'PUT /api/albums/:id/user/:userId',
    allowed: ['owner', 'editor'],
    run: (who, f) => api('PUT', `/api/albums/${f.albumId}/user/${target.id}`, who, { role: 'editor' }),
    ok: async (res, f) => {
      expect(res.statusCode).toBe(204);
      expect(await members(f.albumId)).toContain(`${target.id}:editor`);
    },
  },
  {
    route: 'DELETE /api/albums/:id/user/:userId (another member)',
    allowed: ['owner', 'editor'],
    run: (who, f) => api('DELETE', `/api/albums/${f.albumId}/user/${target.id}`, who),
    ok: async (res, f) => {
      expect(res.statusCode).toBe(204);
      expect((await members(f.albumId)).some((m) => m.startsWith(target.id))).toBe(false);
    },
  },
  {
    route: 'DELETE /api/albums/:id/user/me (leave; the owner cannot)',
    allowed: ['editor', 'viewer'],
    run: (who, f) => api('DELETE', `/api/albums/${f.albumId}/user/me`, who),
    ok: async (res, f, role) => {
      expect(res.statusCode).toBe(204);
      expect((await members(f.albumId)).some((m) => m.startsWith(users[role].id))).toBe(false);
    },
  },
];

describe.each(cases)('$route', (c) => {
  it.each(ROLES)(`should follow the role table for %s`, async (role) => {
    const who = users[role];
    const f = await fixture(who);
    const before = await eventsOf(h, f.albumId);
    const membersBefore = await members(f.albumId);
    const res = await c.run(who, f);
    if (c.allowed.includes(role)) {
      await c.ok(res, f, role);
      return;
    }
    expect(res.statusCode, res.body).toBe(400);
    expect(isErrorShape(res.json(), 400)).toBe(true);
    expect(res.body).not.toContain(f.name);
    expect(await eventsOf(h, f.albumId)).toEqual(before);
    expect(await members(f.albumId)).toEqual(membersBefore);
  });
});

describe('GET /api/albums', () => {
  it.each(ROLES)('should list the album for members only (%s)', async (role) => {
    const f = await fixture(users[role]);
    const listed = (await api('GET', '/api/albums', users[role])).json() as { id: string }[];
    expect(listed.some((a) => a.id === f.albumId)).toBe(role !== 'stranger');
  });
});

const id = '11111111-1111-4111-8111-111111111111';
const everyRoute: [string, string, unknown][] = [
  ['GET', '/api/albums', undefined],
  ['POST', '/api/albums', { albumName: 'x' }],
  ['GET', `/api/albums/${id}`, undefined],
  ['PATCH', `/api/albums/${id}`, { albumName: 'x' }],
  ['DELETE', `/api/albums/${id}`, undefined],
  ['GET', `/api/albums/${id}/assets`, undefined],
  ['PUT', `/api/albums/${id}/assets`, { ids: [id] }],
  ['DELETE', `/api/albums/${id}/assets`, { ids: [id] }],
  ['PUT', `/api/albums/${id}/users`, { albumUsers: [{ userId: id }] }],
  ['PUT', `/api/albums/${id}/user/${id}`, { role: 'viewer' }],
  ['DELETE', `/api/albums/${id}/user/${id}`, undefined],
  ['PUT', '/api/albums/assets', { albumIds: [id], assetIds: [id] }],
  ['GET', '/api/albums/statistics', undefined],
];

describe('every album route', () => {
  it.each(everyRoute)('should answer 401 without a key: %s %s', async (method, url, payload) => {
    const res = await api(method as 'GET', url, null, payload);
    expect(res.statusCode).toBe(401);
    expect(isErrorShape(res.json(), 401)).toBe(true);
  });

  it.each(everyRoute.filter(([, url]) => url.includes(id)))(
    'should answer 400 for a malformed album id: %s %s',
    async (method, url, payload) => {
      for (const bad of ['not-a-uuid', '123', `${id}x`]) {
        const res = await api(method as 'GET', url.replace(id, bad), users.owner, payload);
        expect(res.statusCode, `${method} ${url.replace(id, bad)}`).toBe(400);
        expect(isErrorShape(res.json(), 400)).toBe(true);
      }
    },
  );

  it.each(everyRoute.filter(([, url]) => url.includes(id)))(
    'should answer 400 for an album that does not exist: %s %s',
    async (method, url, payload) => {
      const res = await api(method as 'GET', url, users.owner, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toBe('Not found or no access');
    },
  );
});
