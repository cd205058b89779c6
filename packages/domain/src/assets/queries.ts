import { type NewEvent, noAccess } from '@immish/contracts';
import { type AssetRow, type Db, type NewAsset, OUTBOX_COLUMNS, outboxRowsWhen } from '@immish/db';
import { sql } from 'kysely';
import { assetNotTrashed } from '../access.ts';

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

/**
 * `insertAsset` and its events as ONE statement (data-modifying CTEs): the events are written if and only if the
 * asset is (docs/spec.md §6), without a transaction's BEGIN and COMMIT round trips. A unique violation fails the
 * whole statement, as it failed the transaction.
 */
export async function insertAssetWithEvents(db: Db, values: NewAsset, events: readonly NewEvent[]): Promise<void> {
  await db
    .with('inserted', (qb) => qb.insertInto('assets').values(values).returning('id'))
    .with('event', (qb) =>
      qb.insertInto('outbox_events').columns(OUTBOX_COLUMNS).expression(outboxRowsWhen('inserted', events)),
    )
    .selectFrom('inserted')
    .select('id')
    .execute();
}

/** The owner's assets with these checksums (one array parameter), the preferred one of each checksum first. */
export async function findOwnedByChecksums(db: Db, ownerId: string, checksums: readonly Buffer[]) {
  return db
    .selectFrom('assets')
    .select(['id', 'checksum', 'trashed_at'])
    .where('owner_id', '=', ownerId)
    .where(sql<boolean>`checksum = any(${checksums}::bytea[])`)
    .orderBy(ORIGIN_PREFERENCE)
    .orderBy('created_at')
    .execute();
}

/** Moves the assets not in the trash yet to it; the ones moved, with their owners. */
export async function markTrashed(trx: Db, ids: readonly string[]): Promise<Array<{ id: string; owner_id: string }>> {
  return trx
    .updateTable('assets')
    .set({ trashed_at: new Date(), updated_at: new Date() })
    .where('id', 'in', ids)
    .where('trashed_at', 'is', null)
    .returning(['id', 'owner_id'])
    .execute();
}

/** Albums whose thumbnail is one of `assetIds` get their newest live asset instead (or none). */
export async function replaceAlbumThumbnails(trx: Db, assetIds: readonly string[]): Promise<void> {
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
    .where('thumbnail_asset_id', 'in', assetIds)
    .execute();
}

/** Counts of the owner's assets (all, images, videos) in the trash or not, by favourite and visibility. */
export async function countOwnedAssets(
  db: Db,
  ownerId: string,
  filter: { trashed: boolean; isFavorite?: boolean; visibility: 'timeline' | 'hidden' },
): Promise<{ total: number; images: number; videos: number }> {
  let q = db
    .selectFrom('assets')
    .select((eb) => [
      eb.fn.countAll<string>().as('total'),
      eb.fn.count<string>('id').filterWhere('type', '=', 'IMAGE').as('images'),
      eb.fn.count<string>('id').filterWhere('type', '=', 'VIDEO').as('videos'),
    ])
    .where('owner_id', '=', ownerId);
  q = filter.trashed ? q.where('trashed_at', 'is not', null) : q.where('trashed_at', 'is', null);
  if (filter.isFavorite !== undefined) q = q.where('is_favorite', '=', filter.isFavorite);
  q = q.where('visibility', '=', filter.visibility);
  const row = await q.executeTakeFirstOrThrow();
  return { images: Number(row.images), videos: Number(row.videos), total: Number(row.total) };
}
