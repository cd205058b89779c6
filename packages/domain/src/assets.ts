import type {
  Actor,
  AssetBulkUploadCheckResult,
  AssetResponseDto,
  AssetStatsQuery,
  AssetStatsResponseDto,
  ExifResponseDto,
  SanitizedAssetDto,
} from '@immish/contracts';
import { invalid, noAccess } from '@immish/contracts';
import { type AssetRow, appendEvents, type Db } from '@immish/db';
import { formatForMime } from '@immish/media';
import { sql } from 'kysely';
import { assetNotTrashed } from './access.ts';

/** Every column of `assets` (for `selectFrom('assets').select(assetColumns)` in joins). */
export const assetColumns = [
  'assets.id',
  'assets.owner_id',
  'assets.type',
  'assets.original_file_name',
  'assets.mime_type',
  'assets.size',
  'assets.checksum',
  'assets.original_key',
  'assets.thumbnail_key',
  'assets.preview_key',
  'assets.width',
  'assets.height',
  'assets.thumbhash',
  'assets.file_created_at',
  'assets.file_modified_at',
  'assets.local_date_time',
  'assets.duration',
  'assets.device_asset_id',
  'assets.device_id',
  'assets.is_favorite',
  'assets.exif_make',
  'assets.exif_model',
  'assets.exif_lens_model',
  'assets.exif_exposure_time',
  'assets.exif_f_number',
  'assets.exif_focal_length',
  'assets.exif_iso',
  'assets.exif_date_time_original',
  'assets.exif_latitude',
  'assets.exif_longitude',
  'assets.exif_orientation',
  'assets.exif_description',
  'assets.status',
  'assets.error',
  'assets.created_at',
  'assets.updated_at',
  'assets.trashed_at',
  'assets.origin',
] as const;

/** The nil UUID: stands in for the owner id in sanitized responses (the field is required by Immich's schema). */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** Canonical extension (no dot) of an asset: from its detected MIME type, else its file name, else `bin`. */
export function assetExtension(row: Pick<AssetRow, 'mime_type' | 'original_file_name'>): string {
  const known = formatForMime(row.mime_type)?.ext;
  if (known) return known;
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(row.original_file_name);
  return m?.[1] ? m[1].toLowerCase() : 'bin';
}

/** `<asset id>.<ext>`: the file name used wherever a link hides metadata (docs/spec.md §5.3, §7). */
export const anonymousFileName = (row: Pick<AssetRow, 'id' | 'mime_type' | 'original_file_name'>): string =>
  `${row.id}.${assetExtension(row)}`;

/** The duration column holds milliseconds as text (null for still images). */
export function durationMs(value: string | null): number | null {
  if (value === null || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

/**
 * Normalizes a client-sent duration to milliseconds: Immich ≥ 2 sends integer ms; older clients send
 * `H:MM:SS.ffffff`. Anything else → null.
 */
export function parseDurationToMs(value: string | undefined | null): number | null {
  if (value == null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v));
  const m = /^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$/.exec(v);
  if (!m) return null;
  return Math.round((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000);
}

const iso = (d: Date): string => d.toISOString();

function exifOf(row: AssetRow): ExifResponseDto {
  return {
    make: row.exif_make,
    model: row.exif_model,
    exifImageWidth: row.width,
    exifImageHeight: row.height,
    fileSizeInByte: Number(row.size),
    orientation: row.exif_orientation === null ? null : String(row.exif_orientation),
    dateTimeOriginal: row.exif_date_time_original ? iso(row.exif_date_time_original) : null,
    modifyDate: iso(row.file_modified_at),
    timeZone: null,
    lensModel: row.exif_lens_model,
    fNumber: row.exif_f_number,
    focalLength: row.exif_focal_length,
    iso: row.exif_iso,
    exposureTime: row.exif_exposure_time,
    latitude: row.exif_latitude,
    longitude: row.exif_longitude,
    city: null,
    state: null,
    country: null,
    description: row.exif_description,
    projectionType: null,
    rating: null,
  };
}

/**
 * Row → Immich's AssetResponseDto (+ immish `status`/`error`).
 *
 * `hideMetadata` (links with showMetadata=false, docs/spec.md §5.3) reveals only what SanitizedAssetDto reveals
 * (id, type, thumbhash, MIME type, local date-time, duration, width, height). Immich's schema still requires
 * the other fields, so they get neutral values that carry no information:
 * - `originalFileName`: `<id>.<ext>` (ext from the detected MIME type); `originalPath`: `''`; `checksum`: `''`
 * - `ownerId`: the nil UUID `00000000-0000-0000-0000-000000000000`; no `owner`, no `exifInfo`
 * - `createdAt`, `updatedAt`, `fileCreatedAt`, `fileModifiedAt`: all equal to `localDateTime`
 * - flags (`isFavorite`, `isArchived`, `isTrashed`, …) `false`, `visibility: 'timeline'`, `hasMetadata: false`
 * - `status` is kept (it says whether a thumbnail exists yet), the failure `error` text is not.
 */
export function toAssetResponseDto(
  row: AssetRow,
  opts: { hideMetadata?: boolean; owner?: AssetResponseDto['owner'] } = {},
): AssetResponseDto {
  const thumbhash = row.thumbhash ? row.thumbhash.toString('base64') : null;
  const duration = durationMs(row.duration);
  if (opts.hideMetadata) {
    const local = iso(row.local_date_time);
    return {
      id: row.id,
      type: row.type,
      checksum: '',
      createdAt: local,
      updatedAt: local,
      fileCreatedAt: local,
      fileModifiedAt: local,
      localDateTime: local,
      duration,
      width: row.width,
      height: row.height,
      thumbhash,
      hasMetadata: false,
      isArchived: false,
      isEdited: false,
      isFavorite: false,
      isOffline: false,
      isTrashed: false,
      originalFileName: anonymousFileName(row),
      originalPath: '',
      ownerId: NIL_UUID,
      visibility: 'timeline',
      originalMimeType: row.mime_type,
      livePhotoVideoId: null,
      status: row.status,
    };
  }
  return {
    id: row.id,
    type: row.type,
    checksum: row.checksum.toString('base64'),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    fileCreatedAt: iso(row.file_created_at),
    fileModifiedAt: iso(row.file_modified_at),
    localDateTime: iso(row.local_date_time),
    duration,
    width: row.width,
    height: row.height,
    thumbhash,
    hasMetadata: true,
    isArchived: false,
    isEdited: false,
    isFavorite: row.is_favorite,
    isOffline: false,
    isTrashed: row.trashed_at !== null,
    originalFileName: row.original_file_name,
    // immish never exposes storage paths; the storage key is an internal detail.
    originalPath: '',
    ownerId: row.owner_id,
    visibility: 'timeline',
    originalMimeType: row.mime_type,
    ...(opts.owner ? { owner: opts.owner } : {}),
    exifInfo: exifOf(row),
    libraryId: null,
    livePhotoVideoId: null,
    duplicateId: null,
    stack: null,
    resized: row.thumbnail_key !== null,
    status: row.status,
    ...(row.status === 'failed' && row.error ? { error: row.error } : {}),
  };
}

/** The narrow sanitized shape (Immich's SanitizedAssetResponseDto). */
export function toSanitizedAssetDto(row: AssetRow): SanitizedAssetDto {
  return {
    id: row.id,
    type: row.type,
    thumbhash: row.thumbhash ? row.thumbhash.toString('base64') : null,
    originalMimeType: row.mime_type,
    localDateTime: iso(row.local_date_time),
    duration: durationMs(row.duration),
    width: row.width,
    height: row.height,
    hasMetadata: false,
    livePhotoVideoId: null,
  };
}

// Storage layout ----------------------------------------------------------------------------------

/**
 * Storage keys of an asset (docs/spec.md §9): everything of one asset under one prefix, so deleting an asset is
 * one prefix and an owner's data is one prefix too.
 *   assets/<ownerId>/<assetId>/original.<ext>   the uploaded bytes, as received
 *   assets/<ownerId>/<assetId>/thumbnail.webp   ≈250 px WebP, no metadata
 *   assets/<ownerId>/<assetId>/preview.jpg      ≈1440 px JPEG, no metadata
 * `<ext>` is the uploaded file name's extension (lower-case, `bin` when it has none); the served MIME type
 * comes from content sniffing (the row's mime_type), never from the key.
 */
export const assetKeys = (ownerId: string, assetId: string, ext: string) => {
  const prefix = `assets/${ownerId}/${assetId}`;
  return {
    prefix,
    original: `${prefix}/original.${ext}`,
    thumbnail: `${prefix}/thumbnail.webp`,
    preview: `${prefix}/preview.jpg`,
  };
};

/** Lower-case extension of a client file name, restricted to safe characters; `bin` when there is none. */
export function fileExtension(fileName: string): string {
  const m = /\.([A-Za-z0-9]{1,10})$/.exec(fileName);
  return m?.[1] ? m[1].toLowerCase() : 'bin';
}

// Checksums ----------------------------------------------------------------------------------------

/** SHA-1 as 40 hex digits or 28-char base64 (Immich accepts both) → 20 bytes; anything else → null. */
export function parseChecksum(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{40}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/]{27}=$/.test(v) || /^[A-Za-z0-9_-]{27}$/.test(v)) {
    const b = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return b.length === 20 ? b : null;
  }
  return null;
}

// Queries --------------------------------------------------------------------------------------------

export async function getAssetRow(db: Db, id: string): Promise<AssetRow | undefined> {
  return db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Like getAssetRow, but a missing asset is Immich's 400 "Not found or no access". Check access first. */
export async function requireAssetRow(db: Db, id: string): Promise<AssetRow> {
  const row = await getAssetRow(db, id);
  if (!row) throw noAccess();
  return row;
}

/**
 * The owner may hold the same bytes more than once (a link upload is always its own asset, docs/spec.md §14): owner-side
 * dedupe answers the library's own upload first (unique per owner), else the oldest link upload.
 */
const ORIGIN_PREFERENCE = sql<number>`(origin <> 'library')::int`;

/** The owner's asset with this SHA-1 (owner-side dedupe: every asset of the owner, library uploads first). */
export async function findAssetByChecksum(
  db: Db,
  ownerId: string,
  checksum: Buffer,
): Promise<Pick<AssetRow, 'id' | 'trashed_at'> | undefined> {
  return db
    .selectFrom('assets')
    .select(['id', 'trashed_at'])
    .where('owner_id', '=', ownerId)
    .where('checksum', '=', checksum)
    .orderBy(ORIGIN_PREFERENCE)
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
}

/**
 * Immich's bulk-upload-check: a checksum the owner already has → reject/duplicate with its `assetId`
 * (and `isTrashed`); else accept. One indexed query over (owner_id, checksum) for the whole list.
 */
export async function bulkUploadCheck(
  db: Db,
  ownerId: string,
  items: readonly { id: string; checksum: string }[],
): Promise<AssetBulkUploadCheckResult[]> {
  const parsed = items.map((item) => ({ item, sum: parseChecksum(item.checksum) }));
  const bad = parsed.find((p) => p.sum === null);
  if (bad) throw invalid(`checksum of "${bad.item.id}" must be a SHA-1 in hex (40 digits) or base64 (28 chars)`);
  const unique = [...new Map(parsed.map((p) => [p.sum!.toString('hex'), p.sum!])).values()];
  const found = new Map<string, { id: string; trashed: boolean }>();
  // One array parameter (not thousands of IN-list parameters): cheap to parse and plan, one index probe each.
  for (let i = 0; i < unique.length; i += 10_000) {
    const chunk = unique.slice(i, i + 10_000);
    const rows = await db
      .selectFrom('assets')
      .select(['id', 'checksum', 'trashed_at'])
      .where('owner_id', '=', ownerId)
      .where(sql<boolean>`checksum = any(${chunk}::bytea[])`)
      .orderBy(ORIGIN_PREFERENCE)
      .orderBy('created_at')
      .execute();
    // the first row per checksum is the one findAssetByChecksum answers (the same asset either way)
    for (const r of rows) {
      const hex = r.checksum.toString('hex');
      if (!found.has(hex)) found.set(hex, { id: r.id, trashed: r.trashed_at !== null });
    }
  }
  return parsed.map(({ item, sum }) => {
    const hit = found.get(sum!.toString('hex'));
    return hit
      ? { id: item.id, action: 'reject', reason: 'duplicate', assetId: hit.id, isTrashed: hit.trashed }
      : { id: item.id, action: 'accept' };
  });
}

/**
 * `DELETE /api/assets`: moves owned assets to the trash (sets trashed_at). immish has no trash emptying
 * yet, so `force` also only trashes (the row stays for dedupe; Immich's force deletes permanently).
 * The caller has checked `asset.delete` on every id. In the same transaction: albums whose thumbnail was
 * one of them get their newest live asset instead (every reader of the album row, the gateway's included,
 * then names no trashed asset), and an `asset.trashed` event, which makes every gateway drop its link
 * caches (the access module's trash rule then applies to recipients at once).
 */
export async function trashAssets(db: Db, actor: Actor, ids: readonly string[], correlationId?: string): Promise<void> {
  if (ids.length === 0) return;
  await db.transaction().execute(async (trx) => {
    const trashed = await trx
      .updateTable('assets')
      .set({ trashed_at: new Date(), updated_at: new Date() })
      .where('id', 'in', ids)
      .where('trashed_at', 'is', null)
      .returning(['id', 'owner_id'])
      .execute();
    if (trashed.length === 0) return;
    const trashedIds = trashed.map((a) => a.id);
    await trx
      .updateTable('albums')
      .set((eb) => ({
        thumbnail_asset_id: eb
          .selectFrom('album_assets')
          .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
          .select('assets.id')
          .whereRef('album_assets.album_id', '=', 'albums.id')
          .where(assetNotTrashed())
          .orderBy('assets.file_created_at', 'desc')
          .orderBy('assets.id')
          .limit(1),
      }))
      .where('thumbnail_asset_id', 'in', trashedIds)
      .execute();
    const byOwner = new Map<string, string[]>();
    for (const a of trashed) byOwner.set(a.owner_id, [...(byOwner.get(a.owner_id) ?? []), a.id]);
    await appendEvents(
      trx,
      [...byOwner].map(([ownerId, assetIds]) => ({
        type: 'asset.trashed' as const,
        actor,
        subject: { type: 'asset' as const, id: assetIds[0]! },
        data: { ownerId, assetIds },
        ...(correlationId ? { correlationId } : {}),
      })),
    );
  });
}

/** Immich's `GET /api/assets/statistics`: counts of the caller's own assets (not trashed unless asked). */
export async function assetStatistics(db: Db, ownerId: string, query: AssetStatsQuery): Promise<AssetStatsResponseDto> {
  let q = db
    .selectFrom('assets')
    .select((eb) => [
      eb.fn.countAll<string>().as('total'),
      eb.fn.count<string>('id').filterWhere('type', '=', 'IMAGE').as('images'),
      eb.fn.count<string>('id').filterWhere('type', '=', 'VIDEO').as('videos'),
    ])
    .where('owner_id', '=', ownerId);
  q = query.isTrashed ? q.where('trashed_at', 'is not', null) : q.where('trashed_at', 'is', null);
  if (query.isFavorite !== undefined) q = q.where('is_favorite', '=', query.isFavorite);
  // immish has no archive/hidden/locked: every asset is on the timeline.
  if (query.visibility !== undefined && query.visibility !== 'timeline') return { images: 0, videos: 0, total: 0 };
  const row = await q.executeTakeFirstOrThrow();
  return { images: Number(row.images), videos: Number(row.videos), total: Number(row.total) };
}
