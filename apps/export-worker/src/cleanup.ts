import { MaintenanceJobs, Queues, queuePrefix } from '@immish/contracts';
import type { Db } from '@immish/db';
import { type ExpireExportsResult, expireExports } from '@immish/domain';
import type { BlobStore } from '@immish/storage';
import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Processor of the `maintenance` queue: `expire-exports` marks expired exports and deletes their archives. */
export async function processMaintenanceJob(
  jobName: string,
  deps: { db: Db; storage: BlobStore; logger: Logger },
): Promise<ExpireExportsResult | undefined> {
  if (jobName !== MaintenanceJobs.expireExports) {
    deps.logger.warn({ jobName }, 'unknown maintenance job: ignored');
    return undefined;
  }
  const result = await expireExports(deps.db, deps.storage);
  if (result.expired > 0 || result.abandonedWrites > 0) deps.logger.info(result, 'expired exports cleaned up');
  return result;
}

/**
 * Registers the repeatable cleanup (one scheduler id, so every worker process upserting it at start-up
 * keeps a single schedule; the interval follows the latest EXPORT_CLEANUP_INTERVAL_MS).
 */
export async function scheduleExportCleanup(opts: {
  connection: Redis | Cluster;
  /** QUEUE_PREFIX */
  prefix: string;
  everyMs: number;
}): Promise<Queue> {
  const queue = new Queue(Queues.maintenance, {
    connection: opts.connection,
    prefix: queuePrefix(opts.prefix, Queues.maintenance, opts.connection.isCluster),
  });
  queue.on('error', () => {});
  await queue.upsertJobScheduler(
    MaintenanceJobs.expireExports,
    { every: opts.everyMs },
    { name: MaintenanceJobs.expireExports, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  return queue;
}
