import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Actor, DomainEvent, EventPayload, NewEvent } from '@immish/contracts';
import { type AssetRow, type AssetUpdate, appendEvents, type Db, OUTBOX_COLUMNS, outboxRowsWhen } from '@immish/db';
import { derivativeKeys, finalizeUploadItem, placeAssets, type UploadPlacement } from '@immish/domain';
import {
  type Derivatives,
  genericThumbnail,
  isMediaError,
  isWebPlayable,
  type MediaTools,
  NO_MEDIA_TOOLS,
  type ProbeResult,
  probeMedia,
  renderDerivatives,
  renderHeifDerivatives,
  renderVideoPoster,
} from '@immish/media';
import { BlobNotFoundError, type BlobStore, FsBlobStore } from '@immish/storage';
import { sql } from 'kysely';
import { ReadBufferPool } from './read-buffers.ts';

export interface IngestDeps {
  db: Db;
  storage: BlobStore;
  /** decompression-bomb guard (INGEST_MAX_PIXELS) */
  maxPixels: number;
  /** keep the stored original of a file that failed (INGEST_KEEP_FAILED_ORIGINALS) */
  keepFailedOriginals: boolean;
  /** where originals from a store other than fs (S3) are copied for decoding (default: the OS temp dir) */
  tempDir?: string;
  /**
   * The external decoders found at start-up (`detectMediaTools`): heif-convert for HEIC/HEIF, ffprobe/ffmpeg for
   * videos. A missing one leaves that format with today's placeholder (and readiness says so).
   */
  tools?: MediaTools;
  /**
   * The worker process's reused read buffers (built by main.ts, passed in by `startIngestWorker`); without one (a
   * test calling the processor directly) each fs checksum reads into a buffer of its own.
   */
  readBuffers?: ReadBufferPool;
}

export type IngestOutcome =
  | { outcome: 'ready'; assetId: string }
  | { outcome: 'failed'; assetId: string; reason: string }
  | { outcome: 'skipped'; assetId: string; reason: string };

const SYSTEM: Actor = { type: 'system', id: 'ingest-worker' };

/**
 * A failure that is the file's fault: the asset ends `failed` with this reason, and the job is not retried.
 * (MediaError from @immish/media is one too.) Anything else is a fault of ours or of a backing service:
 * it is thrown so BullMQ retries the job.
 */
export class ContentError extends Error {}

const isContentError = (err: unknown): err is Error => isMediaError(err) || err instanceof ContentError;

/**
 * Processes one `asset.stored` event (docs/spec.md §8): verify SHA-1, sniff by content, read metadata, render the
 * thumbnail (WebP), preview (JPEG) and thumbhash, then in ONE transaction: the asset row (ready), its
 * upload item, album/link placement, `asset.ingested`, and the batch's completion.
 *
 * Idempotent: an asset already `ready` or `failed` is skipped (a redelivered job changes nothing); a rerun
 * of an interrupted job overwrites the same keys with the same bytes.
 * Content problems (empty, truncated, corrupt, unsupported, too many pixels, checksum mismatch) → the asset
 * is `failed` with a readable reason and `asset.ingest-failed`, no retry. Other errors are thrown (retry).
 */
export async function processIngestJob(event: DomainEvent, deps: IngestDeps): Promise<IngestOutcome> {
  if (event.type !== 'asset.stored') throw new Error(`ingest: unexpected event type ${event.type}`);
  const data = event.data as EventPayload<'asset.stored'>;
  const assetId = data.assetId;

  const row = await claim(deps.db, assetId, data.batchId);
  if (!row) {
    const current = await deps.db.selectFrom('assets').select('status').where('id', '=', assetId).executeTakeFirst();
    if (!current) return { outcome: 'skipped', assetId, reason: 'the asset no longer exists' };
    return { outcome: 'skipped', assetId, reason: `already ${current.status}` };
  }

  const keys = derivativeKeys(row.original_key);
  // The preview is stored as soon as it is encoded (and the original verified), while the thumbnail is made.
  const early: { preview?: Promise<unknown> } = {};
  let original: Original | undefined;
  try {
    let probe: ProbeResult;
    let derivatives: Derivatives;
    try {
      original = await openOriginal(deps.storage, row, deps.tempDir, deps.readBuffers);
      const { verify } = original;
      const storePreview = (preview: Buffer) => {
        early.preview = verify().then(() => deps.storage.put(keys.preview, preview, { contentType: 'image/jpeg' }));
        early.preview.catch(() => {}); // awaited below
      };
      try {
        const input = await original.ready;
        const tools = deps.tools ?? NO_MEDIA_TOOLS;
        probe = await probeMedia(input, { maxPixels: deps.maxPixels, tools });
        verify(); // the checksum is read alongside the decoding (not competing with the probe's small reads)
        const phone = {
          maxPixels: deps.maxPixels,
          tools,
          onPreview: storePreview,
          ...(deps.tempDir ? { tempDir: deps.tempDir } : {}),
        };
        if (probe.assetType === 'IMAGE') {
          derivatives =
            probe.heif && tools.heifConvert
              ? await renderHeifDerivatives(input, probe.heif, phone)
              : await renderOrPlaceholder(input, probe, deps.maxPixels, storePreview);
        } else if (probe.video && tools.ffmpeg) {
          derivatives = await renderVideoPoster(input, probe.video, phone);
        } else {
          derivatives = await genericThumbnail(probe.assetType, probe.mime);
        }
      } finally {
        // a file that fails its checksum is failed for that, whatever else happened (and nothing is kept)
        await verify();
      }
    } catch (err) {
      if (!isContentError(err)) throw err;
      // a preview stored before a later step failed is not kept for a failed asset
      if (early.preview) await early.preview.then(() => deps.storage.delete(keys.preview)).catch(() => {});
      return await markFailed(deps, row, data, err.message);
    }
    await Promise.all([
      deps.storage.put(keys.thumbnail, derivatives.thumbnail, { contentType: 'image/webp' }),
      early.preview ?? deps.storage.put(keys.preview, derivatives.preview, { contentType: 'image/jpeg' }),
    ]);
    return await markReady(deps, row, data, probe, derivatives, keys, event.correlationId);
  } finally {
    await original?.dispose();
  }
}

/** An image sharp cannot decode here (HEIC with the prebuilt sharp) gets the generic placeholder. */
async function renderOrPlaceholder(
  input: string,
  probe: ProbeResult,
  maxPixels: number,
  onPreview: (preview: Buffer) => void,
): Promise<Derivatives> {
  try {
    return await renderDerivatives(input, { maxPixels, onPreview, ...(probe.image ? { header: probe.image } : {}) });
  } catch (err) {
    if (isMediaError(err) && err.code === 'UNSUPPORTED_TYPE') return genericThumbnail(probe.assetType, probe.mime);
    throw err;
  }
}

/** The columns a job needs (not the whole row: fewer values to send and parse, timestamps above all). */
const CLAIMED_COLUMNS = ['id', 'owner_id', 'original_key', 'checksum', 'duration'] as const;
type ClaimedAsset = Pick<AssetRow, (typeof CLAIMED_COLUMNS)[number]>;

/**
 * Marks an unfinished asset (`uploaded`, or `processing` when a job is retried) and its batch item `processing`,
 * and returns what the job needs of its row; undefined when it is missing or already finished. One statement,
 * so one round trip where a SELECT and a transaction took three or four, and atomic without a transaction (a
 * data-modifying CTE updates the batch item only when the asset was claimed).
 */
async function claim(db: Db, assetId: string, batchId: string | null): Promise<ClaimedAsset | undefined> {
  const now = new Date();
  const asset = db
    .updateTable('assets')
    .set({ status: 'processing', updated_at: now })
    .where('id', '=', assetId)
    .where('status', 'in', ['uploaded', 'processing'])
    .returning(CLAIMED_COLUMNS);
  if (!batchId) return asset.executeTakeFirst();
  return db
    .with('claimed', () => asset)
    .with('item', (qb) =>
      qb
        .updateTable('upload_items')
        .set({ status: 'processing', updated_at: now })
        .where('batch_id', '=', batchId)
        .where('asset_id', 'in', qb.selectFrom('claimed').select('id'))
        .where('status', 'in', ['receiving', 'stored'])
        .returning('upload_items.id'),
    )
    .selectFrom('claimed')
    .select(CLAIMED_COLUMNS)
    .executeTakeFirst();
}

const mismatch = () =>
  new ContentError('the stored file does not match the SHA-1 computed at upload (storage corruption)');

/** The original as a file to decode, and its SHA-1 verification. */
interface Original {
  /** Resolves to the path to decode (rejects as `verify()` does when there is none). */
  ready: Promise<string>;
  /**
   * Starts the SHA-1 check on the first call; resolves once the bytes matched the sum computed at upload,
   * rejects ContentError when they did not. Every call returns the same promise.
   */
  verify(): Promise<void>;
  /** Removes what was made for this job (a temp copy). */
  dispose(): Promise<void>;
}

/**
 * The fs driver's stored original is decoded in place, while its SHA-1 is verified from a separate read: no
 * copy to write, read back and delete, and the check runs alongside the decoding instead of before it. Nothing
 * derived from the file is kept unless `verify()` resolves. Other stores (S3): the original is copied to a temp
 * file, verified on the way, and decoded from there.
 *
 * Why a file and not memory: sharp reads a file natively, while an original held in a Buffer is several MiB of
 * JavaScript-visible memory per job, which makes V8 run far more full garbage collections (measured in the
 * ingest benchmark: several times the collector CPU, more than the file I/O saves).
 */
async function openOriginal(
  storage: BlobStore,
  row: ClaimedAsset,
  tempRoot: string | undefined,
  readBuffers: ReadBufferPool = new ReadBufferPool(),
): Promise<Original> {
  // Opened first: a store that is down, or a missing file, shows before anything is decoded.
  let body: Readable;
  try {
    body = await storage.get(row.original_key);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new ContentError('the stored file is missing');
    throw err;
  }
  if (storage instanceof FsBlobStore) {
    body.destroy(); // it told that the file is there; the checksum is read below with fewer, larger reads
    const path = storage.pathOf(row.original_key);
    let verifying: Promise<void> | undefined;
    const verify = () => {
      if (!verifying) {
        verifying = verifyFile(path, row, readBuffers);
        verifying.catch(() => {}); // awaited by the caller; this only keeps an early rejection from counting as unhandled
      }
      return verifying;
    };
    return { ready: Promise.resolve(path), verify, dispose: async () => {} };
  }
  const path = join(tempRoot ?? tmpdir(), `immish-ingest-${randomUUID()}`);
  let copy: FileHandle;
  try {
    copy = await open(path, 'wx');
  } catch (err) {
    body.destroy();
    throw err;
  }
  const verified = verifyOriginal(body, row, copy).finally(() => copy.close());
  verified.catch(() => {}); // as above
  return { ready: verified.then(() => path), verify: () => verified, dispose: () => rm(path, { force: true }) };
}

/** The SHA-1 check of a file read in place (the fs store): 1 MiB reads into a buffer of the worker's pool. */
async function verifyFile(path: string, row: ClaimedAsset, pool: ReadBufferPool): Promise<void> {
  const hash = createHash('sha1');
  const buffer = pool.take();
  try {
    let file: FileHandle;
    try {
      file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ELOOP') throw new ContentError('the stored file is missing');
      throw err;
    }
    try {
      for (;;) {
        const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
      }
    } finally {
      await file.close();
    }
  } finally {
    pool.give(buffer);
  }
  if (!hash.digest().equals(row.checksum)) throw mismatch();
}

/**
 * Copies the original's stream to `copy`, computing its SHA-1 on the way, and checks the sum against the one
 * computed at upload: throws ContentError when it differs.
 */
async function verifyOriginal(body: Readable, row: ClaimedAsset, copy: FileHandle): Promise<void> {
  const hash = createHash('sha1');
  try {
    // Copied chunks are written in batches of about WRITE_BATCH_BYTES: one write call per MiB rather than per
    // 64 KiB chunk (each is a round trip through the libuv pool, which sharp keeps busy on an ingest worker).
    let batch: Buffer[] = [];
    let batchBytes = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes >= WRITE_BATCH_BYTES) {
        await writeAll(copy, batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await writeAll(copy, batch);
  } finally {
    body.destroy();
  }
  if (!hash.digest().equals(row.checksum)) throw mismatch();
}

const WRITE_BATCH_BYTES = 1024 * 1024;

async function writeAll(file: FileHandle, chunks: Buffer[]): Promise<void> {
  let pending = chunks;
  while (pending.length > 0) {
    let { bytesWritten } = await file.writev(pending);
    if (bytesWritten === 0) throw new Error('writing the temp copy of the original made no progress');
    // a short write (rare on a regular file): continue after the bytes that were written
    const rest: Buffer[] = [];
    for (const chunk of pending) {
      if (bytesWritten >= chunk.length) bytesWritten -= chunk.length;
      else {
        rest.push(bytesWritten > 0 ? chunk.subarray(bytesWritten) : chunk);
        bytesWritten = 0;
      }
    }
    pending = rest;
  }
}

/**
 * Writes the asset's outcome unless another delivery already finished it: the UPDATE locks the row, and a
 * concurrent delivery waiting on that lock re-checks the status once it is released (so exactly one wins).
 * One round trip where a SELECT … FOR UPDATE and an UPDATE took two. Tells whether this job wrote it.
 */
async function finishAsset(trx: Db, assetId: string, update: AssetUpdate): Promise<boolean> {
  const written = await trx
    .updateTable('assets')
    .set(update)
    .where('id', '=', assetId)
    .where('status', 'not in', ['ready', 'failed'])
    .returning('id')
    .executeTakeFirst();
  return written !== undefined;
}

/**
 * `finishAsset` and its one event as ONE statement (data-modifying CTEs) for an asset with nothing else to
 * update (no batch item, no album or link placement): one round trip where BEGIN, UPDATE, INSERT and COMMIT
 * took four, and as atomic (docs/spec.md §6: the event is written if and only if the asset is).
 */
async function finishWithEvent(db: Db, assetId: string, update: AssetUpdate, event: NewEvent): Promise<boolean> {
  const written = await db
    .with('finished', (qb) =>
      qb
        .updateTable('assets')
        .set(update)
        .where('id', '=', assetId)
        .where('status', 'not in', ['ready', 'failed'])
        .returning('id'),
    )
    .with('event', (qb) =>
      qb
        .insertInto('outbox_events')
        .columns(OUTBOX_COLUMNS)
        .expression(outboxRowsWhen('finished', [event])),
    )
    .selectFrom('finished')
    .select('id')
    .executeTakeFirst();
  return written !== undefined;
}

async function itemOf(trx: Db, batchId: string | null, assetId: string): Promise<string | null> {
  if (!batchId) return null;
  const item = await trx
    .selectFrom('upload_items')
    .select('id')
    .where('batch_id', '=', batchId)
    .where('asset_id', '=', assetId)
    .executeTakeFirst();
  return item?.id ?? null;
}

async function markReady(
  deps: IngestDeps,
  row: ClaimedAsset,
  data: EventPayload<'asset.stored'>,
  probe: ProbeResult,
  derivatives: Derivatives,
  keys: { thumbnail: string; preview: string },
  correlationId: string | undefined,
): Promise<IngestOutcome> {
  const exif = probe.exif;
  const update: AssetUpdate = {
    status: 'ready',
    error: null,
    type: probe.assetType,
    mime_type: probe.mime,
    width: probe.width,
    height: probe.height,
    thumbhash: derivatives.thumbhash,
    thumbnail_key: keys.thumbnail,
    preview_key: keys.preview,
    exif_make: exif.make,
    exif_model: exif.model,
    exif_lens_model: exif.lensModel,
    exif_exposure_time: exif.exposureTime,
    exif_f_number: exif.fNumber,
    exif_focal_length: exif.focalLength,
    exif_iso: exif.iso,
    exif_date_time_original: exif.dateTimeOriginal,
    exif_latitude: exif.latitude,
    exif_longitude: exif.longitude,
    exif_orientation: exif.orientation,
    exif_description: exif.description,
    video_codec: probe.video?.videoCodec ?? null,
    live_photo_cid: probe.contentIdentifier ?? null,
    updated_at: new Date(),
  };
  // A browser cannot play this original: an H.264 rendition is made by the `renditions` queue (README "Formats").
  const wantsRendition =
    probe.video !== undefined && !isWebPlayable(probe.video) && (deps.tools?.ffmpeg ?? null) !== null;
  if (wantsRendition) {
    update.rendition_status = 'queued';
    update.rendition_progress = 0;
  }
  // The capture time, when the file records one, is the asset's date (as Immich): timeline and sorting.
  if (probe.fileCreatedAt) update.file_created_at = probe.fileCreatedAt;
  if (probe.localDateTime) update.local_date_time = probe.localDateTime;
  if (probe.durationSeconds !== null && row.duration === null) {
    update.duration = String(Math.round(probe.durationSeconds * 1000));
  }
  const placement: UploadPlacement = {
    ...(data.albumId ? { albumId: data.albumId } : {}),
    ...(data.sharedLinkId ? { sharedLinkId: data.sharedLinkId } : {}),
  };
  const ingested: NewEvent = {
    type: 'asset.ingested',
    actor: SYSTEM,
    subject: { type: 'asset', id: row.id },
    data: { assetId: row.id, ownerId: row.owner_id, batchId: data.batchId },
    ...(correlationId ? { correlationId } : {}),
  };
  const simple =
    !data.batchId && !placement.albumId && !placement.sharedLinkId && !wantsRendition && !probe.contentIdentifier;
  const done = simple
    ? await finishWithEvent(deps.db, row.id, update, ingested)
    : await deps.db.transaction().execute(async (trx) => {
        if (!(await finishAsset(trx, row.id, update))) return false;
        const events: NewEvent[] = [ingested];
        if (wantsRendition) {
          events.push({
            type: 'asset.rendition-requested',
            actor: SYSTEM,
            subject: { type: 'asset', id: row.id },
            data: { assetId: row.id, ownerId: row.owner_id },
            ...(correlationId ? { correlationId } : {}),
          });
        }
        if (probe.contentIdentifier) await pairLivePhoto(trx, row, probe);
        events.push(
          ...(await placeAssets(trx, { placement, assetIds: [row.id], actor: SYSTEM, addedBy: row.owner_id })),
        );
        const itemId = await itemOf(trx, data.batchId, row.id);
        if (data.batchId && itemId) {
          events.push(...(await finalizeUploadItem(trx, data.batchId, itemId, { status: 'ready', assetId: row.id })));
        }
        await appendEvents(trx, events);
        return true;
      });
  return done
    ? { outcome: 'ready', assetId: row.id }
    : { outcome: 'skipped', assetId: row.id, reason: 'finished by another delivery' };
}

/**
 * Live Photos (Immich's pairing): a still and a video of the same owner carrying the same Apple content identifier
 * are one Live Photo. The still gets `live_photo_video_id`, the video is hidden (kept, exported with its still).
 * Whichever arrives second pairs them; an advisory lock on (owner, identifier) makes two files finishing at the
 * same moment serialise, so the second always sees the first. Idempotent: pairing again writes the same values.
 */
async function pairLivePhoto(trx: Db, row: ClaimedAsset, probe: ProbeResult): Promise<void> {
  const cid = probe.contentIdentifier as string;
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`live-photo:${row.owner_id}:${cid}`}, 0))`.execute(trx);
  const partner = await trx
    .selectFrom('assets')
    .select(['id', 'type'])
    .where('owner_id', '=', row.owner_id)
    .where('live_photo_cid', '=', cid)
    .where('id', '<>', row.id)
    .where('status', '=', 'ready')
    .where('trashed_at', 'is', null)
    .where('type', '=', probe.assetType === 'VIDEO' ? 'IMAGE' : 'VIDEO')
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!partner) return;
  const [stillId, videoId] = probe.assetType === 'VIDEO' ? [partner.id, row.id] : [row.id, partner.id];
  await trx.updateTable('assets').set({ live_photo_video_id: videoId }).where('id', '=', stillId).execute();
  await trx.updateTable('assets').set({ visibility: 'hidden' }).where('id', '=', videoId).execute();
}

/** Final failure with a readable reason (no retry). Exported for the worker's last-attempt handling. */
export async function markFailed(
  deps: Pick<IngestDeps, 'db' | 'storage' | 'keepFailedOriginals'>,
  row: Pick<AssetRow, 'id' | 'owner_id' | 'original_key'>,
  data: Pick<EventPayload<'asset.stored'>, 'batchId'>,
  reason: string,
): Promise<IngestOutcome> {
  const done = await deps.db.transaction().execute(async (trx) => {
    if (!(await finishAsset(trx, row.id, { status: 'failed', error: reason, updated_at: new Date() }))) return false;
    const events: NewEvent[] = [
      {
        type: 'asset.ingest-failed',
        actor: SYSTEM,
        subject: { type: 'asset', id: row.id },
        data: { assetId: row.id, ownerId: row.owner_id, batchId: data.batchId, reason },
      },
    ];
    const itemId = await itemOf(trx, data.batchId, row.id);
    if (data.batchId && itemId) {
      events.push(
        ...(await finalizeUploadItem(trx, data.batchId, itemId, { status: 'failed', assetId: row.id, error: reason })),
      );
    }
    await appendEvents(trx, events);
    return true;
  });
  if (!done) return { outcome: 'skipped', assetId: row.id, reason: 'finished by another delivery' };
  if (!deps.keepFailedOriginals) await deps.storage.delete(row.original_key).catch(() => {});
  return { outcome: 'failed', assetId: row.id, reason };
}
