import { CoreEnv, Queues, queuePrefix } from '@immish/contracts';
import { testRedis } from '@immish/testkit';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createRedis, redisModeOf } from '../src/redis.ts';

const base = { DATABASE_URL: 'postgres://u@127.0.0.1/db' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(CoreEnv, { ...base, ...env });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('Redis mode configuration (issue 20 item 1)', () => {
  it('should refuse a mix of modes, naming the variables that are set', () => {
    const p = problems({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '10.0.0.1:6379,10.0.0.2:6379' });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/set exactly one/);
    expect(p[0]).toMatch(/REDIS_URL and REDIS_CLUSTER_NODES are both set/);
    const q = problems({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_NAME: 'main', REDIS_CLUSTER_NODES: 'b:6379' });
    expect(q[0]).toMatch(/REDIS_SENTINELS and REDIS_CLUSTER_NODES are both set/);
  });

  it('should refuse no mode at all, and Sentinel without the primary’s name', () => {
    expect(problems({})[0]).toMatch(/REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES: set exactly one.*none is set/);
    expect(problems({ REDIS_SENTINELS: 's1:26379,s2:26379' })).toEqual([
      'REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name after `sentinel monitor`)',
    ]);
  });

  it('should refuse a malformed node list by its name', () => {
    const p = problems({ REDIS_CLUSTER_NODES: 'redis://10.0.0.1:6379' });
    expect(p[0]).toMatch(/^REDIS_CLUSTER_NODES: must be/);
  });

  it('should pick the mode the variables name', () => {
    const ok = (env: Record<string, string>) => redisModeOf(loadConfig(CoreEnv, { ...base, ...env }));
    expect(ok({ REDIS_URL: 'rediss://user:pw@cache.example:6380' })).toBe('single');
    expect(ok({ REDIS_SENTINELS: '[::1]:26379, s2:26379', REDIS_SENTINEL_NAME: 'immish' })).toBe('sentinel');
    expect(ok({ REDIS_CLUSTER_NODES: 'cfg.example.cache.amazonaws.com:6379' })).toBe('cluster');
    expect(() => redisModeOf({ REDIS_URL: 'redis://a:1', REDIS_SENTINELS: 'b:2', REDIS_SENTINEL_NAME: 'm' })).toThrow(
      ConfigError,
    );
  });
});

describe('queue key prefixes', () => {
  it('should keep QUEUE_PREFIX on one node and give each queue its own hash tag on a cluster', () => {
    expect(queuePrefix('immish', Queues.ingest, false)).toBe('immish');
    expect(queuePrefix('immish', Queues.ingest, true)).toBe('{immish:ingest}');
    expect(queuePrefix('{immish}', Queues.exports, true)).toBe('{immish:exports}');
  });
});

describe('createRedis', () => {
  it('should fail a producer command at once while Redis is unreachable (no offline queue)', async () => {
    const dead = createRedis({ REDIS_URL: 'redis://127.0.0.1:1' }, 'producer');
    await expect(dead.ping()).rejects.toThrow();
    // an error rather than a command parked in memory: the caller answers 503 instead of hanging
    expect(dead.status).not.toBe('ready');
    dead.disconnect();
  });

  it('should open working connections for every role on one node', async () => {
    const { url } = testRedis();
    for (const role of ['producer', 'worker', 'subscriber', 'health'] as const) {
      const r = createRedis({ REDIS_URL: url }, role, { connectionName: `redis-test-${role}` });
      expect(r.isCluster).toBe(false);
      // fail-fast roles refuse commands until connected: wait for the connection, as readiness does
      if (r.status !== 'ready') await new Promise((ready) => r.once('ready', ready));
      expect(await r.ping()).toBe('PONG');
      expect(await r.client('GETNAME')).toBe(`redis-test-${role}`);
      r.disconnect();
    }
  });
});
