import { Queues } from '@immish/contracts';
import { createRedis } from '@immish/runtime';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUser } from '../../links-api/test/harness.ts';
import {
  type Receiver,
  register,
  startReceiver,
  startWebhookHarness,
  until,
  verifyAll,
  type WebhookHarness,
} from './kit.ts';

/**
 * Issue 17's note / issue 18: the relay sends an event to the `webhooks` queue only when its owner has an enabled
 * endpoint subscribed to its type (packages/db outbox/webhook-audience.ts). The jobs are looked up by id (= event
 * id) in the real queue; the deliveries are checked at a real receiver with the `standardwebhooks` package.
 */
let h: WebhookHarness;
let queue: Queue;
const receivers: Receiver[] = [];

beforeAll(async () => {
  h = await startWebhookHarness();
  queue = new Queue(Queues.webhooks, {
    connection: createRedis({ REDIS_URL: h.api.redisUrl }, 'producer'),
    prefix: h.api.prefix,
  });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await queue?.close();
  await h?.close();
});

async function createAlbums(user: TestUser, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await h.call('POST', '/api/albums', user, { albumName: `album ${i}` });
    expect(res.statusCode).toBe(201);
    ids.push(res.json().id);
  }
  return ids;
}

/** the album.created event ids of these albums, once the relay has published every one of them */
async function publishedEvents(albumIds: string[]): Promise<string[]> {
  const rows = () =>
    h.api.tdb.db
      .selectFrom('outbox_events')
      .select(['id', 'published_at'])
      .where('type', '=', 'album.created')
      .where('aggregate_id', 'in', albumIds)
      .execute();
  await until('the relay to publish the events', async () => {
    const r = await rows();
    return r.length === albumIds.length && r.every((x) => x.published_at !== null);
  });
  return (await rows()).map((r) => r.id);
}

const jobsOf = async (eventIds: string[]) =>
  (await Promise.all(eventIds.map((id) => queue.getJob(id)))).filter((j) => j !== undefined);

describe('relay fan-out', () => {
  it('should queue no webhook job for events nobody subscribed to, and only the subscribed owner’s events once one endpoint exists', async () => {
    const other = await h.api.newUser('other');
    // no endpoint anywhere: 20 events, no webhook job
    const before = await publishedEvents([...(await createAlbums(h.owner, 10)), ...(await createAlbums(other, 10))]);
    expect(before).toHaveLength(20);
    expect(await jobsOf(before)).toHaveLength(0);
    expect(await queue.count()).toBe(0);

    // one owner registers; events written right after the creation response reach the endpoint (no cache to miss)
    const r = await startReceiver();
    receivers.push(r);
    const { id: webhookId, secret } = await register(h, r.url, ['album.created']);
    const ownerAlbums = await createAlbums(h.owner, 5);
    const otherAlbums = await createAlbums(other, 5);
    // a type the owner did not subscribe to: an album renamed
    const renamed = await h.call('PATCH', `/api/albums/${ownerAlbums[0]}`, h.owner, { albumName: 'renamed' });
    expect(renamed.statusCode).toBe(200);
    const ownerEvents = await publishedEvents(ownerAlbums);
    const otherEvents = await publishedEvents(otherAlbums);
    expect((await jobsOf(ownerEvents)).map((j) => j.id).sort()).toEqual([...ownerEvents].sort());
    expect(await jobsOf(otherEvents)).toHaveLength(0);
    const updated = await h.api.tdb.db
      .selectFrom('outbox_events')
      .select(['id', 'published_at'])
      .where('type', '=', 'album.updated')
      .where('aggregate_id', '=', ownerAlbums[0]!)
      .executeTakeFirstOrThrow();
    await until('the album.updated event to be published', async () =>
      Boolean(
        (
          await h.api.tdb.db
            .selectFrom('outbox_events')
            .select('published_at')
            .where('id', '=', updated.id)
            .executeTakeFirstOrThrow()
        ).published_at,
      ),
    );
    expect(await jobsOf([updated.id])).toHaveLength(0);

    // and the worker delivers exactly the owner's five
    const worker = await h.startWorker();
    await until('five deliveries', () => r.received.length >= 5);
    const bodies = verifyAll(secret, r.received);
    expect(bodies.map((b) => b.type)).toEqual(Array(5).fill('album.created'));
    expect(bodies.map((b) => b.data.albumId).sort()).toEqual([...ownerAlbums].sort());
    expect(r.received.map((x) => x.headers['webhook-id']).sort()).toEqual([...ownerEvents].sort());

    // disabled: back to no jobs
    const off = await h.call('PATCH', `/api/webhooks/${webhookId}`, h.owner, { enabled: false });
    expect(off.statusCode).toBe(200);
    const afterOff = await publishedEvents(await createAlbums(h.owner, 3));
    expect(await jobsOf(afterOff)).toHaveLength(0);
    await worker.close();
  });

  it('should deliver to an endpoint the first event written after each creation response, every time', async () => {
    const worker = await h.startWorker();
    for (let i = 0; i < 5; i++) {
      const user = await h.api.newUser(`quick-${i}`);
      const r = await startReceiver();
      receivers.push(r);
      const { secret } = await register(h, r.url, ['album.created'], user);
      const [albumId] = await createAlbums(user, 1);
      await until(`delivery ${i}`, () => r.received.length === 1);
      expect(verifyAll(secret, r.received)[0]!.data.albumId).toBe(albumId);
    }
    await worker.close();
  });
});
