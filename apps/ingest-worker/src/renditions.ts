import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { DomainEvent, EventPayload } from '@immish/contracts';
import type { Db } from '@immish/db';
import { derivativeKeys } from '@immish/domain';
import { isMediaError, type MediaTools, makeRendition, probeVideoFile } from '@immish/media';
import { BlobNotFoundError, type BlobStore, FsBlobStore } from '@immish/storage';

export interface RenditionDeps {
  db: Db;
  storage: BlobStore;
  tools: MediaTools;
  tempDir?: string;
  /** job progress (0–100), e.g. BullMQ's `job.updateProgress` */
  onProgress?: (percent: number) => Promise<void> | void;
  signal?: AbortSignal;
}

export type RenditionOutcome =
  | { outcome: 'ready'; assetId: string; key: string }
  | { outcome: 'failed'; assetId: string; reason: string }
  | { outcome: 'skipped'; assetId: string; reason: string };

/** Beside the original, under the asset's prefix (docs/spec.md §9: one prefix per asset): domain's asset keys. */
export const renditionKey = (originalKey: string): string => derivativeKeys(originalKey).rendition;

/** The database's progress is written at most this often (in percent points): a few writes per video, not hundreds. */
const PROGRESS_STEP = 5;

/**
 * Processes one `asset.rendition-requested` event (queue `renditions`): transcodes the original into the
 * web-playable H.264/AAC MP4 (`makeRendition`), stores it as `<prefix>/rendition.mp4`, and records it on the asset
 * (`rendition_key`, status `ready`, progress 100). Progress goes to the job and, every 5 %, to the asset row
 * (shown by the API as `rendition.progress`).
 *
 * Idempotent: an asset whose rendition is ready, or that is gone or trashed, is skipped; a rerun after a crash
 * transcodes again and overwrites the same key. A file ffmpeg cannot transcode ends `failed` with the reason (no
 * retry; the original is still served as a download); anything else is thrown so BullMQ retries.
 */
export async function processRenditionJob(event: DomainEvent, deps: RenditionDeps): Promise<RenditionOutcome> {
  if (event.type !== 'asset.rendition-requested') throw new Error(`renditions: unexpected event ${event.type}`);
  const { assetId } = event.data as EventPayload<'asset.rendition-requested'>;
  const row = await deps.db
    .selectFrom('assets')
    .select(['id', 'type', 'original_key', 'rendition_status', 'trashed_at', 'status'])
    .where('id', '=', assetId)
    .executeTakeFirst();
  if (!row) return { outcome: 'skipped', assetId, reason: 'the asset no longer exists' };
  if (row.type !== 'VIDEO' || row.status !== 'ready')
    return { outcome: 'skipped', assetId, reason: 'not a ready video' };
  if (row.rendition_status === 'ready') return { outcome: 'skipped', assetId, reason: 'already made' };
  if (row.trashed_at !== null) return { outcome: 'skipped', assetId, reason: 'the asset is in the trash' };
  if (!deps.tools.ffmpeg) throw new Error('ffmpeg is not installed: renditions wait for it');

  await deps.db
    .updateTable('assets')
    .set({ rendition_status: 'running', rendition_progress: 0, rendition_error: null })
    .where('id', '=', assetId)
    .execute();

  const dir = deps.tempDir ?? tmpdir();
  const output = join(dir, `immish-rendition-${randomUUID()}.mp4`);
  let copy: string | undefined;
  try {
    let input: string;
    if (deps.storage instanceof FsBlobStore) input = deps.storage.pathOf(row.original_key);
    else {
      copy = join(dir, `immish-rendition-src-${randomUUID()}`);
      await pipeline(await deps.storage.get(row.original_key), createWriteStream(copy));
      input = copy;
    }
    let written = 0;
    try {
      const info = await probeVideoFile(input, deps.signal);
      await makeRendition(input, output, info, {
        ...(deps.signal ? { signal: deps.signal } : {}),
        onProgress: (fraction) => {
          const percent = Math.floor(fraction * 100);
          void deps.onProgress?.(percent);
          if (percent >= written + PROGRESS_STEP && percent < 100) {
            written = percent;
            void deps.db
              .updateTable('assets')
              .set({ rendition_progress: percent })
              .where('id', '=', assetId)
              .where('rendition_status', '=', 'running')
              .execute()
              .catch(() => {}); // progress is advisory; the final write below is not
          }
        },
      });
    } catch (error) {
      if (!isMediaError(error)) throw error;
      const reason = `the video cannot be converted for the browser: ${error.message}`;
      await deps.db
        .updateTable('assets')
        .set({ rendition_status: 'failed', rendition_error: reason })
        .where('id', '=', assetId)
        .execute();
      return { outcome: 'failed', assetId, reason };
    }
    const key = renditionKey(row.original_key);
    await deps.storage.put(key, createReadStream(output), { contentType: 'video/mp4' });
    await deps.db
      .updateTable('assets')
      .set({ rendition_key: key, rendition_status: 'ready', rendition_progress: 100, rendition_error: null })
      .where('id', '=', assetId)
      .execute();
    return { outcome: 'ready', assetId, key };
  } catch (error) {
    if (error instanceof BlobNotFoundError) {
      const reason = 'the stored original is missing';
      await deps.db
        .updateTable('assets')
        .set({ rendition_status: 'failed', rendition_error: reason })
        .where('id', '=', assetId)
        .execute();
      return { outcome: 'failed', assetId, reason };
    }
    throw error;
  } finally {
    await rm(output, { force: true });
    if (copy) await rm(copy, { force: true });
  }
}
