import { randomUUID } from 'node:crypto';
import {
  type DomainEvent,
  Queues,
  queuePrefix,
  type WebhookDeliveryJobData,
  type WebhookWorkerConfig,
} from '@immish/contracts';
import type { Db } from '@immish/db';
import { parseRetryDelays } from '@immish/domain';
import { createRedis, type Metrics, type RedisConfig, startQueueWorker } from '@immish/runtime';
import { DelayedError, Queue } from 'bullmq';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { DeliveryBudget } from './budget.ts';
import {
  attemptJobId,
  type DeliveryQueue,
  deliverOnce,
  fanOutEvent,
  type WebhookJobDeps,
  webhookBatches,
} from './processor.ts';
import { EndpointSlots } from './slots.ts';

type WorkerConfig = RedisConfig &
  Pick<
    WebhookWorkerConfig,
    | 'QUEUE_PREFIX'
    | 'WEBHOOK_CONCURRENCY'
    | 'WEBHOOK_TIMEOUT_MS'
    | 'WEBHOOK_RETRY_DELAYS_MS'
    | 'WEBHOOK_RETRY_WINDOW_MS'
    | 'WEBHOOK_LOCK_DURATION_MS'
    | 'WEBHOOK_ALLOW_PRIVATE'
    | 'WEBHOOK_SECRET_KEY'
  >;

type DeliveryJob = WebhookDeliveryJobData & { attempt: number | null };

/** How often pending deliveries whose attempt is overdue are queued again (a lost job, a Redis outage). */
const SWEEP_INTERVAL_MS = 30_000;

/**
 * The webhook worker's BullMQ wiring (issue 18, README "Webhooks and link activity"): `webhooks` (events → deliveries
 * and their first attempts), `webhook-deliveries` (one attempt each: first attempts that could not start at once,
 * retries), WEBHOOK_CONCURRENCY attempts in flight across both, each endpoint at most its own 1–4; and a sweep that
 * re-queues overdue pending deliveries, so a job lost between Postgres and Redis is late, not lost.
 */
export async function startWebhookWorker(opts: {
  config: WorkerConfig;
  db: Db;
  logger: Logger;
  metrics?: Metrics;
}): Promise<{ close(): Promise<void> }> {
  const { config, db, logger, metrics } = opts;
  const producer = createRedis(config, 'worker');
  const deliveries = new Queue<DeliveryJob>(Queues.webhookDeliveries, {
    connection: producer,
    prefix: queuePrefix(config.QUEUE_PREFIX, Queues.webhookDeliveries, producer.isCluster),
    defaultJobOptions: {
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600 },
      attempts: 5,
      backoff: { type: 'exponential', delay: 1000 },
    },
  });
  deliveries.on('error', () => {});
  const queue: DeliveryQueue = {
    async add(deliveryId, attempt, delayMs, jobId) {
      await deliveries.add('deliver', { deliveryId, attempt }, { jobId, delay: delayMs });
    },
  };
  const slotRedis = createRedis(config, 'worker');
  const deps: WebhookJobDeps = {
    db,
    queue,
    slots: new EndpointSlots({
      redis: slotRedis,
      prefix: config.QUEUE_PREFIX,
      leaseMs: config.WEBHOOK_TIMEOUT_MS + 5000,
      // a slot changes hands in this process without Redis while its lease outlasts one more attempt and a margin
      handOverMs: config.WEBHOOK_TIMEOUT_MS + 2000,
      // and stays here idle this long after an attempt, for the next one to the endpoint (slots.ts, lingering)
      lingerMs: 100,
    }),
    budget: new DeliveryBudget(config.WEBHOOK_CONCURRENCY),
    policy: { delaysMs: parseRetryDelays(config.WEBHOOK_RETRY_DELAYS_MS), windowMs: config.WEBHOOK_RETRY_WINDOW_MS },
    allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
    secretKey: config.WEBHOOK_SECRET_KEY,
    timeoutMs: config.WEBHOOK_TIMEOUT_MS,
    batches: webhookBatches(db),
  };
  const common = { prefix: config.QUEUE_PREFIX, redis: config, logger, ...(metrics ? { metrics } : {}) };

  const fanOut = startQueueWorker<DomainEvent, number>({
    ...common,
    queue: Queues.webhooks,
    // a fan-out makes its first attempts itself, so it runs as many at once as there are deliveries to make
    // (the budget bounds the attempts; a fan-out beyond it only queues them) and keeps its lock like a delivery;
    // twice as many, as each also spends a moment recording its attempts after its requests, holding no budget
    concurrency: config.WEBHOOK_CONCURRENCY * 2,
    lockDurationMs: config.WEBHOOK_LOCK_DURATION_MS,
    processor: (job) => fanOutEvent(job.data, `${job.id}:${randomUUID()}`, deps),
  });
  const deliver = startQueueWorker<DeliveryJob, unknown>({
    ...common,
    queue: Queues.webhookDeliveries,
    concurrency: config.WEBHOOK_CONCURRENCY,
    lockDurationMs: config.WEBHOOK_LOCK_DURATION_MS,
    processor: async (job, token) => {
      const result = await deliverOnce(job.data, `${job.id}:${randomUUID()}`, deps);
      if (result.outcome === 'busy') {
        // the endpoint's slots are taken: back in a moment, without holding a worker slot or spending an attempt
        await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 200), token);
        throw new DelayedError();
      }
      return result;
    },
  });

  const sweep = async () => {
    const overdue = await db
      .selectFrom('webhook_deliveries')
      .select(['id', 'attempt_count'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<', sql<Date>`now() - interval '1 minute'`)
      .limit(500)
      .execute();
    for (const d of overdue) await queue.add(d.id, d.attempt_count + 1, 0, attemptJobId(d.id, d.attempt_count + 1));
  };
  const sweeper = setInterval(() => {
    sweep().catch((err: Error) => logger.warn({ err: err.message }, 'webhook sweep did not run'));
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  return {
    async close() {
      clearInterval(sweeper);
      await Promise.all([fanOut.close(), deliver.close()]);
      await deps.slots.close();
      await deliveries.close().catch(() => {});
      producer.disconnect();
      slotRedis.disconnect();
    },
  };
}
