import { randomUUID } from 'node:crypto';
import type { DomainEvent } from '@immish/contracts';
import { createRedis } from '@immish/runtime';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendEvents, BullEventPublisher, type EventPublisher, migrateToLatest, OutboxRelay } from '../src/index.ts';
import { up as initialUp } from '../src/migrations/2026-11-27T0900_initial.ts';
import { exportRequested, waitUntil } from './fixtures/outbox.ts';

let tdb: TestDatabase;
const redis = testRedis();

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await tdb.db.deleteFrom('outbox_events').execute();
});

class CountingPublisher implements EventPublisher {
  readonly seen = new Map<string, number>();
  readonly inner: EventPublisher;
  constructor(inner: EventPublisher) {
    this.inner = inner;
  }
  async publish(e: DomainEvent) {
    await this.inner.publish(e);
    this.seen.set(e.id, (this.seen.get(e.id) ?? 0) + 1);
  }
  close() {
    return this.inner.close();
  }
}

async function queueJobIds(prefix: string, name: string): Promise<string[]> {
  const q = new Queue(name, { connection: { url: redis.url }, prefix });
  try {
    const jobs = await q.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
    return jobs.map((j) => j.id!).sort();
  } finally {
    await q.close();
  }
}

describe('migrations', () => {
  it('should be idempotent: a second run applies nothing and re-running the DDL does not fail', async () => {
    const again = await migrateToLatest(tdb.db);
    expect(again.applied).toEqual([]);
    await expect(initialUp(tdb.db)).resolves.toBeUndefined();
    const tables = await tdb.db.introspection.getTables();
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['users', 'shared_links', 'outbox_events', 'exports']),
    );
  });
});

describe('appendEvents', () => {
  it('should write nothing when the surrounding transaction rolls back', async () => {
    await expect(
      tdb.db.transaction().execute(async (trx) => {
        await appendEvents(trx, [exportRequested()]);
        throw new Error('change failed');
      }),
    ).rejects.toThrow('change failed');
    const rows = await tdb.db.selectFrom('outbox_events').selectAll().execute();
    expect(rows).toHaveLength(0);
  });

  it('should store the docs/spec.md §6 envelope with a time-ordered UUIDv7 id', async () => {
    const [env] = await appendEvents(tdb.db, [{ ...exportRequested(), correlationId: 'req-1' }]);
    expect(env!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const row = await tdb.db.selectFrom('outbox_events').selectAll().executeTakeFirstOrThrow();
    expect(row.payload).toMatchObject({ id: env!.id, type: 'export.requested', version: 1, correlationId: 'req-1' });
    expect(row.published_at).toBeNull();
  });
});

describe('OutboxRelay', () => {
  it('should publish a routed event as a job whose id is the event id, and mark it published', async () => {
    const prefix = `${redis.prefix}a`;
    const publisher = new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix });
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher });
    const [env] = await appendEvents(tdb.db, [exportRequested()]);
    expect(await relay.drainOnce()).toBe(1);
    expect(await relay.drainOnce()).toBe(0);
    expect(await queueJobIds(prefix, 'exports')).toEqual([env!.id]);
    const row = await tdb.db.selectFrom('outbox_events').select('published_at').executeTakeFirstOrThrow();
    expect(row.published_at).toBeInstanceOf(Date);
    await publisher.close();
  });

  it('should deliver each event exactly once when two relays run at once', async () => {
    const prefix = `${redis.prefix}b`;
    const events = Array.from({ length: 400 }, exportRequested);
    for (let i = 0; i < events.length; i += 50) await appendEvents(tdb.db, events.slice(i, i + 50));
    const p1 = new CountingPublisher(
      new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix }),
    );
    const p2 = new CountingPublisher(
      new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix }),
    );
    const r1 = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher: p1, batchSize: 20 });
    const r2 = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher: p2, batchSize: 20 });
    r1.start();
    r2.start();
    await waitUntil(async () => {
      const { n } = await tdb.db
        .selectFrom('outbox_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('published_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(n) === 0;
    });
    await Promise.all([r1.stop(), r2.stop()]);
    const all = new Map<string, number>();
    for (const p of [p1, p2]) for (const [id, n] of p.seen) all.set(id, (all.get(id) ?? 0) + n);
    expect(all.size).toBe(400);
    expect([...all.values()].every((n) => n === 1)).toBe(true);
    // both relays did part of the work
    expect(p1.seen.size).toBeGreaterThan(0);
    expect(p2.seen.size).toBeGreaterThan(0);
    expect(await queueJobIds(prefix, 'exports')).toHaveLength(400);
    await Promise.all([p1.close(), p2.close()]);
  });

  it('should let writes commit while Redis is unreachable and deliver the events once it is back', async () => {
    const prefix = `${redis.prefix}c`;
    const deadRedis = new BullEventPublisher({
      connection: createRedis({ REDIS_URL: 'redis://127.0.0.1:1' }, 'producer'),
      prefix,
      timeoutMs: 1000,
    });
    const down = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher: deadRedis });
    const envs = await tdb.db.transaction().execute((trx) => appendEvents(trx, [exportRequested(), exportRequested()]));
    await expect(down.drainOnce()).rejects.toThrow();
    const pending = await tdb.db.selectFrom('outbox_events').select('id').where('published_at', 'is', null).execute();
    expect(pending).toHaveLength(2);
    await deadRedis.close();

    const live = new CountingPublisher(
      new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix }),
    );
    const up = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher: live });
    expect(await up.drainOnce()).toBe(2);
    expect(await queueJobIds(prefix, 'exports')).toEqual(envs.map((e) => e.id).sort());
    expect([...live.seen.values()]).toEqual([1, 1]);
    await live.close();
  });

  it('should work with a Redis Cluster hash-tag prefix such as {immish}', async () => {
    const prefix = `{${redis.prefix}f}`;
    const publisher = new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix });
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher });
    const [env] = await appendEvents(tdb.db, [exportRequested()]);
    expect(await relay.drainOnce()).toBe(1);
    expect(await queueJobIds(prefix, 'exports')).toEqual([env!.id]);
    const client = new Redis(redis.url);
    const keys = await client.keys(`${prefix}:exports:*`);
    client.disconnect();
    expect(keys.length).toBeGreaterThan(0);
    await publisher.close();
  });

  it('should wake on NOTIFY without waiting for the polling interval', async () => {
    const prefix = `${redis.prefix}d`;
    const publisher = new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix });
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher, pollIntervalMs: 600_000 });
    relay.start();
    await new Promise((r) => setTimeout(r, 500)); // let the first (empty) drain and LISTEN happen
    const [env] = await appendEvents(tdb.db, [exportRequested()]);
    await waitUntil(async () => (await queueJobIds(prefix, 'exports')).includes(env!.id), 10_000);
    await relay.stop();
    await publisher.close();
  });

  it('should publish a whole batch: the jobs of each queue in the order written, skipped queues left out, link changes announced', async () => {
    const prefix = `${redis.prefix}g`;
    const sub = new Redis(redis.url);
    const got: string[] = [];
    await sub.subscribe(`${prefix}:link-invalidation`);
    sub.on('message', (_c, m) => got.push(m));
    const linkId = randomUUID();
    // export.requested goes to `exports` and (subscribable) `webhooks`; nobody has a webhook endpoint, so the relay
    // leaves `webhooks` out of every one of them
    const first = await appendEvents(tdb.db, Array.from({ length: 30 }, exportRequested));
    const deleted = await appendEvents(tdb.db, [
      {
        type: 'shared-link.deleted',
        actor: { type: 'user', id: null },
        subject: { type: 'shared-link', id: linkId },
        data: { linkId },
      },
    ]);
    const last = await appendEvents(tdb.db, Array.from({ length: 30 }, exportRequested));
    const publisher = new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix });
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher });
    expect(await relay.drainOnce()).toBe(61);
    const q = new Queue('exports', { connection: { url: redis.url }, prefix });
    // oldest first: the order a worker takes them in
    const waiting = (await q.getWaiting(0, -1)).map((j) => j.id);
    await q.close();
    expect(waiting).toEqual([...first, ...last].map((e) => e.id));
    expect(await queueJobIds(prefix, 'webhooks')).toEqual([]);
    await waitUntil(async () => got.length > 0, 5000);
    expect(got.map((m) => JSON.parse(m))).toEqual([{ linkId }]);
    const pending = await tdb.db.selectFrom('outbox_events').select('id').where('published_at', 'is', null).execute();
    expect(pending).toEqual([]);
    expect(deleted).toHaveLength(1);
    sub.disconnect();
    await publisher.close();
  });

  it('should announce link changes on the invalidation channel', async () => {
    const prefix = `${redis.prefix}e`;
    const sub = new Redis(redis.url);
    const got: string[] = [];
    await sub.subscribe(`${prefix}:link-invalidation`);
    sub.on('message', (_c, m) => got.push(m));
    const publisher = new BullEventPublisher({ connection: createRedis({ REDIS_URL: redis.url }, 'producer'), prefix });
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher });
    const linkId = randomUUID();
    await appendEvents(tdb.db, [
      {
        type: 'shared-link.deleted',
        actor: { type: 'user', id: null },
        subject: { type: 'shared-link', id: linkId },
        data: { linkId },
      },
    ]);
    await relay.drainOnce();
    await waitUntil(async () => got.length > 0, 5000);
    expect(JSON.parse(got[0]!)).toEqual({ linkId });
    sub.disconnect();
    await publisher.close();
  });

  it('should announce what an album or asset change concerns: the album and the assets', async () => {
    const prefix = `${redis.prefix}f`;
    const sub = new Redis(redis.url);
    const got: unknown[] = [];
    await sub.subscribe(`${prefix}:link-invalidation`);
    sub.on('message', (_c, m) => got.push(JSON.parse(m)));
    const connection = createRedis({ REDIS_URL: redis.url }, 'producer');
    if (connection.status !== 'ready') await new Promise((r) => connection.once('ready', r)); // fail-fast: no queue
    const publisher = new BullEventPublisher({ connection, prefix });
    const albumId = randomUUID();
    const [a, b] = [randomUUID(), randomUUID()];
    const system = { type: 'system' as const, id: null };
    for (const event of [
      { type: 'album.assets-added' as const, data: { albumId, assetIds: [a, b] } },
      { type: 'album.assets-removed' as const, data: { albumId, assetIds: [a] } },
      { type: 'asset.ingested' as const, data: { assetId: b, ownerId: randomUUID(), batchId: null } },
      { type: 'asset.trashed' as const, data: { ownerId: randomUUID(), assetIds: [a] } },
    ]) {
      await publisher.publish({
        id: randomUUID(),
        version: 1,
        ...event,
        actor: system,
        subject: { type: 'album', id: albumId },
        occurredAt: new Date().toISOString(),
      } as never);
    }
    await waitUntil(async () => got.length >= 4, 5000);
    expect(got).toEqual([
      { albumId, assetIds: [a, b] },
      { albumId, assetIds: [a] },
      { assetIds: [b] },
      { assetIds: [a] },
    ]);
    sub.disconnect();
    await publisher.close();
  });
});
