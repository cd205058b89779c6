import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type PrivateRedis, redisCli, startRedis } from '@immish/devstack';
import { createRedis } from '@immish/runtime';
import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendEvents, BullEventPublisher, OutboxRelay } from '../src/index.ts';
import { exportRequested } from './fixtures/outbox.ts';

/**
 * Issue 20 item 3: an event is marked published only once a replica holds its job (Redis `WAIT`), so a failover
 * cannot lose a job the outbox believes delivered. A private primary and replica on loopback ports; the
 * replica is frozen (SIGSTOP) to make it miss the writes.
 */
let tdb: TestDatabase;
let primary: PrivateRedis;
let replica: PrivateRedis;
const dir = mkdtempSync(join(tmpdir(), 'immish-outbox-replicas-'));

beforeAll(async () => {
  tdb = await createTestDatabase();
  primary = await startRedis({ dataDir: join(dir, 'primary'), port: await freePort() });
  replica = await startRedis({ dataDir: join(dir, 'replica'), port: await freePort() });
}, 60_000);
afterAll(async () => {
  if (replica) process.kill(replica.pid, 'SIGCONT');
  await replica?.stop();
  await primary?.stop();
  await tdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const unpublished = async () =>
  (await tdb.db.selectFrom('outbox_events').select('id').where('published_at', 'is', null).execute()).map((r) => r.id);

function publisher(prefix: string) {
  return new BullEventPublisher({
    connection: createRedis({ REDIS_URL: primary.url, REDIS_COMMAND_TIMEOUT_MS: 2000 }, 'producer'),
    prefix,
    waitReplicas: 1,
    waitTimeoutMs: 300,
  });
}

describe('outbox relay and Redis replicas', () => {
  it('should not wait on a primary that has no replica (one node)', async () => {
    const pub = publisher('solo');
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher: pub });
    await tdb.db.transaction().execute((trx) => appendEvents(trx, [exportRequested()]));
    // the producer connection refuses commands until connected: retry until it is
    await expect.poll(() => relay.drainOnce().catch(() => -1), { timeout: 10_000 }).toBe(1);
    expect(await unpublished()).toEqual([]);
    await pub.close();
  });

  it('should leave events unpublished while no replica confirms their jobs, and publish them once one does', async () => {
    await redisCli(replica.port, 'REPLICAOF', '127.0.0.1', String(primary.port));
    await expect
      .poll(async () => /master_link_status:up/.test(await redisCli(replica.port, 'INFO', 'replication')), {
        timeout: 20_000,
      })
      .toBe(true);
    const pub = publisher('replicated');
    const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher: pub });
    const [first] = await tdb.db.transaction().execute((trx) => appendEvents(trx, [exportRequested()]));
    await expect.poll(() => relay.drainOnce().catch(() => -1), { timeout: 10_000 }).toBe(1);
    expect(await unpublished()).toEqual([]);

    // the replica stops acknowledging: the job reaches the primary, but the event stays in the outbox
    process.kill(replica.pid, 'SIGSTOP');
    const [second] = await tdb.db.transaction().execute((trx) => appendEvents(trx, [exportRequested()]));
    await expect(relay.drainOnce()).rejects.toThrow(/only 0 of 1 Redis replica/);
    expect(await unpublished()).toEqual([second!.id]);

    // the replica is back: the same event is published again (a no-op for the job: job id = event id)
    process.kill(replica.pid, 'SIGCONT');
    await expect.poll(() => relay.drainOnce().catch(() => -1), { timeout: 10_000 }).toBe(1);
    expect(await unpublished()).toEqual([]);
    const q = new Queue('exports', { connection: { url: replica.url }, prefix: 'replicated' });
    const onReplica = (await q.getJobs(['waiting'])).map((j) => j.id).sort();
    await q.close();
    expect(onReplica).toEqual([first!.id, second!.id].sort());
    await pub.close();
  });
});
