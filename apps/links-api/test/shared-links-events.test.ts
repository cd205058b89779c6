import { LINK_INVALIDATION_CHANNEL } from '@immish/contracts';
import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { createRedis } from '@immish/runtime';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { insertAlbum, insertAsset } from './shared-links.fixtures.ts';

/** Events of every shared-link change: the outbox row (same transaction) and its delivery by the relay. */
let h: LinksApiHarness;
let owner: TestUser;
let relay: OutboxRelay;
let publisher: BullEventPublisher;
let subscriber: Redis;
const invalidations: { linkId?: string; albumId?: string }[] = [];

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  subscriber = new Redis(h.redisUrl);
  subscriber.on('message', (_channel, message) => invalidations.push(JSON.parse(message)));
  await subscriber.subscribe(`${h.prefix}:${LINK_INVALIDATION_CHANNEL}`);
  publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: h.redisUrl }, 'producer'),
    prefix: h.prefix,
  });
  relay = new OutboxRelay({ db: h.tdb.db, databaseUrl: h.tdb.url, publisher, pollIntervalMs: 200 });
  relay.start();
});
afterAll(async () => {
  await relay?.stop();
  await publisher?.close();
  subscriber?.disconnect();
  await h?.close();
});

async function call(method: string, url: string, payload?: unknown) {
  const res = await h.app.inject({
    method: method as 'GET',
    url,
    headers: owner.headers,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return { status: res.statusCode, body: res.body ? res.json() : null };
}

async function eventsOf(linkId: string) {
  const rows = await h.tdb.db
    .selectFrom('outbox_events')
    .selectAll()
    .where('aggregate_id', '=', linkId)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    ...(r.payload as { type: string; data: Record<string, unknown> }),
    published: r.published_at,
  }));
}

async function until<T>(what: () => Promise<T | undefined> | T | undefined, label: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await what();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${label}`);
}

describe('shared-link events', () => {
  it('should write shared-link.created with the link in the same transaction and publish it', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const link = (await call('POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [assetId] })).body;
    const [created] = await eventsOf(link.id);
    expect(created).toMatchObject({
      type: 'shared-link.created',
      version: 1,
      actor: { type: 'user', id: owner.id },
      subject: { type: 'shared-link', id: link.id },
      data: { linkId: link.id, ownerId: owner.id, linkType: 'INDIVIDUAL', albumId: null },
    });
    await until(async () => (await eventsOf(link.id))[0]?.published, 'created published');
  });

  it('should carry the album id for an ALBUM link', async () => {
    const albumId = await insertAlbum(h.tdb.db, owner.id);
    const link = (await call('POST', '/api/shared-links', { type: 'ALBUM', albumId })).body;
    expect((await eventsOf(link.id))[0]?.data).toMatchObject({ linkType: 'ALBUM', albumId });
  });

  it('should write shared-link.updated with changed fields and passwordChanged, and announce the invalidation', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const link = (await call('POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [assetId] })).body;
    await call('PATCH', `/api/shared-links/${link.id}`, { description: 'new', password: 'pw', allowDownload: true });
    const events = await eventsOf(link.id);
    expect(events.map((e) => e.type)).toEqual(['shared-link.created', 'shared-link.updated']);
    expect(events[1]?.data).toEqual({ linkId: link.id, changed: ['description', 'password'], passwordChanged: true });
    await until(() => invalidations.find((m) => m.linkId === link.id), 'invalidation after update');
    await until(async () => (await eventsOf(link.id))[1]?.published, 'updated published');

    await call('PATCH', `/api/shared-links/${link.id}`, { allowDownload: false });
    expect((await eventsOf(link.id))[2]?.data).toEqual({
      linkId: link.id,
      changed: ['allowDownload'],
      passwordChanged: false,
    });
  });

  it('should write no event when a PATCH changes nothing', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const link = (
      await call('POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [assetId], description: 'd' })
    ).body;
    await call('PATCH', `/api/shared-links/${link.id}`, { description: 'd', changeExpiryTime: false });
    expect((await eventsOf(link.id)).map((e) => e.type)).toEqual(['shared-link.created']);
  });

  it('should write shared-link.assets-added/removed with only the ids that changed', async () => {
    const [a1, a2] = [await insertAsset(h.tdb.db, owner.id), await insertAsset(h.tdb.db, owner.id)];
    const link = (await call('POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [a1] })).body;
    await call('PUT', `/api/shared-links/${link.id}/assets`, { assetIds: [a1, a2] });
    await call('DELETE', `/api/shared-links/${link.id}/assets`, {
      assetIds: [a1, '3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    });
    await call('PUT', `/api/shared-links/${link.id}/assets`, { assetIds: [a2] }); // all duplicates: no event
    const events = await eventsOf(link.id);
    expect(events.map((e) => [e.type, e.data.assetIds])).toEqual([
      ['shared-link.created', undefined],
      ['shared-link.assets-added', [a2]],
      ['shared-link.assets-removed', [a1]],
    ]);
    await until(
      () => invalidations.filter((m) => m.linkId === link.id).length >= 2 || undefined,
      'asset invalidations',
    );
  });

  it('should write shared-link.deleted and announce the invalidation', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const link = (await call('POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: [assetId] })).body;
    expect((await call('DELETE', `/api/shared-links/${link.id}`)).status).toBe(204);
    const events = await eventsOf(link.id);
    expect(events.at(-1)).toMatchObject({ type: 'shared-link.deleted', data: { linkId: link.id } });
    await until(() => invalidations.find((m) => m.linkId === link.id), 'invalidation after delete');
  });

  it('should write no event when a request fails', async () => {
    const before = await h.tdb.db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    await call('POST', '/api/shared-links', { type: 'INDIVIDUAL', assetIds: ['3f2504e0-4f89-41d3-9a0c-0305e82c3301'] });
    await call('POST', '/api/shared-links', {
      type: 'INDIVIDUAL',
      assetIds: [await insertAsset(h.tdb.db, owner.id)],
      slug: 'x',
    });
    const after = await h.tdb.db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });
});

describe('link policy (env)', () => {
  let p: LinksApiHarness;
  let u: TestUser;
  beforeAll(async () => {
    p = await startLinksApi({
      LINK_DEFAULT_EXPIRY_HOURS: '48',
      LINK_MAX_EXPIRY_DAYS: '30',
      LINK_UPLOAD_PASSWORD_REQUIRED: 'true',
    });
    u = await p.newUser('policy');
  });
  afterAll(async () => {
    await p?.close();
  });
  const post = async (body: Record<string, unknown>) => {
    const assetId = await insertAsset(p.tdb.db, u.id);
    const res = await p.app.inject({
      method: 'POST',
      url: '/api/shared-links',
      headers: u.headers,
      payload: { type: 'INDIVIDUAL', assetIds: [assetId], ...body },
    });
    return { status: res.statusCode, body: res.json() };
  };
  const patch = async (id: string, body: Record<string, unknown>) => {
    const res = await p.app.inject({
      method: 'PATCH',
      url: `/api/shared-links/${id}`,
      headers: u.headers,
      payload: body,
    });
    return { status: res.statusCode, body: res.json() };
  };

  it('should apply the default expiry when none is given', async () => {
    const res = await post({});
    expect(res.status).toBe(201);
    const hours = (new Date(res.body.expiresAt).getTime() - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(47);
    expect(hours).toBeLessThanOrEqual(48);
  });

  it('should refuse a never-expiring link or one beyond the maximum, naming the rule, on create and update', async () => {
    const never = await post({ expiresAt: null });
    expect(never.status).toBe(400);
    expect(never.body.message).toContain('LINK_MAX_EXPIRY_DAYS');
    const far = await post({ expiresAt: new Date(Date.now() + 31 * 86_400_000).toISOString() });
    expect(far.status).toBe(400);
    expect(far.body.message).toMatch(/within 30 days/);
    const ok = await post({ expiresAt: new Date(Date.now() + 29 * 86_400_000).toISOString() });
    expect(ok.status).toBe(201);
    expect((await patch(ok.body.id, { changeExpiryTime: true })).status).toBe(400);
    expect((await patch(ok.body.id, { expiresAt: null })).body.message).toContain('LINK_MAX_EXPIRY_DAYS');
    expect((await patch(ok.body.id, { description: 'still fine' })).status).toBe(200);
  });

  it('should require a password on links that allow upload, on create and update', async () => {
    const res = await post({ allowUpload: true });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('LINK_UPLOAD_PASSWORD_REQUIRED');
    const withPw = await post({ allowUpload: true, password: 'pw' });
    expect(withPw.status).toBe(201);
    const removePw = await patch(withPw.body.id, { password: null });
    expect(removePw.status).toBe(400);
    expect(removePw.body.message).toContain('LINK_UPLOAD_PASSWORD_REQUIRED');
    const plain = await post({});
    expect((await patch(plain.body.id, { allowUpload: true })).status).toBe(400);
    expect((await patch(plain.body.id, { allowUpload: true, password: 'pw' })).status).toBe(200);
  });

  it('should cap the default expiry at the maximum, and apply the maximum when there is no default', async () => {
    const capped = await startLinksApi({ LINK_DEFAULT_EXPIRY_HOURS: String(24 * 60), LINK_MAX_EXPIRY_DAYS: '7' });
    const onlyMax = await startLinksApi({ LINK_MAX_EXPIRY_DAYS: '3' });
    try {
      for (const [harness, days] of [
        [capped, 7],
        [onlyMax, 3],
      ] as const) {
        const user = await harness.newUser('cap');
        const res = await harness.app.inject({
          method: 'POST',
          url: '/api/shared-links',
          headers: user.headers,
          payload: { type: 'INDIVIDUAL', assetIds: [await insertAsset(harness.tdb.db, user.id)] },
        });
        expect(res.statusCode).toBe(201);
        const inDays = (new Date(res.json().expiresAt).getTime() - Date.now()) / 86_400_000;
        expect(inDays).toBeGreaterThan(days - 0.01);
        expect(inDays).toBeLessThanOrEqual(days);
      }
    } finally {
      await capped.close();
      await onlyMax.close();
    }
  });

  it('should require a password on every link when LINK_PASSWORD_REQUIRED is set', async () => {
    const strict = await startLinksApi({ LINK_PASSWORD_REQUIRED: 'true' });
    try {
      const s = await strict.newUser('strict');
      const assetId = await insertAsset(strict.tdb.db, s.id);
      const res = await strict.app.inject({
        method: 'POST',
        url: '/api/shared-links',
        headers: s.headers,
        payload: { type: 'INDIVIDUAL', assetIds: [assetId] },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toContain('LINK_PASSWORD_REQUIRED');
      const ok = await strict.app.inject({
        method: 'POST',
        url: '/api/shared-links',
        headers: s.headers,
        payload: { type: 'INDIVIDUAL', assetIds: [assetId], password: 'pw', expiresAt: null },
      });
      expect(ok.statusCode).toBe(201);
      expect(ok.json().expiresAt).toBeNull();
      const remove = await strict.app.inject({
        method: 'PATCH',
        url: `/api/shared-links/${ok.json().id}`,
        headers: s.headers,
        payload: { password: '' },
      });
      expect(remove.statusCode).toBe(400);
    } finally {
      await strict.close();
    }
  });
});
