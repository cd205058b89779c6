import { availableParallelism } from 'node:os';
import { type DomainEvent, type EventPayload, type IngestWorkerConfig, Queues } from '@immish/contracts';
import type { Db } from '@immish/db';
import { closeAbandonedUploadBatches } from '@immish/domain';
import type { MediaTools } from '@immish/media';
import {
  isBackingServiceDown,
  isStorageFull,
  type Logger,
  type Metrics,
  type RedisConfig,
  startQueueWorker,
} from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Job } from 'bullmq';
import { type IngestOutcome, markFailed, processIngestJob } from './processor.ts';
import { ReadBufferPool } from './read-buffers.ts';
import { processRenditionJob, type RenditionOutcome } from './renditions.ts';

export interface IngestWorkerDeps {
  config: RedisConfig &
    Pick<
      IngestWorkerConfig,
      'QUEUE_PREFIX' | 'INGEST_CONCURRENCY' | 'INGEST_MAX_PIXELS' | 'INGEST_KEEP_FAILED_ORIGINALS'
    > &
    Partial<Pick<IngestWorkerConfig, 'INGEST_LOCK_DURATION_MS'>>;
  db: Db;
  storage: BlobStore;
  logger: Logger;
  metrics?: Metrics;
  tempDir?: string;
  /**
   * External decoders found at start-up (`detectMediaTools`, main.ts). Without them HEIC and videos get placeholders
   * and no renditions are made (the worker still ingests everything else).
   */
  tools?: MediaTools;
  /** renditions transcoded at once per process (default 1: ffmpeg already uses every core for one) */
  renditionConcurrency?: number;
  /** the process's reused checksum read buffers (main.ts builds one); without it this worker builds its own */
  readBuffers?: ReadBufferPool;
}

/** A batch that has not started a new file for this long has lost its request (REQUEST_TIMEOUT_MS is minutes). */
const ABANDONED_BATCH_AFTER_MS = 60 * 60_000;
const SWEEP_INTERVAL_MS = 5 * 60_000;

/** INGEST_CONCURRENCY, or one job per CPU core when it is 0. */
export const ingestConcurrency = (configured: number): number => configured || availableParallelism();

/**
 * The BullMQ worker around `processIngestJob` (queue `ingest`, job data = the `asset.stored` envelope).
 * When the last attempt of a job fails for a reason that is not the file's (storage or database trouble
 * that outlasted the retries), the asset is marked failed so its batch can still complete.
 */
export interface IngestWorkerHandle {
  concurrency: number;
  /** stop taking jobs (active ones finish first); for tools and benchmarks */
  pause(): Promise<void>;
  resume(): void;
  close(): Promise<void>;
}

export function startIngestWorker(deps: IngestWorkerDeps): IngestWorkerHandle {
  const ingestDeps = {
    db: deps.db,
    storage: deps.storage,
    maxPixels: deps.config.INGEST_MAX_PIXELS,
    keepFailedOriginals: deps.config.INGEST_KEEP_FAILED_ORIGINALS,
    ...(deps.tempDir ? { tempDir: deps.tempDir } : {}),
    ...(deps.tools ? { tools: deps.tools } : {}),
    // one pool per worker: its jobs reuse the buffers (the caller's, else one of this worker's own)
    readBuffers: deps.readBuffers ?? new ReadBufferPool(),
  };
  const concurrency = ingestConcurrency(deps.config.INGEST_CONCURRENCY);
  const handle = startQueueWorker<DomainEvent, IngestOutcome>({
    queue: Queues.ingest,
    prefix: deps.config.QUEUE_PREFIX,
    redis: deps.config,
    concurrency,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    // decoding a 100-megapixel image can take a while on a busy machine: do not let it look stalled
    // (the lock is renewed while the job runs; this bounds how long a dead worker's job waits for another)
    lockDurationMs: deps.config.INGEST_LOCK_DURATION_MS ?? 120_000,
    // A full storage is not the asset's fault either: its derivatives are small and fit once space is freed, so
    // the job goes back to the queue (no attempt spent, the queue paused 5 s at a time) and the asset stays
    // `processing` until then, instead of failing photos that are fine.
    waitForStorageSpace: true,
    processor: async (job: Job<DomainEvent, IngestOutcome>) => {
      try {
        return await processIngestJob(job.data, ingestDeps);
      } catch (err) {
        const attempts = job.opts.attempts ?? 1;
        // A backing service being down (or the storage full) is never the asset's fault (the queue worker waits
        // it out): only other errors on the last attempt end the asset as failed.
        if (
          !isBackingServiceDown(err) &&
          !isStorageFull(err) &&
          job.attemptsMade + 1 >= attempts &&
          job.data.type === 'asset.stored'
        ) {
          const data = job.data.data as EventPayload<'asset.stored'>;
          const row = await deps.db
            .selectFrom('assets')
            .select(['id', 'owner_id', 'original_key'])
            .where('id', '=', data.assetId)
            .executeTakeFirst()
            .catch(() => undefined);
          if (row) {
            await markFailed(
              { ...ingestDeps, keepFailedOriginals: true },
              row,
              data,
              `processing failed after ${attempts} attempts: ${(err as Error).message}`,
            ).catch(() => {});
          }
        }
        throw err;
      }
    },
  });
  // Web-playable renditions of videos a browser cannot play (README "Formats"), in the same process: the decoders
  // are installed where ingest runs, and a rendition is the tail of a video's ingest.
  const tools = deps.tools;
  const renditions = tools?.ffmpeg
    ? startQueueWorker<DomainEvent, RenditionOutcome>({
        queue: Queues.renditions,
        prefix: deps.config.QUEUE_PREFIX,
        redis: deps.config,
        concurrency: deps.renditionConcurrency ?? 1,
        logger: deps.logger,
        ...(deps.metrics ? { metrics: deps.metrics } : {}),
        // a long video transcodes for minutes; the lock is renewed while it runs
        lockDurationMs: deps.config.INGEST_LOCK_DURATION_MS ?? 120_000,
        waitForStorageSpace: true,
        processor: async (job: Job<DomainEvent, RenditionOutcome>) => {
          try {
            return await processRenditionJob(job.data, {
              db: deps.db,
              storage: deps.storage,
              tools,
              ...(deps.tempDir ? { tempDir: deps.tempDir } : {}),
              onProgress: (percent) => job.updateProgress(percent).catch(() => {}),
            });
          } catch (err) {
            // the last attempt of a rendition that kept failing for a reason of ours: say so on the asset (the
            // player stops waiting for it) instead of leaving it `running` for ever
            const attempts = job.opts.attempts ?? 1;
            if (!isBackingServiceDown(err) && !isStorageFull(err) && job.attemptsMade + 1 >= attempts) {
              const { assetId } = job.data.data as EventPayload<'asset.rendition-requested'>;
              await deps.db
                .updateTable('assets')
                .set({ rendition_status: 'failed', rendition_error: `conversion failed: ${(err as Error).message}` })
                .where('id', '=', assetId)
                .where('rendition_status', '<>', 'ready')
                .execute()
                .catch(() => {});
            }
            throw err;
          }
        },
      })
    : undefined;
  // Crash recovery for batches whose upload request died with its API process (see closeAbandonedUploadBatches).
  const sweep = setInterval(() => {
    closeAbandonedUploadBatches(deps.db, ABANDONED_BATCH_AFTER_MS)
      .then((n) => {
        if (n > 0) deps.logger.warn({ batches: n }, 'closed upload batches abandoned mid-request');
      })
      .catch((err) => deps.logger.warn({ err: (err as Error).message }, 'abandoned batch sweep failed'));
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  return {
    concurrency,
    pause: () => handle.worker.pause(),
    resume: () => handle.worker.resume(),
    async close() {
      clearInterval(sweep);
      await Promise.all([handle.close(), renditions?.close()]);
    },
  };
}
