import { MaintenanceJobs, Queues, queuePrefix } from '@immish/contracts';
import type { Db } from '@immish/db';
import { deleteActivityOlderThan, type ExpireExportsResult, expireExports, expirePendingUploads } from '@immish/domain';
import type { BlobStore } from '@immish/storage';
import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';

/** How often the link activity retention runs (README "Webhooks and link activity"). */
const ACTIVITY_PURGE_EVERY_MS = 60 * 60_000;
/** How often pending guest uploads past UPLOAD_REVIEW_TTL_DAYS are removed (README "Guest-upload moderation"). */
const UPLOAD_REVIEW_EXPIRY_EVERY_MS = 60 * 60_000;

/**
 * Processor of the `maintenance` queue: `expire-exports` marks expired exports and deletes their archives;
 * `purge-link-activity` deletes link activity entries older than ACTIVITY_RETENTION_DAYS; `expire-link-uploads` removes
 * pending guest uploads older than UPLOAD_REVIEW_TTL_DAYS like a rejection (issue 19).
 */
export async function processMaintenanceJob(
  jobName: string,
  deps: { db: Db; storage: BlobStore; logger: Logger; activityRetentionDays?: number; uploadReviewTtlDays?: number },
): Promise<ExpireExportsResult | undefined> {
  if (jobName === MaintenanceJobs.expireLinkUploads) {
    const expiredUploads = await expirePendingUploads(deps, { ttlDays: deps.uploadReviewTtlDays ?? 30 });
    if (expiredUploads > 0)
      deps.logger.info({ expiredUploads }, 'pending guest uploads past their review time removed');
    return undefined;
  }
  if (jobName === MaintenanceJobs.purgeLinkActivity) {
    const purgedActivity = await deleteActivityOlderThan(deps.db, deps.activityRetentionDays ?? 90);
    if (purgedActivity > 0) deps.logger.info({ purgedActivity }, 'old link activity deleted');
    return undefined;
  }
  if (jobName !== MaintenanceJobs.expireExports) {
    deps.logger.warn({ jobName }, 'unknown maintenance job: ignored');
    return undefined;
  }
  const result = await expireExports(deps.db, deps.storage);
  if (result.expired > 0 || result.abandonedWrites > 0) deps.logger.info(result, 'expired exports cleaned up');
  return result;
}

/**
 * Registers the repeatable cleanups, export expiry and link activity retention (one scheduler id each, so every worker process upserting it at start-up
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
  await queue.upsertJobScheduler(
    MaintenanceJobs.purgeLinkActivity,
    { every: ACTIVITY_PURGE_EVERY_MS },
    { name: MaintenanceJobs.purgeLinkActivity, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  await queue.upsertJobScheduler(
    MaintenanceJobs.expireLinkUploads,
    { every: UPLOAD_REVIEW_EXPIRY_EVERY_MS },
    { name: MaintenanceJobs.expireLinkUploads, data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
  return queue;
}
