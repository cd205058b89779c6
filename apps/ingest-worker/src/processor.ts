import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Actor, DomainEvent, EventPayload, NewEvent } from '@immish/contracts';
import { type AssetRow, type AssetUpdate, appendEvents, type Db } from '@immish/db';
import { finalizeUploadItem, placeAssets, type UploadPlacement } from '@immish/domain';
import {
  type Derivatives,
  genericThumbnail,
  isMediaError,
  type ProbeResult,
  probeMedia,
  renderDerivatives,
} from '@immish/media';
import { BlobNotFoundError, type BlobStore } from '@immish/storage';

export interface IngestDeps {
  db: Db;
  storage: BlobStore;
  /** decompression-bomb guard (INGEST_MAX_PIXELS) */
  maxPixels: number;
  /** keep the stored original of a file that failed (INGEST_KEEP_FAILED_ORIGINALS) */
  keepFailedOriginals: boolean;
  /** where originals are downloaded for decoding (default: the OS temp dir) */
  tempDir?: string;
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

/** Storage keys of the derivatives, next to the original (see `assetKeys` in @immish/domain). */
function derivativeKeys(row: AssetRow) {
  const prefix = row.original_key.slice(0, row.original_key.lastIndexOf('/'));
  return { thumbnail: `${prefix}/thumbnail.webp`, preview: `${prefix}/preview.jpg` };
}

/**
 * Processes one `asset.stored` event (SPEC §8): verify SHA-1, sniff by content, read metadata, render the
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

  const row = await deps.db.selectFrom('assets').selectAll().where('id', '=', assetId).executeTakeFirst();
  if (!row) return { outcome: 'skipped', assetId, reason: 'the asset no longer exists' };
  if (row.status === 'ready' || row.status === 'failed') {
    return { outcome: 'skipped', assetId, reason: `already ${row.status}` };
  }
  await markProcessing(deps.db, row, data.batchId);

  const dir = await mkdtemp(join(deps.tempDir ?? tmpdir(), 'immish-ingest-'));
  try {
    let probe: ProbeResult;
    let derivatives: Derivatives;
    try {
      const file = await download(deps.storage, row, join(dir, 'original'));
      probe = await probeMedia(file, { maxPixels: deps.maxPixels });
      derivatives =
        probe.assetType === 'IMAGE'
          ? await renderOrPlaceholder(file, probe, deps.maxPixels)
          : await genericThumbnail(probe.assetType, probe.mime);
    } catch (err) {
      if (!isContentError(err)) throw err;
      return await markFailed(deps, row, data, err.message);
    }
    const keys = derivativeKeys(row);
    await Promise.all([
      deps.storage.put(keys.thumbnail, derivatives.thumbnail, { contentType: 'image/webp' }),
      deps.storage.put(keys.preview, derivatives.preview, { contentType: 'image/jpeg' }),
    ]);
    return await markReady(deps, row, data, probe, derivatives, keys, event.correlationId);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An image sharp cannot decode here (HEIC with the prebuilt sharp) gets the generic placeholder. */
async function renderOrPlaceholder(file: string, probe: ProbeResult, maxPixels: number): Promise<Derivatives> {
  try {
    return await renderDerivatives(file, { maxPixels });
  } catch (err) {
    if (isMediaError(err) && err.code === 'UNSUPPORTED_TYPE') return genericThumbnail(probe.assetType, probe.mime);
    throw err;
  }
}

async function markProcessing(db: Db, row: AssetRow, batchId: string | null): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('assets')
      .set({ status: 'processing', updated_at: new Date() })
      .where('id', '=', row.id)
      .where('status', '=', 'uploaded')
      .execute();
    if (batchId) {
      await trx
        .updateTable('upload_items')
        .set({ status: 'processing', updated_at: new Date() })
        .where('batch_id', '=', batchId)
        .where('asset_id', '=', row.id)
        .where('status', 'in', ['receiving', 'stored'])
        .execute();
    }
  });
}

/** Copies the original to a temp file, verifying its SHA-1 against the one computed at upload. */
async function download(storage: BlobStore, row: AssetRow, path: string): Promise<string> {
  let body: NodeJS.ReadableStream;
  try {
    body = await storage.get(row.original_key);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new ContentError('the stored file is missing');
    throw err;
  }
  const hash = createHash('sha1');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  await pipeline(body, hasher, createWriteStream(path));
  if (!hash.digest().equals(row.checksum)) {
    throw new ContentError('the stored file does not match the SHA-1 computed at upload (storage corruption)');
  }
  return path;
}

/** Locks the asset row and tells whether this job still owns the outcome (not finished by another delivery). */
async function lockUnfinished(trx: Db, assetId: string): Promise<boolean> {
  const current = await trx
    .selectFrom('assets')
    .select('status')
    .where('id', '=', assetId)
    .forUpdate()
    .executeTakeFirst();
  return current !== undefined && current.status !== 'ready' && current.status !== 'failed';
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
  row: AssetRow,
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
    updated_at: new Date(),
  };
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
  const done = await deps.db.transaction().execute(async (trx) => {
    if (!(await lockUnfinished(trx, row.id))) return false;
    await trx.updateTable('assets').set(update).where('id', '=', row.id).execute();
    const events: NewEvent[] = [
      {
        type: 'asset.ingested',
        actor: SYSTEM,
        subject: { type: 'asset', id: row.id },
        data: { assetId: row.id, ownerId: row.owner_id, batchId: data.batchId },
        ...(correlationId ? { correlationId } : {}),
      },
    ];
    events.push(...(await placeAssets(trx, { placement, assetIds: [row.id], actor: SYSTEM, addedBy: row.owner_id })));
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

/** Final failure with a readable reason (no retry). Exported for the worker's last-attempt handling. */
export async function markFailed(
  deps: Pick<IngestDeps, 'db' | 'storage' | 'keepFailedOriginals'>,
  row: Pick<AssetRow, 'id' | 'owner_id' | 'original_key'>,
  data: Pick<EventPayload<'asset.stored'>, 'batchId'>,
  reason: string,
): Promise<IngestOutcome> {
  const done = await deps.db.transaction().execute(async (trx) => {
    if (!(await lockUnfinished(trx, row.id))) return false;
    await trx
      .updateTable('assets')
      .set({ status: 'failed', error: reason, updated_at: new Date() })
      .where('id', '=', row.id)
      .execute();
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
