import { type ExportJobData, type ExportWorkerConfig, Queues } from '@immish/contracts';
import type { Db } from '@immish/db';
import { failExport } from '@immish/domain';
import { createRedis, type Metrics, type RedisConfig, startQueueWorker } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Logger } from 'pino';
import { processMaintenanceJob, scheduleExportCleanup } from './cleanup.ts';
import { type ExportJobDeps, type ExportJobResult, processExportJob } from './processor.ts';

export interface ExportWorker {
  /** stops taking jobs, waits for the active ones (or hands them back as stalled), closes its connections */
  close(): Promise<void>;
}

type WorkerConfig = RedisConfig &
  Pick<
    ExportWorkerConfig,
    | 'QUEUE_PREFIX'
    | 'EXPORT_CONCURRENCY'
    | 'EXPORT_TTL_HOURS'
    | 'EXPORT_CLEANUP_INTERVAL_MS'
    | 'EXPORT_LOCK_DURATION_MS'
    | 'EXPORT_READ_BYTES_PER_SECOND'
  > &
  Partial<Pick<ExportWorkerConfig, 'ACTIVITY_RETENTION_DAYS' | 'UPLOAD_REVIEW_TTL_DAYS'>>;

/**
 * The export worker's BullMQ wiring: the `exports` queue (export.requested → processExportJob), the
 * `maintenance` queue (expire-exports) and the repeatable cleanup schedule.
 */
export async function startExportWorker(opts: {
  config: WorkerConfig;
  db: Db;
  storage: BlobStore;
  logger: Logger;
  metrics?: Metrics;
}): Promise<ExportWorker> {
  const { config, db, storage, logger, metrics } = opts;
  const deps: ExportJobDeps = {
    db,
    storage,
    logger,
    ttlHours: config.EXPORT_TTL_HOURS,
    readBytesPerSecond: config.EXPORT_READ_BYTES_PER_SECOND,
  };
  const common = { prefix: config.QUEUE_PREFIX, redis: config, logger, ...(metrics ? { metrics } : {}) };

  const exportsWorker = startQueueWorker<ExportJobData, ExportJobResult>({
    ...common,
    queue: Queues.exports,
    concurrency: config.EXPORT_CONCURRENCY,
    lockDurationMs: config.EXPORT_LOCK_DURATION_MS,
    processor: (job) =>
      processExportJob(job.data, deps, { attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 }),
  });
  // Safety net for a job BullMQ fails without running the processor to the end (stalled too often):
  // the export must not stay "running" forever. failExport is a no-op if the processor already did it.
  exportsWorker.worker.on('failed', (job, err) => {
    if (!job?.data?.data?.exportId) return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled more than/i.test(err.message);
    if (!final) return;
    void failExport(db, job.data.data.exportId, err.message, {
      ...(job.data.correlationId ? { correlationId: job.data.correlationId } : {}),
    }).catch((e: unknown) => logger.warn({ err: (e as Error).message }, 'marking an export failed did not work'));
  });

  const maintenanceWorker = startQueueWorker({
    ...common,
    queue: Queues.maintenance,
    concurrency: 1,
    processor: (job) =>
      processMaintenanceJob(job.name, {
        db,
        storage,
        logger,
        activityRetentionDays: config.ACTIVITY_RETENTION_DAYS,
        uploadReviewTtlDays: config.UPLOAD_REVIEW_TTL_DAYS,
      }),
  });

  const schedulerConnection = createRedis(config, 'worker');
  const schedulerQueue = await scheduleExportCleanup({
    connection: schedulerConnection,
    prefix: config.QUEUE_PREFIX,
    everyMs: config.EXPORT_CLEANUP_INTERVAL_MS,
  });

  return {
    async close() {
      await Promise.all([exportsWorker.close(), maintenanceWorker.close()]);
      await schedulerQueue.close().catch(() => {});
      schedulerConnection.disconnect();
    },
  };
}
