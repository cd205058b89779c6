import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventsOf, eventTypesOf, isErrorShape, makeAlbum } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { expectImmichReply } from './immich-conformance.ts';

let h: LinksApiHarness;
let api: ReturnType<typeof client>;
let owner: TestUser;
let editor: TestUser;
let viewer: TestUser;
let other: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  api = client(h);
  owner = await h.newUser('olga');
  editor = await h.newUser('emil');
  viewer = await h.newUser('vera');
  other = await h.newUser('otto');
  stranger = await h.newUser('mallory');
});
afterAll(async () => {
  await h?.close();
});

const NIL = '00000000-0000-4000-8000-000000000000';
const membersOf = async (albumId: string) =>
  (
    await h.tdb.db
      .selectFrom('album_users')
      .select(['user_id', 'role'])
      .where('album_id', '=', albumId)
      .orderBy('user_id')
      .execute()
  ).map((r) => [r.user_id, r.role]);

describe('PUT /api/albums/:id/users', () => {
  it('should add members (role defaults to editor) and emit album.member-added for each', async () => {
    const album = await makeAlbum(h, owner);
    const res = await api('PUT', `/api/albums/${album.id}/users`, owner, {
      albumUsers: [{ userId: viewer.id, role: 'viewer' }, { userId: editor.id }],
    });
    expect(res.statusCode).toBe(200);
    expectImmichReply('PUT', '/albums/{id}/users', res);
    expect(res.json()).toMatchObject({ id: album.id, shared: true });
    expect(res.json().albumUsers.map((u: { role: string; user: { id: string } }) => [u.role, u.user.id])).toEqual([
      ['owner', owner.id],
      ['editor', editor.id], // then by name: emil before vera
      ['viewer', viewer.id],
    ]);
    const events = (await eventsOf(h, album.id)).filter((e) => e.type === 'album.member-added');
    expect(events).toEqual([
      {
        type: 'album.member-added',
        aggregateType: 'album',
        aggregateId: album.id,
        subject: { type: 'album', id: album.id },
        actor: { type: 'user', id: owner.id },
        data: { albumId: album.id, userId: viewer.id, role: 'viewer' },
      },
      expect.objectContaining({ data: { albumId: album.id, userId: editor.id, role: 'editor' } }),
    ]);
  });

  it('should skip existing members (and the owner) silently, without events', async () => {
    const album = await makeAlbum(h, owner, { viewers: [viewer] });
    const res = await api('PUT', `/api/albums/${album.id}/users`, owner, {
      albumUsers: [
        { userId: viewer.id, role: 'editor' },
        { userId: owner.id, role: 'viewer' },
      ],
    });
    expect(res.statusCode).toBe(200);
    expect(await membersOf(album.id)).toEqual(
      [
        [owner.id, 'owner'],
        [viewer.id, 'viewer'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    expect(await eventTypesOf(h, album.id)).toEqual(['album.created', 'album.member-added']);
  });

  it('should refuse role owner and unknown users with 400, adding nobody', async () => {
    const album = await makeAlbum(h, owner);
    const asOwner = await api('PUT', `/api/albums/${album.id}/users`, owner, {
      albumUsers: [
        { userId: editor.id, role: 'editor' },
        { userId: viewer.id, role: 'owner' },
      ],
    });
    expect(asOwner.statusCode).toBe(400);
    expect(isErrorShape(asOwner.json(), 400)).toBe(true);
    const unknown = await api('PUT', `/api/albums/${album.id}/users`, owner, {
      albumUsers: [{ userId: editor.id }, { userId: NIL }],
    });
    expect(unknown.statusCode).toBe(400);
    expect(await membersOf(album.id)).toEqual([[owner.id, 'owner']]);
  });

  it('should answer 400 for an empty list, malformed ids, bad roles and extra fields', async () => {
    const album = await makeAlbum(h, owner);
    for (const payload of [
      { albumUsers: [] },
      { albumUsers: [{ userId: 'x' }] },
      { albumUsers: [{ userId: viewer.id, role: 'boss' }] },
      { albumUsers: [{ userId: viewer.id, extra: 1 }] },
      { users: [viewer.id] },
    ]) {
      const res = await api('PUT', `/api/albums/${album.id}/users`, owner, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
  });

  it('should let an editor add members, but not a viewer', async () => {
    const album = await makeAlbum(h, owner, { editors: [editor], viewers: [viewer] });
    const byEditor = await api('PUT', `/api/albums/${album.id}/users`, editor, {
      albumUsers: [{ userId: other.id, role: 'viewer' }],
    });
    expect(byEditor.statusCode).toBe(200);
    const byViewer = await api('PUT', `/api/albums/${album.id}/users`, viewer, {
      albumUsers: [{ userId: stranger.id, role: 'viewer' }],
    });
    expect(byViewer.statusCode).toBe(400);
    expect((await eventsOf(h, album.id)).at(-1)).toMatchObject({
      type: 'album.member-added',
      actor: { type: 'user', id: editor.id },
      data: { userId: other.id, role: 'viewer' },
    });
  });
});

describe('PUT /api/albums/:id/user/:userId', () => {
  it('should change a member’s role (204) and emit album.member-updated', async () => {
    const album = await makeAlbum(h, owner, { viewers: [viewer] });
    const res = await api('PUT', `/api/albums/${album.id}/user/${viewer.id}`, owner, { role: 'editor' });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expectImmichReply('PUT', '/albums/{id}/user/{userId}', res);
    expect(await membersOf(album.id)).toContainEqual([viewer.id, 'editor']);
    expect((await eventsOf(h, album.id)).at(-1)).toMatchObject({
      type: 'album.member-updated',
      subject: { type: 'album', id: album.id },
      data: { albumId: album.id, userId: viewer.id, role: 'editor' },
    });
    // the same role again changes nothing and writes no event
    const types = await eventTypesOf(h, album.id);
    expect((await api('PUT', `/api/albums/${album.id}/user/${viewer.id}`, owner, { role: 'editor' })).statusCode).toBe(
      204,
    );
    expect(await eventTypesOf(h, album.id)).toEqual(types);
  });

  it('should refuse changing the owner’s role, assigning owner, and non-members with 400', async () => {
    const album = await makeAlbum(h, owner, { editors: [editor], viewers: [viewer] });
    const cases: [string, TestUser, unknown][] = [
      [owner.id, owner, { role: 'viewer' }],
      [owner.id, editor, { role: 'viewer' }],
      ['me', owner, { role: 'editor' }],
      [viewer.id, owner, { role: 'owner' }],
      [stranger.id, owner, { role: 'viewer' }],
      [NIL, owner, { role: 'viewer' }],
    ];
    for (const [target, who, payload] of cases) {
      const res = await api('PUT', `/api/albums/${album.id}/user/${target}`, who, payload);
      expect(res.statusCode, `${target} ${JSON.stringify(payload)}`).toBe(400);
    }
    expect(await membersOf(album.id)).toEqual(
      [
        [owner.id, 'owner'],
        [editor.id, 'editor'],
        [viewer.id, 'viewer'],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
  });

  it('should let an editor change another member’s role and a viewer nobody’s', async () => {
    const album = await makeAlbum(h, owner, { editors: [editor], viewers: [viewer, other] });
    expect((await api('PUT', `/api/albums/${album.id}/user/${other.id}`, editor, { role: 'editor' })).statusCode).toBe(
      204,
    );
    expect((await api('PUT', `/api/albums/${album.id}/user/${other.id}`, viewer, { role: 'viewer' })).statusCode).toBe(
      400,
    );
    expect((await api('PUT', `/api/albums/${album.id}/user/me`, viewer, { role: 'editor' })).statusCode).toBe(400);
  });

  it('should answer 400 for malformed ids and bodies', async () => {
    const album = await makeAlbum(h, owner, { viewers: [viewer] });
    for (const [url, payload] of [
      [`/api/albums/${album.id}/user/not-a-uuid`, { role: 'editor' }],
      [`/api/albums/nope/user/${viewer.id}`, { role: 'editor' }],
      [`/api/albums/${album.id}/user/${viewer.id}`, { role: 'boss' }],
      [`/api/albums/${album.id}/user/${viewer.id}`, {}],
      [`/api/albums/${album.id}/user/${viewer.id}`, { role: 'editor', extra: true }],
    ] as const) {
      expect((await api('PUT', url, owner, payload)).statusCode, `${url} ${JSON.stringify(payload)}`).toBe(400);
    }
  });
});

describe('DELETE /api/albums/:id/user/:userId', () => {
  it('should remove a member (204) and emit album.member-removed', async () => {
    const album = await makeAlbum(h, owner, { viewers: [viewer] });
    const res = await api('DELETE', `/api/albums/${album.id}/user/${viewer.id}`, owner);
    expect(res.statusCode).toBe(204);
    expectImmichReply('DELETE', '/albums/{id}/user/{userId}', res);
    expect(await membersOf(album.id)).toEqual([[owner.id, 'owner']]);
    expect((await eventsOf(h, album.id)).at(-1)).toMatchObject({
      type: 'album.member-removed',
      actor: { type: 'user', id: owner.id },
      data: { albumId: album.id, userId: viewer.id },
    });
    expect((await api('GET', `/api/albums/${album.id}`, viewer)).statusCode).toBe(400);
  });

  it('should let any member leave with `me` or their own id', async () => {
    const album = await makeAlbum(h, owner, { editors: [editor], viewers: [viewer] });
    expect((await api('DELETE', `/api/albums/${album.id}/user/me`, viewer)).statusCode).toBe(204);
    expect((await api('DELETE', `/api/albums/${album.id}/user/${editor.id}`, editor)).statusCode).toBe(204);
    expect(await membersOf(album.id)).toEqual([[owner.id, 'owner']]);
    expect((await eventsOf(h, album.id)).slice(-2).map((e) => [e.type, e.actor.id, e.data.userId])).toEqual([
      ['album.member-removed', viewer.id, viewer.id],
      ['album.member-removed', editor.id, editor.id],
    ]);
  });

  it('should refuse the owner leaving or being removed, and non-members, with 400', async () => {
    const album = await makeAlbum(h, owner, { editors: [editor], viewers: [viewer] });
    const leave = await api('DELETE', `/api/albums/${album.id}/user/me`, owner);
    expect(leave.statusCode).toBe(400);
    expect(leave.json().message).toMatch(/owner/);
    expect((await api('DELETE', `/api/albums/${album.id}/user/${owner.id}`, editor)).statusCode).toBe(400);
    expect((await api('DELETE', `/api/albums/${album.id}/user/${stranger.id}`, owner)).statusCode).toBe(400);
    expect((await api('DELETE', `/api/albums/${album.id}/user/me`, stranger)).statusCode).toBe(400);
    expect((await api('DELETE', `/api/albums/${album.id}/user/not-a-uuid`, owner)).statusCode).toBe(400);
    expect(await membersOf(album.id)).toHaveLength(3);
  });

  it('should let an editor remove another member but not a viewer', async () => {
    const album = await makeAlbum(h, owner, { editors: [editor], viewers: [viewer, other] });
    expect((await api('DELETE', `/api/albums/${album.id}/user/${other.id}`, viewer)).statusCode).toBe(400);
    expect((await api('DELETE', `/api/albums/${album.id}/user/${other.id}`, editor)).statusCode).toBe(204);
  });
});

describe('album links of a member who loses the right to share', () => {
  const linkAs = async (who: TestUser, albumId: string) => {
    const res = await api('POST', '/api/shared-links', who, { type: 'ALBUM', albumId });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  const linkExists = async (id: string) =>
    (await h.tdb.db.selectFrom('shared_links').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;

  it('should delete the links an editor created when they are removed, leave, or become a viewer', async () => {
    const album = await makeAlbum(h, owner, { editors: [editor, viewer, other] });
    const ownersLink = await linkAs(owner, album.id);
    const removedLink = await linkAs(editor, album.id);
    const leftLink = await linkAs(viewer, album.id);
    const demotedLink = await linkAs(other, album.id);

    expect((await api('DELETE', `/api/albums/${album.id}/user/${editor.id}`, owner)).statusCode).toBe(204);
    expect((await api('DELETE', `/api/albums/${album.id}/user/me`, viewer)).statusCode).toBe(204);
    expect((await api('PUT', `/api/albums/${album.id}/user/${other.id}`, owner, { role: 'viewer' })).statusCode).toBe(
      204,
    );

    expect(await linkExists(ownersLink)).toBe(true);
    for (const id of [removedLink, leftLink, demotedLink]) {
      expect(await linkExists(id)).toBe(false);
      expect((await eventsOf(h, id)).map((e) => [e.type, e.data])).toEqual([
        ['shared-link.created', expect.anything()],
        ['shared-link.deleted', { linkId: id }],
      ]);
    }
  });
});
