import type { AssetResponseDto, ExifResponseDto, SanitizedAssetDto } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { formatForMime } from '@immish/media';

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
 * - flags (`isFavorite`, `isArchived`, `isTrashed`, …) `false`, `hasMetadata: false`; `visibility` and
 *   `livePhotoVideoId` as stored (a Live Photo's pairing says nothing about where or by whom)
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
      visibility: row.visibility,
      originalMimeType: row.mime_type,
      livePhotoVideoId: row.live_photo_video_id,
      ...renditionOf(row),
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
    visibility: row.visibility,
    originalMimeType: row.mime_type,
    ...(opts.owner ? { owner: opts.owner } : {}),
    exifInfo: exifOf(row),
    libraryId: null,
    livePhotoVideoId: row.live_photo_video_id,
    ...renditionOf(row),
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
    livePhotoVideoId: row.live_photo_video_id,
  };
}

/** The web-playable rendition's state, for videos that need one (immish field; absent otherwise). */
function renditionOf(row: AssetRow): Pick<AssetResponseDto, 'rendition'> {
  if (row.rendition_status === null) return {};
  return { rendition: { status: row.rendition_status, progress: row.rendition_progress ?? 0 } };
}

/**
 * What a player is given for a video (README "Formats"): the web-playable rendition once it is made; the original
 * when ingest found it web-playable (no rendition asked for: `rendition_status` null); nothing while the rendition
 * of a non-web-playable original is queued, running or failed (the poster and the download still work).
 */
export function videoPlayback(
  row: Pick<AssetRow, 'type' | 'original_key' | 'mime_type' | 'rendition_key' | 'rendition_status'>,
): { key: string; contentType: string; source: 'rendition' | 'original' } | null {
  if (row.type !== 'VIDEO') return null;
  if (row.rendition_status === 'ready' && row.rendition_key) {
    return { key: row.rendition_key, contentType: 'video/mp4', source: 'rendition' };
  }
  if (row.rendition_status === null) return { key: row.original_key, contentType: row.mime_type, source: 'original' };
  return null;
}
