import { randomUUID } from 'node:crypto';
import { createWebhook } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * Issue 18: `GET /api/webhooks/:id/deliveries` is paged like a link's activity log (domain paging.ts: newest first,
 * an opaque keyset cursor). The deliveries are written straight into the table, several in the same millisecond,
 * so ties are broken by id; rows added between two pages must not shift the next one.
 */
const SECRET_KEY = 'test-webhook-sealing-key-0123456789';
let h: LinksApiHarness;
let owner: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  h = await startLinksApi({ WEBHOOK_SECRET_KEY: SECRET_KEY, WEBHOOK_ALLOW_PRIVATE: 'true' });
  owner = await h.newUser('owner');
  stranger = await h.newUser('stranger');
});
afterAll(async () => {
  await h?.close();
});

const api = async (url: string, user: TestUser) => {
  const res = await h.app.inject({ method: 'GET', url, headers: user.headers });
  return { statusCode: res.statusCode, body: res.json() };
};

const endpoint = async (ownerId: string) =>
  (
    await createWebhook(h.tdb.db, { allowPrivate: true, secretKey: SECRET_KEY }, ownerId, {
      url: 'http://127.0.0.1:9/hook',
      events: ['album.created'],
    })
  ).endpoint.id;

/** `count` deliveries to `endpointId`, three per millisecond going back from `newest`. */
async function seedDeliveries(endpointId: string, count: number, newest: Date): Promise<void> {
  await h.tdb.db
    .insertInto('webhook_deliveries')
    .values(
      Array.from({ length: count }, (_, i) => ({
        endpoint_id: endpointId,
        event_id: randomUUID(),
        event_type: 'album.created',
        body: '{}',
        status: 'succeeded' as const,
        created_at: new Date(newest.getTime() - Math.floor(i / 3)),
      })),
    )
    .execute();
}

describe('GET /api/webhooks/:id/deliveries', () => {
  it('should page 120 deliveries by 50, newest first, with no gap or duplicate while new ones arrive', async () => {
    const id = await endpoint(owner.id);
    const other = await endpoint(owner.id);
    await seedDeliveries(id, 120, new Date(Date.now() - 60_000));
    await seedDeliveries(other, 10, new Date(Date.now() - 60_000));
    const expected = (
      await h.tdb.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('endpoint_id', '=', id)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
    ).map((r) => r.id);
    expect(expected).toHaveLength(120);

    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(
        `/api/webhooks/${id}/deliveries?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        owner,
      );
      expect(res.statusCode).toBe(200);
      const page = res.body as { items: { id: string; createdAt: string }[]; nextCursor: string | null };
      sizes.push(page.items.length);
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor;
      // newer deliveries arriving between two pages change nothing of the next one
      if (sizes.length === 1) await seedDeliveries(id, 4, new Date());
    } while (cursor);
    expect(sizes).toEqual([50, 50, 20]);
    expect(seen).toEqual(expected);

    // the default page is 50; the newest come first
    const first = await api(`/api/webhooks/${id}/deliveries`, owner);
    expect(first.body.items).toHaveLength(50);
    expect(first.body.nextCursor).toEqual(expect.any(String));
  });

  it('should refuse a cursor it did not give and a bad limit with 400 in the error shape', async () => {
    const id = await endpoint(owner.id);
    for (const query of [
      'cursor=nonsense',
      `cursor=${Buffer.from('1.x').toString('base64url')}`,
      // an activity-log cursor (a bigint id) is not a delivery-log one
      `cursor=${Buffer.from('1733443200000.42').toString('base64url')}`,
      'limit=0',
      'limit=101',
      'limit=abc',
    ]) {
      const res = await api(`/api/webhooks/${id}/deliveries?${query}`, owner);
      expect(res.statusCode, query).toBe(400);
      expect(res.body, query).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.any(String) });
      expect(res.body.correlationId, query).toEqual(expect.any(String));
    }
  });

  it("should answer another owner's endpoint exactly as one that does not exist", async () => {
    const id = await endpoint(owner.id);
    await seedDeliveries(id, 3, new Date());
    const theirs = await api(`/api/webhooks/${id}/deliveries`, stranger);
    const none = await api(`/api/webhooks/${randomUUID()}/deliveries`, stranger);
    expect(theirs.statusCode).toBe(none.statusCode);
    // the project's answer for another owner's resource (contracts noAccess, as for every webhook and link route)
    expect(theirs.statusCode).toBe(400);
    const { correlationId: _a, ...a } = theirs.body;
    const { correlationId: _b, ...b } = none.body;
    expect(a).toEqual(b);
    expect(JSON.stringify(theirs.body)).not.toContain(id);
  });
});
