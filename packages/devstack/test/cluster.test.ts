import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../src/index.ts';

/**
 * A cluster handed back by startCluster is ready for what the outbox relay does first: write, then `WAIT` for a
 * replica. Serving every slot is not that: a replica still in its first sync acknowledges nothing, and the
 * relay's first confirm() timed out (bench/redis-modes read the cluster at 0.3× one node for that alone).
 */
describe('startCluster', () => {
  it('should hand back a cluster whose every primary has a replica acknowledging writes within 2 s', async () => {
    const cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1 });
    try {
      const primaries = await cluster.primaries();
      expect(primaries).toHaveLength(3);
      const acks = await Promise.all(
        primaries.map(async (port) => {
          const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
          await redis.connect();
          try {
            // a key of this primary's slots: the others answer MOVED
            for (let i = 0; ; i++) {
              const ok = await redis.set(`devstack-ready-${i}`, '1').catch(() => null);
              if (ok === 'OK') break;
            }
            // within 2 s, even on a loaded machine; a replica still waiting for its first sync (Redis 7 delays a
            // diskless sync by 5 s for more replicas to join) acknowledges nothing in that time
            return Number(await redis.call('WAIT', 1, 2000));
          } finally {
            redis.disconnect();
          }
        }),
      );
      expect(acks).toEqual([1, 1, 1]);
    } finally {
      await cluster.stop();
    }
  }, 90_000);
});
