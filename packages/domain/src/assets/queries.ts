import { noAccess } from '@immish/contracts';
import type { AssetRow, Db, NewAsset } from '@immish/db';
import { sql } from 'kysely';

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
  'assets.visibility',
  'assets.live_photo_video_id',
  'assets.live_photo_cid',
  'assets.video_codec',
  'assets.rendition_key',
  'assets.rendition_status',
  'assets.rendition_progress',
  'assets.rendition_error',
] as const;

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
export const ORIGIN_PREFERENCE = sql<number>`(origin <> 'library')::int`;

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

/** A new asset row (an upload: `uploaded` until ingest), in the caller's transaction. */
export async function insertAsset(trx: Db, values: NewAsset): Promise<void> {
  await trx.insertInto('assets').values(values).execute();
}
