import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { createRedis } from '@immish/runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventTypesOf, insertAsset, makeAlbum } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/** docs/spec.md §6 for albums: every change's event is in the outbox, and the relay delivers it. */
let h: LinksApiHarness;
let owner: TestUser;
let friend: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  friend = await h.newUser('friend');
});
afterAll(async () => {
  await h?.close();
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('album events', () => {
  it('should write one event per change, in order, covering every album event type', async () => {
    const api = client(h);
    const asset = await insertAsset(h, owner.id);
    const album = await makeAlbum(h, owner);
    await api('PATCH', `/api/albums/${album.id}`, owner, { albumName: 'new name' });
    await api('PUT', `/api/albums/${album.id}/assets`, owner, { ids: [asset.id] });
    await api('DELETE', `/api/albums/${album.id}/assets`, owner, { ids: [asset.id] });
    await api('PUT', `/api/albums/${album.id}/users`, owner, { albumUsers: [{ userId: friend.id, role: 'viewer' }] });
    await api('PUT', `/api/albums/${album.id}/user/${friend.id}`, owner, { role: 'editor' });
    await api('DELETE', `/api/albums/${album.id}/user/${friend.id}`, owner);
    await api('DELETE', `/api/albums/${album.id}`, owner);
    expect(await eventTypesOf(h, album.id)).toEqual([
      'album.created',
      'album.updated',
      'album.assets-added',
      'album.assets-removed',
      'album.member-added',
      'album.member-updated',
      'album.member-removed',
      'album.deleted',
    ]);
  });

  it('should carry the request’s correlation id into the event', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/albums',
      headers: { ...owner.headers, 'x-correlation-id': 'trace-album-42' },
      payload: { albumName: 'traced' },
    });
    expect(res.headers['x-correlation-id']).toBe('trace-album-42');
    const row = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', res.json().id)
      .executeTakeFirstOrThrow();
    expect(row.payload).toMatchObject({ type: 'album.created', correlationId: 'trace-album-42' });
  });

  it('should be delivered by the relay: marked published, updates and deletes announced to gateways', async () => {
    const album = await makeAlbum(h, owner);
    const link = await h.tdb.db
      .insertInto('shared_links')
      .values({ owner_id: owner.id, type: 'ALBUM', album_id: album.id, key: `relay-${album.id}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    await client(h)('PATCH', `/api/albums/${album.id}`, owner, { description: 'changed' });
    await client(h)('DELETE', `/api/albums/${album.id}`, owner);

    const prefix = `${h.prefix}albums`;
    const sub = new Redis(h.redisUrl);
    const messages: unknown[] = [];
    sub.on('message', (_channel, m) => messages.push(JSON.parse(m)));
    await sub.subscribe(`${prefix}:link-invalidation`);
    const publisher = new BullEventPublisher({
      connection: createRedis({ REDIS_URL: h.redisUrl }, 'producer'),
      prefix,
    });
    const relay = new OutboxRelay({ db: h.tdb.db, databaseUrl: h.tdb.url, publisher });
    try {
      while ((await relay.drainOnce()) > 0) {}
      const unpublished = await h.tdb.db
        .selectFrom('outbox_events')
        .select('type')
        .where('aggregate_id', 'in', [album.id, link.id])
        .where('published_at', 'is', null)
        .execute();
      expect(unpublished).toEqual([]);
      await waitUntil(() => messages.length >= 3, 5000);
      expect(messages).toEqual(
        expect.arrayContaining([{ albumId: album.id }, { albumId: album.id }, { linkId: link.id }]),
      );
    } finally {
      sub.disconnect();
      await publisher.close();
    }
  });
});
