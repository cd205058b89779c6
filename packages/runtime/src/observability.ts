import { Queues, queuePrefix } from '@immish/contracts';
import type { Db } from '@immish/db';
import { Queue } from 'bullmq';
import { sql } from 'kysely';
import { Gauge } from 'prom-client';
import type { Metrics } from './metrics.ts';
import type { RedisConnection } from './redis.ts';

/**
 * Scrape-time gauges (docs/spec.md §12): queue depth per state and the wait of the oldest waiting job, per queue;
 * outbox lag (age of the oldest unpublished event). Computed when /metrics is read, never on a hot path.
 */
export function registerBacklogMetrics(
  metrics: Metrics,
  deps: { db: Db; redis: RedisConnection; prefix: string },
): () => Promise<void> {
  const queues = Object.values(Queues).map(
    (name) => new Queue(name, { connection: deps.redis, prefix: queuePrefix(deps.prefix, name, deps.redis.isCluster) }),
  );
  for (const q of queues) q.on('error', () => {});
  new Gauge({
    name: 'queue_jobs',
    help: 'jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: [metrics.registry],
    async collect() {
      // the queues in parallel: a frozen Redis costs a scrape one command timeout, not one per queue
      await Promise.all(
        queues.map(async (q) => {
          try {
            const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
            for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
          } catch {
            // Redis down: leave the last values; readiness reports the outage
          }
        }),
      );
    },
  });
  new Gauge({
    name: 'queue_oldest_waiting_seconds',
    help: 'age of the oldest waiting job per queue',
    labelNames: ['queue'],
    registers: [metrics.registry],
    async collect() {
      await Promise.all(
        queues.map(async (q) => {
          try {
            const [oldest] = await q.getJobs(['waiting'], 0, 0, true);
            this.set({ queue: q.name }, oldest ? (Date.now() - oldest.timestamp) / 1000 : 0);
          } catch {}
        }),
      );
    },
  });
  new Gauge({
    name: 'outbox_lag_seconds',
    help: 'age of the oldest unpublished outbox event (0 when none)',
    registers: [metrics.registry],
    async collect() {
      try {
        const row = await sql<{ lag: number | null }>`
          SELECT extract(epoch FROM now() - min(occurred_at))::float8 AS lag FROM outbox_events WHERE published_at IS NULL`.execute(
          deps.db,
        );
        this.set(row.rows[0]?.lag ?? 0);
      } catch {}
    },
  });
  return async () => {
    await Promise.allSettled(queues.map((q) => q.close()));
  };
}
