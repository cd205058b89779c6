import { Queues, queuePrefix } from '@immish/contracts';
import { type RedisClusterTopology, redisCli, startCluster } from '@immish/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failoverEnv, LINKS, runFailoverScenario, UPLOADS } from './support/redis-failover.ts';
import { type Stack, type StackProcess, startStack } from './support/stack.ts';

/**
 * Issue 20 item 4b: a Redis Cluster of 3 primaries with a replica each (`cluster-node-timeout` 1000), started here
 * from redis-server; the four services (two gateways) connect with REDIS_CLUSTER_NODES. The queues must live on
 * different nodes (a hash tag per queue), link invalidation must reach both gateways, and killing (SIGKILL) the
 * primary that holds the ingest queue under load must lose nothing (support/redis-failover.ts).
 */
let cluster: RedisClusterTopology;
let stack: Stack;
let prefix = '';
const gateways: StackProcess[] = [];

const slotOf = async (key: string) =>
  Number(await redisCli(Number(cluster.nodes.split(',')[0]!.split(':')[1]), 'CLUSTER', 'KEYSLOT', key));

beforeAll(async () => {
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1000 });
  // A QUEUE_PREFIX whose ingest and exports queues hash to slots of different primaries (a hash tag per queue
  // makes that possible; which prefix does it is chance, so the test picks one rather than hoping).
  for (let i = 0; ; i++) {
    const candidate = `ctest${i}`;
    const [a, b] = await Promise.all(
      [Queues.ingest, Queues.exports].map(async (q) =>
        cluster.primaryOfSlot(await slotOf(queuePrefix(candidate, q, true))),
      ),
    );
    if (a !== b) {
      prefix = candidate;
      break;
    }
  }
  stack = await startStack([], {
    outputLimit: 100_000,
    env: { ...failoverEnv, REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: prefix },
  });
  await stack.start('links-api');
  gateways.push(await stack.start('share-gateway'), await stack.start('share-gateway'));
  await stack.start('ingest-worker', { LOG_LEVEL: 'info' });
  await stack.start('export-worker', { LOG_LEVEL: 'info' });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

describe('Redis Cluster (3 primaries, 3 replicas)', () => {
  it('should lose nothing when the primary holding the ingest queue is killed under load', async () => {
    const ingestSlot = await slotOf(queuePrefix(prefix, Queues.ingest, true));
    const victim = await cluster.primaryOfSlot(ingestSlot);
    let promoted = 0;
    const figures = await runFailoverScenario(stack, gateways, {
      async killPrimary() {
        cluster.members.find((m) => m.port === victim)!.kill();
      },
      async waitForFailover() {
        await cluster.waitForHealthy(30_000);
        promoted = await cluster.primaryOfSlot(ingestSlot);
      },
    });
    expect(promoted).not.toBe(victim);
    expect(figures).toMatchObject({
      writes: LINKS + UPLOADS,
      eventsUnpublished: 0,
      uploadsReady: UPLOADS,
      ingestedEvents: UPLOADS,
      exportStatus: 'ready',
    });
    console.log('cluster failover figures', JSON.stringify({ ...figures, victim, promoted }));
  }, 300_000);
  // after the scenario above, so that every queue has held jobs (a queue's keys exist once it has had one)
  it('should have kept each queue under its own hash tag, on more than one node', async () => {
    const owners = new Set<number>();
    for (const q of [Queues.ingest, Queues.exports, Queues.maintenance]) {
      const tag = queuePrefix(prefix, q, true);
      const slot = await slotOf(tag);
      const owner = await cluster.primaryOfSlot(slot);
      owners.add(owner);
      // the queue's keys are really there: BullMQ's meta key of the queue, on the node that owns its slot
      const keys = await redisCli(owner, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot));
      expect(Number(keys), `${tag} keys on :${owner}`).toBeGreaterThan(0);
    }
    expect(owners.size).toBeGreaterThan(1);
  });
});
