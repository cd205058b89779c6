import { createHash, randomUUID } from 'node:crypto';
import { finished, PassThrough, type Readable, Transform } from 'node:stream';
import { type Actor, DomainError, invalid, type NewEvent, tooLarge } from '@immish/contracts';
import { type AssetType, appendEvents, type Db, type NewAsset } from '@immish/db';
import { SUPPORTED_FORMATS } from '@immish/media';
import type { BlobStore } from '@immish/storage';
import { assetKeys, fileExtension } from '../assets/keys.ts';
import { findAssetByChecksum, insertAsset, insertAssetWithEvents } from '../assets/queries.ts';
import { parseDurationToMs } from '../assets/service.ts';
import { insertPendingUpload, remainingLinkUploadBytes, reserveLinkUploadBytes } from '../link-uploads/queries.ts';
import { finalizeUploadItem } from './batches.ts';
import { placeAssets, type UploadPlacement } from './placement.ts';
import { markItemStored, quotaUsage } from './queries.ts';

/**
 * Receiving uploaded files (docs/spec.md §4.2, §5.3). Shared by the links-api (`POST /api/assets`,
 * `POST /api/upload-batches`) and the share-gateway (`POST /share/:key/uploads`, `POST /api/assets?key=`):
 * the HTTP layer parses multipart and authorizes; everything after that is here.
 *
 * A file is streamed to storage while its SHA-1 and size are computed (never held in memory), then one
 * transaction inserts the asset (status `uploaded`) and its `asset.stored` event (→ ingest queue). Album/link
 * placement of new assets happens when the ingest worker finishes them (a file that fails ingest never shows up
 * in an album).
 *
 * Duplicates depend on who uploads (docs/spec.md §14 "What a link can reach"):
 * - the owner (links-api): a file whose checksum the owner already has is a duplicate: the stored copy is
 *   discarded and the existing asset is answered (and placed in the batch's album);
 * - a recipient through a link (`throughLink`): the owner's library is never consulted, so an upload can never
 *   place, reveal or name an asset that was already there. The only duplicate is an asset the link already
 *   shows (the recipient sees it anyway): it is answered and nothing is placed. Anything else becomes its own
 *   asset (`origin` 'shared-link', outside the owner's checksum uniqueness), even bytes the owner has.
 *
 * `shared-link.upload-received`: `receiveUploadBatch` writes it for a batch through a link; for a single
 * upload through a link (`POST /api/assets?key=`) the caller (share-gateway) writes it.
 *
 * Longer than the house's ~350 lines on purpose: store → commit → dedupe of one file is one pipeline whose steps
 * share the same clean-up on failure (nothing stays in storage); split, the clean-up would have to be spelled twice.
 * The batch state machine is batches.ts, placement placement.ts, the multipart-driven entry points receive.ts.
 */

export interface UploadDeps {
  db: Db;
  storage: BlobStore;
}

/**
 * An upload through a shared link (the recipient surface). `findShown` is the link's own dedupe: the id of an
 * asset the link already shows with this SHA-1, if any (the gateway's link-assets module answers it, the one
 * place that knows what a link shows).
 */
export interface ThroughLink {
  linkId: string;
  findShown(checksum: Buffer): Promise<string | undefined>;
  /**
   * Limited links (issue 19): counts this upload against the link's `maxUploads` in the transaction that records
   * it (throws the refusal when none is left, and the stored bytes are removed). Absent: nothing to count.
   */
  countUpload?(trx: Db): Promise<void>;
  /** issue 19: the link's uploads wait for the owner's review (`link_uploads`), unplaced (README "Guest-upload moderation") */
  review?: boolean;
}

/**
 * A link's byte budget (`maxUploadBytes`): a file is refused (413) as soon as it would exceed what is left, before
 * more is stored; the commit then takes its bytes atomically (link-uploads/queries.ts), so parallel uploads can
 * never take more than the budget together.
 */
const overLinkBudget = (fileName: string, left: number) =>
  tooLarge(
    `The file "${fileName}" does not fit in this link's upload budget (${left} bytes left); ask the link's owner for more`,
  );

/** What is left of the link's budget before a file is read (null: no budget, or not through a link). */
export async function linkBudgetLeft(db: Db, throughLink: ThroughLink | undefined): Promise<number | null> {
  return throughLink ? remainingLinkUploadBytes(db, throughLink.linkId) : null;
}

/** Immich's AssetMediaCreateDto fields, as received (multipart values are strings). */
export interface UploadMetadata {
  /** the name to record (Immich's optional `filename` field, else the part's file name) */
  fileName: string;
  fileCreatedAt?: string | Date;
  fileModifiedAt?: string | Date;
  deviceAssetId?: string;
  deviceId?: string;
  duration?: string;
  isFavorite?: boolean;
}

export interface StoredUpload {
  assetId: string;
  key: string;
  size: number;
  checksum: Buffer;
}

export interface UploadOutcome {
  status: 'created' | 'duplicate';
  assetId: string;
  size: number;
  checksum: Buffer;
}

/** The guessed type/MIME before the worker sniffs the content (from the name; corrected on ingest). */
function guessFromName(fileName: string): { type: AssetType; mime: string } {
  const ext = `.${fileExtension(fileName)}`;
  const f = SUPPORTED_FORMATS.find((format) => format.extensions.includes(ext));
  return f ? { type: f.assetType, mime: f.mime } : { type: 'OTHER', mime: 'application/octet-stream' };
}

function toDate(value: string | Date | undefined, field: string): Date {
  if (value === undefined || value === '') throw invalid(`${field} is required (ISO-8601 date-time)`);
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw invalid(`${field} must be an ISO-8601 date-time, got "${String(value)}"`);
  return d;
}

/** Validates the metadata before anything is written (so a bad request costs no storage). */
export function validateUploadMetadata(m: UploadMetadata): void {
  toDate(m.fileCreatedAt, 'fileCreatedAt');
  toDate(m.fileModifiedAt, 'fileModifiedAt');
  if (!m.fileName.trim()) throw invalid('the file has no name');
  if (m.fileName.length > 1024) throw invalid('the file name is longer than 1024 characters');
}

// Quota ----------------------------------------------------------------------------------------------

/** Throws 400 when the owner's quota (users.quota_bytes) cannot take `extraBytes` more. */
export async function assertQuota(db: Db, ownerId: string, extraBytes: number): Promise<void> {
  const usage = await quotaUsage(db, ownerId);
  if (!usage || usage.quota === null) return;
  const { quota, used } = usage;
  const total = used + extraBytes;
  if (total > quota || (extraBytes === 0 && used >= quota)) {
    throw invalid(
      `Quota has been exceeded: ${used} of ${quota} bytes are used` +
        (extraBytes > 0 ? ` and this file needs ${extraBytes} more` : '') +
        '; free space by deleting assets or ask an administrator for a larger quota',
    );
  }
}

// Step 1: stream to storage --------------------------------------------------------------------------

/**
 * Streams `file` to `assets/<ownerId>/<assetId>/original.<ext>` while hashing it. Refuses a file over
 * `maxFileBytes` (413: nothing stays stored; the rest of the input is drained, not destroyed, so a
 * multipart parser can go on with the next part). Also honours busboy's `limit` event / `truncated` flag.
 */
const truncatedUpload = (fileName: string) =>
  invalid(`The upload of "${fileName}" ended before the file was complete (truncated multipart body)`);

export async function storeUpload(
  storage: BlobStore,
  input: {
    ownerId: string;
    file: Readable;
    fileName: string;
    maxFileBytes: number;
    assetId?: string;
    /** a link's byte budget left (linkBudgetLeft): a tighter limit than maxFileBytes, with its own message */
    budgetLeft?: number | null;
  },
): Promise<StoredUpload> {
  const budgetLeft = input.budgetLeft ?? null;
  if (budgetLeft !== null && budgetLeft <= 0) throw overLinkBudget(input.fileName, 0);
  const byBudget = budgetLeft !== null && budgetLeft < input.maxFileBytes;
  const limit = byBudget ? budgetLeft : input.maxFileBytes;
  const assetId = input.assetId ?? randomUUID();
  const key = assetKeys(input.ownerId, assetId, fileExtension(input.fileName)).original;
  const hash = createHash('sha1');
  let size = 0;
  let over = false;
  const source = input.file as Readable & { truncated?: boolean };
  const onLimit = () => {
    over = true;
  };
  source.on('limit', onLimit);
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (over) return cb();
      size += chunk.length;
      if (size > limit) {
        over = true;
        return cb();
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  // A truncated multipart body destroys the file stream before the route sees it (the parser has already read
  // everything): no later 'error' or 'end' will come, so check now, and watch with finished(), which also
  // reports a stream that was destroyed before we looked.
  if (source.destroyed) throw truncatedUpload(input.fileName);
  const stopWatching = finished(source, { writable: false }, (err) => {
    if (err) meter.destroy(err.code === 'ERR_STREAM_PREMATURE_CLOSE' ? truncatedUpload(input.fileName) : err);
  });
  source.pipe(meter);
  try {
    await storage.put(key, meter);
  } catch (err) {
    source.unpipe(meter);
    if (!source.destroyed && !source.readableEnded) source.resume(); // drain: the parser must see the part end
    throw err;
  } finally {
    stopWatching();
    source.off('limit', onLimit);
  }
  if (over || source.truncated) {
    await storage.delete(key).catch(() => {});
    if (byBudget) throw overLinkBudget(input.fileName, limit);
    throw tooLarge(
      `The file "${input.fileName}" is larger than the limit of ${input.maxFileBytes} bytes (UPLOAD_MAX_FILE_BYTES)`,
    );
  }
  return { assetId, key, size, checksum: hash.digest() };
}

export interface CommitUploadInput {
  ownerId: string;
  actor: Actor;
  stored: StoredUpload;
  metadata: UploadMetadata;
  placement?: UploadPlacement;
  /** set for uploads through a link: no dedupe against the owner's library (see the module comment) */
  throughLink?: ThroughLink;
  batch?: { batchId: string; itemId: string };
  correlationId?: string;
}

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/**
 * Records a stored file: a new asset (+ `asset.stored`), or a duplicate (stored copy deleted): for the owner an
 * asset they already have (placed in the batch's album), through a link an asset the link already shows
 * (nothing placed). A concurrent owner upload of the same bytes loses the unique (owner, checksum) race of the
 * library's assets and becomes the duplicate; link uploads are outside that uniqueness.
 */
export async function commitUpload(deps: UploadDeps, input: CommitUploadInput): Promise<UploadOutcome> {
  const { db, storage } = deps;
  const { stored, metadata } = input;
  let fileCreatedAt: Date;
  let fileModifiedAt: Date;
  try {
    validateUploadMetadata(metadata);
    fileCreatedAt = toDate(metadata.fileCreatedAt, 'fileCreatedAt');
    fileModifiedAt = toDate(metadata.fileModifiedAt, 'fileModifiedAt');
    await assertQuota(db, input.ownerId, stored.size);
  } catch (err) {
    await storage.delete(stored.key).catch(() => {});
    throw err;
  }

  const duplicateId = input.throughLink
    ? await input.throughLink.findShown(stored.checksum)
    : (await findAssetByChecksum(db, input.ownerId, stored.checksum))?.id;
  if (duplicateId) return recordDuplicate(deps, input, duplicateId);

  const guess = guessFromName(metadata.fileName);
  const duration = parseDurationToMs(metadata.duration);
  // a reviewed link's upload is not placed when ingested: it waits for the owner (link-uploads/service.ts)
  const placement = input.throughLink?.review ? undefined : input.placement;
  const asset: NewAsset = {
    id: stored.assetId,
    owner_id: input.ownerId,
    type: guess.type,
    original_file_name: metadata.fileName,
    mime_type: guess.mime,
    size: stored.size,
    checksum: stored.checksum,
    original_key: stored.key,
    file_created_at: fileCreatedAt,
    file_modified_at: fileModifiedAt,
    // until ingest reads the capture time: the file's creation time, as Immich does
    local_date_time: fileCreatedAt,
    duration: duration === null ? null : String(duration),
    device_asset_id: metadata.deviceAssetId ?? null,
    device_id: metadata.deviceId ?? null,
    is_favorite: metadata.isFavorite ?? false,
    status: 'uploaded',
    origin: input.throughLink ? 'shared-link' : 'library',
  };
  const events: NewEvent[] = [
    {
      type: 'asset.stored',
      actor: input.actor,
      subject: { type: 'asset', id: stored.assetId },
      data: {
        assetId: stored.assetId,
        ownerId: input.ownerId,
        batchId: input.batch?.batchId ?? null,
        ...(placement?.albumId ? { albumId: placement.albumId } : {}),
        ...(placement?.sharedLinkId ? { sharedLinkId: placement.sharedLinkId } : {}),
      },
      ...(input.correlationId ? { correlationId: input.correlationId } : {}),
    },
    // a single upload through a link tells the owner in the same transaction (a batch does it once, at its end)
    ...(input.throughLink && !input.batch
      ? [
          {
            type: 'shared-link.upload-received' as const,
            actor: input.actor,
            subject: { type: 'shared-link' as const, id: input.throughLink.linkId },
            data: {
              linkId: input.throughLink.linkId,
              ownerId: input.ownerId,
              batchId: null,
              assetIds: [stored.assetId],
            },
            ...(input.correlationId ? { correlationId: input.correlationId } : {}),
          },
        ]
      : []),
  ];
  try {
    // The phones' plain upload (no batch item, no link): the asset and its event in one statement, one round
    // trip where BEGIN, two INSERTs and COMMIT took four (issue 17 item 4); as atomic (docs/spec.md §6).
    if (!input.batch && !input.throughLink) await insertAssetWithEvents(db, asset, events);
    else {
      await db.transaction().execute(async (trx) => {
        await input.throughLink?.countUpload?.(trx);
        await insertAsset(trx, asset);
        if (input.batch) await markItemStored(trx, input.batch.itemId, stored.assetId, stored.size);
        if (input.throughLink) await takeLinkBytes(trx, input.throughLink, stored, metadata.fileName);
        await appendEvents(trx, events);
      });
    }
  } catch (err) {
    // a link upload is never resolved to an owner asset, whatever the database says
    if (!isUniqueViolation(err) || input.throughLink) {
      await storage.delete(stored.key).catch(() => {});
      throw err;
    }
    const winner = await findAssetByChecksum(db, input.ownerId, stored.checksum);
    if (!winner) throw err;
    return recordDuplicate(deps, input, winner.id);
  }
  return { status: 'created', assetId: stored.assetId, size: stored.size, checksum: stored.checksum };
}

/** Through a link: the bytes from its budget (atomically; 413 when they no longer fit) and, when reviewed, the pending row. */
async function takeLinkBytes(trx: Db, link: ThroughLink, stored: StoredUpload, fileName: string): Promise<void> {
  if (!(await reserveLinkUploadBytes(trx, link.linkId, stored.size))) {
    const left = (await remainingLinkUploadBytes(trx, link.linkId)) ?? 0;
    throw overLinkBudget(fileName, left);
  }
  if (link.review) await insertPendingUpload(trx, { linkId: link.linkId, assetId: stored.assetId, bytes: stored.size });
}

async function recordDuplicate(deps: UploadDeps, input: CommitUploadInput, existingId: string): Promise<UploadOutcome> {
  await deps.storage.delete(input.stored.key).catch(() => {});
  // an owner's duplicate joins the batch's album; a link's duplicate is already shown by the link: nothing to place
  const placement = input.throughLink ? undefined : input.placement;
  await deps.db.transaction().execute(async (trx) => {
    const events = placement
      ? await placeAssets(trx, {
          placement,
          assetIds: [existingId],
          actor: input.actor,
          addedBy: input.actor.type === 'user' ? input.actor.id : null,
        })
      : [];
    if (input.batch) {
      events.push(
        ...(await finalizeUploadItem(trx, input.batch.batchId, input.batch.itemId, {
          status: 'duplicate',
          assetId: existingId,
          size: input.stored.size,
        })),
      );
    }
    await appendEvents(trx, events);
  });
  return { status: 'duplicate', assetId: existingId, size: input.stored.size, checksum: input.stored.checksum };
}

export interface ReceiveUploadInput {
  ownerId: string;
  actor: Actor;
  /** the file's bytes (e.g. a multipart file part's stream); read to the end */
  file: Readable;
  metadata: UploadMetadata;
  maxFileBytes: number;
  placement?: UploadPlacement;
  throughLink?: ThroughLink;
  batch?: { batchId: string; itemId: string };
  correlationId?: string;
}

/**
 * The whole upload of one file: quota pre-check, stream to storage while hashing, record (created or
 * duplicate). Errors are DomainErrors (400 bad metadata / quota, 413 too large); nothing stays stored.
 */
export async function receiveUpload(deps: UploadDeps, input: ReceiveUploadInput): Promise<UploadOutcome> {
  try {
    validateUploadMetadata(input.metadata);
    await assertQuota(deps.db, input.ownerId, 0);
  } catch (err) {
    drain(input.file);
    throw err;
  }
  let budgetLeft: number | null;
  try {
    budgetLeft = await linkBudgetLeft(deps.db, input.throughLink);
    if (budgetLeft !== null && budgetLeft <= 0) throw overLinkBudget(input.metadata.fileName, 0);
  } catch (err) {
    drain(input.file);
    throw err;
  }
  const stored = await storeUpload(deps.storage, {
    ownerId: input.ownerId,
    file: input.file,
    fileName: input.metadata.fileName,
    maxFileBytes: input.maxFileBytes,
    budgetLeft,
  });
  return commitUpload(deps, {
    ownerId: input.ownerId,
    actor: input.actor,
    stored,
    metadata: input.metadata,
    ...(input.placement ? { placement: input.placement } : {}),
    ...(input.throughLink ? { throughLink: input.throughLink } : {}),
    ...(input.batch ? { batch: input.batch } : {}),
    ...(input.correlationId ? { correlationId: input.correlationId } : {}),
  });
}

/** Reads and discards the rest of a stream (a multipart parser waits for each part to be consumed). */
export function drain(stream: Readable): void {
  if (stream.destroyed || stream.readableEnded) return;
  stream.pipe(new PassThrough().resume());
}

/**
 * `x-immich-checksum` short-circuit for the OWNER (links-api): when the owner already has a file with this SHA-1
 * (hex or base64), the duplicate is answered without reading the body. Null → upload it. Dedupe against the
 * library is an owner-side feature only: the recipient surface asks `ThroughLink.findShown` instead.
 */
export async function duplicateByChecksum(
  db: Db,
  input: { ownerId: string; checksum: Buffer },
): Promise<string | null> {
  const existing = await findAssetByChecksum(db, input.ownerId, input.checksum);
  return existing?.id ?? null;
}

/** A readable reason for a refused file (DomainErrors carry one; anything else is a server fault). */
export function uploadFailureReason(err: unknown): string {
  if (err instanceof DomainError) return err.message;
  return 'the file could not be stored (server error); upload it again';
}
