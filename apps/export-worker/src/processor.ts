import { type ExportJobData, isUuid } from '@immish/contracts';
import type { Db, ExportPartRecord, ExportRow } from '@immish/db';
import {
  beginExportAttempt,
  completeExport,
  exportHiddenByTrash,
  exportMustHideMetadata,
  exportPartKey,
  exportStoragePrefix,
  failExport,
  loadExportAssets,
} from '@immish/domain';
import { BlobNotFoundError, type BlobStore, isInsufficientStorage, UnsupportedByStoreError } from '@immish/storage';
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import {
  type ArchiveEntrySource,
  ArchiveError,
  type PlannedPart,
  planArchive,
  sanitizeEntryName,
  writeZip,
} from './archive/index.ts';
import { contentAsIs, contentWithoutMetadata, type ExportEntry } from './entries.ts';
import { ProgressReporter } from './progress.ts';
import { ReadThrottle } from './throttle.ts';

/**
 * The `export.requested` job (queue `exports`, job data = the event envelope): builds the export's
 * zip archive(s) from the originals in storage into storage (docs/spec.md §7).
 *
 * - Idempotent: a redelivered job of an export that is ready, failed, expired or deleted does nothing.
 * - Crash-safe: an attempt first removes whatever a previous attempt left under `exports/<id>/`
 *   (in-flight temp files / multipart uploads and committed parts); every part is written through a
 *   storage writer that publishes only on commit and is aborted on any failure. `ready` is set only
 *   after every part is committed.
 * - Progress: `bytes_done` (source bytes) written at most once per second while bytes flow (and at the
 *   end), an `export.progress` event at most every 5 seconds (see ProgressReporter). A metadata-hiding
 *   export counts its sizing pass too (entries.ts): its total is the stripped bytes twice.
 * - Metadata: an export made through a link that hides metadata (when requested, or now: decided again
 *   here) gets stripped entries named by asset id, substitutions listed (entries.ts).
 * - Failure: the error is rethrown so BullMQ retries (the publisher's job options: 5 attempts,
 *   exponential backoff); on the last attempt, or for an error no retry can fix (a missing original,
 *   a size that does not match the database), the export becomes `failed` with `export.failed`.
 * - Storage full: the export fails at once with a message saying so (NO_SPACE_MESSAGE), its partial part
 *   removed. Not retried: each attempt would fill the disk again up to the same point (starving uploads
 *   meanwhile) until an operator frees space; once they have, a new request builds it (a failed export is
 *   never reused).
 */

/** The export's `error` when the storage ran out of space while writing it. */
export const NO_SPACE_MESSAGE =
  'The server ran out of storage space while writing this archive; nothing of it was kept. ' +
  'Request the export again once space has been freed.';

export interface ExportJobDeps {
  db: Db;
  storage: BlobStore;
  logger: Logger;
  /** EXPORT_TTL_HOURS */
  ttlHours: number;
  /** EXPORT_READ_BYTES_PER_SECOND (0/undefined = unlimited) */
  readBytesPerSecond?: number;
  /** defaults 1000 ms / 5000 ms */
  progressIntervalMs?: number;
  progressEventIntervalMs?: number;
}

export interface ExportJobAttempt {
  /** 1-based number of this attempt */
  attempt: number;
  maxAttempts: number;
}

export type ExportJobResult =
  | { outcome: 'completed'; exportId: string; parts: number; bytesTotal: number }
  | { outcome: 'skipped'; exportId: string; reason: 'not-pending' | 'deleted' };

/** The export was deleted while being built: stop, clean up, do not retry. */
class ExportDeletedError extends Error {
  override readonly name = 'ExportDeletedError';
}

/**
 * Entry names (safe, unique across the export), parts by `maxPartSize`, part file names and exact sizes.
 * Raw names come from `entries.ts` (original file names, or `<asset id>.<ext>` when metadata is hidden).
 */
export function planExport(row: ExportRow, entries: readonly ExportEntry[]): PlannedPart<ExportEntry>[] {
  const named = entries.map((entry) => ({ ...entry, name: sanitizeEntryName(entry.name, entry.fallbackName) }));
  return planArchive(named, {
    albumName: row.archive_name === '' ? null : row.archive_name,
    now: row.created_at,
    ...(row.options.maxPartSize !== undefined ? { maxPartSize: row.options.maxPartSize } : {}),
  });
}

/**
 * Removes in-flight writes of earlier attempts. A store that cannot list multipart uploads (some
 * emulators) is tolerated: those uploads stay invisible and are left to the bucket's lifecycle rule.
 */
async function abortEarlierWrites(storage: BlobStore, prefix: string, log: Logger): Promise<void> {
  try {
    await storage.abortIncompleteWrites(prefix, 0);
  } catch (err) {
    if (!(err instanceof UnsupportedByStoreError)) throw err;
    log.warn({ err: err.message }, 'the store cannot list incomplete uploads; earlier attempts not cleaned');
  }
}

/**
 * Originals are read in 1 MiB chunks (the store's default is 64 KiB): an export reads hundreds of MB
 * sequentially, and per 64 KiB chunk the worker paid a read, a fresh buffer to collect and a CRC/write call
 * (profiled in bench/export-ready.ts: garbage collection was the largest cost of the job). Memory: the
 * writer reads one source at a time and opens one ahead, so a few MiB at most.
 */
const READ_CHUNK_BYTES = 1024 * 1024;

const isUnfixable = (err: unknown): boolean =>
  err instanceof BlobNotFoundError || err instanceof ArchiveError || err instanceof UnrecoverableError;

export async function processExportJob(
  event: ExportJobData,
  deps: ExportJobDeps,
  attempt: ExportJobAttempt = { attempt: 1, maxAttempts: 1 },
): Promise<ExportJobResult> {
  const { db, storage } = deps;
  const exportId = event?.data?.exportId;
  if (typeof exportId !== 'string' || !isUuid(exportId)) {
    throw new UnrecoverableError(`not an export.requested job: ${JSON.stringify(event?.data ?? null).slice(0, 200)}`);
  }
  const correlationId = event.correlationId;
  const log = deps.logger.child({ exportId });
  const row = await beginExportAttempt(db, exportId);
  if (!row) {
    log.info('export is not pending (done, failed, expired or deleted): nothing to do');
    return { outcome: 'skipped', exportId, reason: 'not-pending' };
  }

  const prefix = exportStoragePrefix(exportId);
  const controller = new AbortController();
  let progress: ProgressReporter | undefined;
  try {
    if (await exportHiddenByTrash(db, row)) {
      throw new UnrecoverableError('An asset of this export was moved to trash by its owner; request a new export');
    }
    const assets = await loadExportAssets(db, row);
    if (assets.length === 0) throw new UnrecoverableError('None of the exported assets exists any more');
    const hideMetadata = await exportMustHideMetadata(db, row);

    // What a crashed or failed earlier attempt left behind: we own this prefix now.
    await abortEarlierWrites(storage, prefix, log);
    await storage.deletePrefix(prefix);

    const originalBytes = assets.reduce((sum, a) => sum + a.size, 0);
    progress = new ProgressReporter({
      db,
      exportId,
      // an estimate until a metadata-hiding export has sized its stripped entries (then set exactly)
      bytesTotal: hideMetadata ? 2 * originalBytes : originalBytes,
      intervalMs: deps.progressIntervalMs ?? 1000,
      eventIntervalMs: deps.progressEventIntervalMs ?? 5000,
      ...(correlationId ? { correlationId } : {}),
      logger: log,
      onGone: () => controller.abort(new ExportDeletedError('the export was deleted while being built')),
    });
    const throttle = deps.readBytesPerSecond ? new ReadThrottle(deps.readBytesPerSecond) : undefined;
    const read = async (key: string) => {
      const body = await storage.get(key, undefined, { chunkBytes: READ_CHUNK_BYTES });
      return throttle ? throttle.wrap(body) : body;
    };

    let sized = 0;
    const content = hideMetadata
      ? await contentWithoutMetadata(assets, {
          read,
          signal: controller.signal,
          onSized: (bytes) => {
            sized += bytes;
            progress?.report(sized);
          },
        })
      : contentAsIs(assets, {
          read,
          // positional reads straight into the archive's output buffers (fs store, reads not paced)
          openReader: throttle ? undefined : storage.openReader?.bind(storage),
        });
    if (content.entries.length === 0) {
      throw new UnrecoverableError(
        'None of the exported assets can be shared without its metadata (no strippable original, no preview)',
      );
    }
    const bytesTotal = sized + content.entries.reduce((sum, e) => sum + e.size, 0);
    progress.setTotal(bytesTotal);
    const plan = planExport(row, content.entries);

    const parts: ExportPartRecord[] = [];
    let partBase = sized;
    for (const part of plan) {
      const key = exportPartKey(exportId, part.index);
      const sources: ArchiveEntrySource[] = part.entries.map((entry) => ({
        name: entry.name,
        size: entry.size,
        modifiedAt: entry.modifiedAt,
        open: entry.open,
        ...(entry.openReader ? { openReader: entry.openReader } : {}),
      }));
      const writer = await storage.openWriter(key, { contentType: 'application/zip' });
      try {
        const base = partBase;
        const result = await writeZip(sources, writer.stream, {
          signal: controller.signal,
          onProgress: (done) => progress?.report(base + done),
          // reused output buffers only where the writer is done with a chunk when it calls back (fs)
          reuseBuffers: writer.releasesChunks === true,
        });
        const info = await writer.commit();
        if (info.size !== part.size) {
          log.warn(
            { part: part.index, predicted: part.size, actual: info.size },
            'part size differs from the prediction',
          );
        }
        parts.push({
          index: part.index,
          fileName: part.fileName,
          size: info.size,
          storageKey: key,
          entryCount: result.entryCount,
        });
      } catch (err) {
        await writer.abort().catch((e: unknown) => log.warn({ err: (e as Error).message }, 'aborting a part failed'));
        throw err;
      }
      partBase += part.entries.reduce((sum, e) => sum + e.size, 0);
    }

    await progress.stop();
    const done = await completeExport(db, exportId, {
      parts,
      bytesTotal,
      ttlHours: deps.ttlHours,
      hidesMetadata: hideMetadata,
      substitutions: content.substitutions,
      ...(correlationId ? { correlationId } : {}),
    });
    if (!done) throw new ExportDeletedError('the export was deleted while being built');
    log.info(
      { parts: parts.length, bytesTotal, hideMetadata, substitutions: content.substitutions.length },
      'export ready',
    );
    return { outcome: 'completed', exportId, parts: parts.length, bytesTotal };
  } catch (caught) {
    await progress?.stop();
    const err = controller.signal.aborted ? controller.signal.reason : caught;
    if (err instanceof ExportDeletedError) {
      await storage.deletePrefix(prefix).catch(() => {});
      log.info('export deleted while being built: discarded');
      return { outcome: 'skipped', exportId, reason: 'deleted' };
    }
    const noSpace = isInsufficientStorage(err);
    const message = noSpace ? NO_SPACE_MESSAGE : err instanceof Error ? err.message : String(err);
    if (noSpace) log.warn({ err: err instanceof Error ? err.message : String(err) }, 'storage full: export failed');
    const unfixable = noSpace || isUnfixable(err);
    if (unfixable || attempt.attempt >= attempt.maxAttempts) {
      await storage.deletePrefix(prefix).catch(() => {});
      await failExport(db, exportId, message, correlationId ? { correlationId } : {});
      log.warn({ err: message, attempt: attempt.attempt }, 'export failed for good');
    }
    if (unfixable && !(err instanceof UnrecoverableError)) throw new UnrecoverableError(message);
    throw err;
  }
}
