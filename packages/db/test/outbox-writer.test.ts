import { randomUUID } from 'node:crypto';
import { createRedis } from '@immish/runtime';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendEvents,
  BullEventPublisher,
  claimsOnNotify,
  createDb,
  createPool,
  type Db,
  OutboxRelay,
  relayWriterTag,
} from '../src/index.ts';
import { exportRequested, waitUntil } from './fixtures/outbox.ts';

/**
 * Whose events wake which relay (relay.ts `claimsOnNotify`, migration 2026-12-08T1000_outbox_notify_writer). Every
 * service runs a relay; the NOTIFY names the writing connection's `application_name`, so the relay of the process
 * that wrote claims at once and the others leave the events to it, unless it never does (their polling interval).
 * Before, every relay woke for every event and all but one ran an empty claim (docs/benchmarks.md "Ingest end to
 * end"). Relays here poll rarely (10 min) unless said: a claim within seconds can only come from a NOTIFY.
 */
let tdb: TestDatabase;
const redis = testRedis();
const pools: pg.Pool[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  for (const p of pools) await p.end();
  await tdb?.drop();
});

/** A process as services.ts builds it: its pool named by its writer tag, and a relay that knows the tag. */
function processWithRelay(name: string, pollIntervalMs = 600_000): { db: Db; relay: OutboxRelay; claimed: string[] } {
  const writerTag = relayWriterTag(name, randomUUID());
  const pool = createPool({ connectionString: tdb.url, max: 2, applicationName: writerTag });
  pools.push(pool);
  const db = createDb(pool);
  const publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: redis.url }, 'producer'),
    prefix: `${redis.prefix}w`,
  });
  const claimed: string[] = [];
  const relay = new OutboxRelay({
    db,
    databaseUrl: tdb.url,
    publisher,
    pollIntervalMs,
    writerTag,
    onPublished: (events) => claimed.push(...events.map((e) => e.id)),
  });
  return { db, relay, claimed };
}

describe('outbox NOTIFY: the writer names itself', () => {
  it("should wake the writing process's relay for its events and not the others, and every relay for a writer without one", async () => {
    const a = processWithRelay('links-api');
    const b = processWithRelay('share-gateway');
    b.relay.start();
    await new Promise((r) => setTimeout(r, 500)); // listening, its first (empty) claim done
    try {
      // A wrote while its relay is not running yet: B is not woken for it (before, every relay was)
      const [e1] = await appendEvents(a.db, [exportRequested()]);
      await new Promise((r) => setTimeout(r, 1000));
      expect(b.claimed).toEqual([]);
      // A's relay claims what A wrote: on its start, then at once on each of its NOTIFYs (its poll is 10 min away)
      a.relay.start();
      await waitUntil(() => a.claimed.includes(e1!.id));
      const [e2] = await appendEvents(a.db, [exportRequested()]);
      await waitUntil(() => a.claimed.includes(e2!.id));
      // a writer without a relay (a tool, a test: the pool's plain name) wakes them all; one of them claims it
      const [e3] = await appendEvents(tdb.db, [exportRequested()]);
      await waitUntil(() => [...a.claimed, ...b.claimed].includes(e3!.id));
      expect(b.claimed).not.toContain(e1!.id);
      expect(b.claimed).not.toContain(e2!.id);
    } finally {
      await a.relay.stop();
      await b.relay.stop();
    }
  });

  it("should leave no event behind when the writer's relay is not running: the others claim it on their poll", async () => {
    const writer = processWithRelay('ingest-worker'); // its relay never starts (a process that died after its commit)
    const other = processWithRelay('export-worker', 300);
    other.relay.start();
    await new Promise((r) => setTimeout(r, 500)); // its first (empty) claim done: what follows is its poll
    try {
      const [env] = await appendEvents(writer.db, [exportRequested()]);
      await waitUntil(() => other.claimed.includes(env!.id));
    } finally {
      await other.relay.stop();
    }
  });

  it('should decide from the payload alone', () => {
    const mine = relayWriterTag('links-api', 'p1');
    const theirs = relayWriterTag('links-api', 'p2');
    expect(mine).not.toBe(theirs);
    expect(claimsOnNotify(mine, mine)).toBe(true);
    expect(claimsOnNotify(mine, theirs)).toBe(false);
    expect(claimsOnNotify(mine, 'immish')).toBe(true); // a writer without a relay
    expect(claimsOnNotify(mine, '')).toBe(true); // the notification of before, or no application_name
    expect(claimsOnNotify(undefined, theirs)).toBe(true); // a relay that was given no tag wakes for everything
    expect(Buffer.byteLength(relayWriterTag('x'.repeat(100), 'y'.repeat(100)))).toBeLessThanOrEqual(63);
  });
});
