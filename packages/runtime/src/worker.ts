import { type QueueName, queuePrefix } from '@immish/contracts';
import { DelayedError, type Job, type Processor, RateLimitError, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { isBackingServiceDown, isStorageFull } from './errors.ts';
import { boundLogger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import { createRedis, type RedisConfig } from './redis.ts';

export interface QueueWorkerOptions<T, R> {
  queue: QueueName;
  /** QUEUE_PREFIX (the queue's own key prefix follows from it and the topology: contracts queuePrefix) */
  prefix: string;
  /** the Redis variables: the worker opens its connection through createRedis (role `worker`) */
  redis: RedisConfig;
  concurrency: number;
  logger: Logger;
  metrics?: Metrics;
  /** how long a job may go without renewing its lock before another worker takes it over (crash recovery) */
  lockDurationMs?: number;
  /**
   * The work. `token` is the job's lock token, for a processor that postpones its job itself
   * (`job.moveToDelayed(when, token)` then `throw new DelayedError()`: not a failure, no attempt spent).
   */
  processor: (job: Job<T, R>, token?: string) => Promise<R>;
  /** how long the queue pauses when a job meets a backing service that is down (default 2 s) */
  backingServicePauseMs?: number;
  /**
   * Whether a job that finds the storage full is handed back (queue paused `storageFullPauseMs`, no attempt
   * spent) rather than failed: right for work that is not at fault and fits once space is freed (ingest's
   * small derivatives). Default false: the job's own handling decides (an export fails with a clear error).
   */
  waitForStorageSpace?: boolean;
  /**
   * How long the queue pauses when the storage is full (default 5 s). Each retry redoes the job's work up to
   * the write (an ingest decodes the photo again): one job per worker slot every 5 s while the disk is full,
   * a small cost for picking the work up within seconds of an operator freeing space.
   */
  storageFullPauseMs?: number;
}

/**
 * The one registration point for BullMQ workers: wraps a processor with logging (correlation id from the
 * event), duration/failure metrics, and a Redis connection that waits out outages instead of crashing.
 * `close()` stops taking jobs and waits for the active ones (they finish, or return to the queue as stalled).
 * A job that fails because Postgres/Redis/storage is down is not the job's fault: it goes back to the queue
 * without spending an attempt and the queue pauses briefly (every worker), so an outage of any length delays
 * jobs instead of failing them (docs/spec.md §6: workers pause and resume). The same for a stall: every backing call is
 * bounded, so a frozen database, Redis or store surfaces as such an error, never as a job hanging. With
 * `waitForStorageSpace`, a full storage is handled the same way, with a longer pause.
 */
export function startQueueWorker<T, R>(
  opts: QueueWorkerOptions<T, R>,
): { worker: Worker<T, R>; close(): Promise<void> } {
  const connection = createRedis(opts.redis, 'worker');
  let closing = false;
  const processor: Processor<T, R> = async (job, token) => {
    const started = process.hrtime.bigint();
    const correlationId = (job.data as { correlationId?: string } | undefined)?.correlationId;
    const log = boundLogger(opts.logger, {
      queue: opts.queue,
      jobId: job.id,
      jobName: job.name,
      attempt: job.attemptsMade + 1,
      correlationId: correlationId || undefined,
    });
    // queue wait of this attempt: from when the job became runnable (enqueued, or released after a delay)
    const runnableSince = job.timestamp + (job.delay ?? 0);
    opts.metrics?.jobWait.observe({ queue: opts.queue }, Math.max(0, Date.now() - runnableSince) / 1000);
    log.debug('job started');
    try {
      const result = await opts.processor(job, token);
      opts.metrics?.jobDuration.observe(
        { queue: opts.queue, outcome: 'completed' },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      log.info('job completed');
      return result;
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      if (isBackingServiceDown(err) && !closing) {
        log.warn({ err: (err as Error).message }, 'backing service unavailable: job handed back, queue paused');
        await worker.rateLimit(opts.backingServicePauseMs ?? 2000);
        throw new RateLimitError();
      }
      if (opts.waitForStorageSpace && isStorageFull(err) && !closing) {
        log.warn({ err: (err as Error).message }, 'storage full: job handed back, queue paused until space is freed');
        await worker.rateLimit(opts.storageFullPauseMs ?? 5000);
        throw new RateLimitError();
      }
      opts.metrics?.jobDuration.observe(
        { queue: opts.queue, outcome: 'failed' },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      opts.metrics?.jobFailures.inc({ queue: opts.queue });
      log.warn({ err: (err as Error).message }, 'job failed');
      throw err;
    }
  };
  const worker = new Worker<T, R>(opts.queue, processor, {
    connection,
    prefix: queuePrefix(opts.prefix, opts.queue, connection.isCluster),
    concurrency: opts.concurrency,
    lockDuration: opts.lockDurationMs ?? 30_000,
    stalledInterval: Math.min(opts.lockDurationMs ?? 30_000, 30_000),
    maxStalledCount: 3,
  });
  worker.on('error', (err) => opts.logger.warn({ err: err.message, queue: opts.queue }, 'worker connection problem'));
  return {
    worker,
    async close() {
      closing = true;
      await worker.close();
      connection.disconnect();
    },
  };
}
