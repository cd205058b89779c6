import { type SentinelGroup, startSentinelGroup } from '@immish/devstack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failoverEnv, LINKS, runFailoverScenario, UPLOADS } from './support/redis-failover.ts';
import { type Stack, type StackProcess, startStack } from './support/stack.ts';

/**
 * Issue 20 item 4a: a Sentinel group (1 primary, 2 replicas, 3 sentinels, `down-after-milliseconds` 1000) started
 * here from redis-server; the four services (two gateways) connect through the sentinels (REDIS_SENTINELS), and
 * the primary is killed with SIGKILL under load. The scenario and its checks: support/redis-failover.ts.
 */
let group: SentinelGroup;
let stack: Stack;
const gateways: StackProcess[] = [];
beforeAll(async () => {
  group = await startSentinelGroup({ replicas: 2, sentinels: 3, downAfterMs: 1000 });
  stack = await startStack([], {
    outputLimit: 100_000,
    env: { ...failoverEnv, REDIS_URL: '', REDIS_SENTINELS: group.sentinels, REDIS_SENTINEL_NAME: group.name },
  });
  await stack.start('links-api');
  gateways.push(await stack.start('share-gateway'), await stack.start('share-gateway'));
  await stack.start('ingest-worker', { LOG_LEVEL: 'info' });
  await stack.start('export-worker', { LOG_LEVEL: 'info' });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await group?.stop();
});

describe('Redis Sentinel: the primary killed under load', () => {
  it('should promote a replica and lose nothing: every write answered, event delivered, upload ingested once, export done', async () => {
    const oldPrimary = await group.primaryPort();
    let newPrimary = 0;
    const figures = await runFailoverScenario(stack, gateways, {
      async killPrimary() {
        group.nodes.find((n) => n.port === oldPrimary)!.kill();
      },
      async waitForFailover() {
        newPrimary = await group.waitForFailover(oldPrimary);
      },
    });
    expect(newPrimary).not.toBe(oldPrimary);
    expect(figures).toMatchObject({
      writes: LINKS + UPLOADS,
      eventsUnpublished: 0,
      uploadsReady: UPLOADS,
      ingestedEvents: UPLOADS,
      exportStatus: 'ready',
    });
    console.log('sentinel failover figures', JSON.stringify({ ...figures, oldPrimary, newPrimary }));
  }, 300_000);
});
