import type { Database, Db, ExportRow, ExportsTable } from '@immish/db';
import { type Insertable, type SelectQueryBuilder, sql, type Updateable } from 'kysely';
import { assetNotTrashed } from '../access.ts';

/**
 * The SQL of exports. The rules (what may be reused, what a requester sees, the caps, the lifecycle's events)
 * are service.ts, limits.ts and lifecycle.ts; every function here runs in the caller's `db` or transaction.
 */

/** Whose exports a lookup may see: a user's own (not made through a link), or a link's. */
export type ExportScope = { userId: string } | { sharedLinkId: string };

/** Still queued, being built, or ready and not expired: what reuse and the caps count. */
const live = sql<boolean>`(status IN ('queued', 'running') OR (status = 'ready' AND expires_at > now()))`;

// Requesting -------------------------------------------------------------------------------------------------

/** The name of a live (not deleted) album; undefined when there is none. */
export async function findLiveAlbumName(db: Db, albumId: string): Promise<string | undefined> {
  const album = await db
    .selectFrom('albums')
    .select('name')
    .where('id', '=', albumId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return album?.name;
}

/**
 * The exportable assets (ready, not trashed) among `assetIds` (all when null), in the album when `albumId` is
 * given, in the timeline's order (one stable order for identical content).
 */
export async function selectExportableAssets(
  db: Db,
  filter: { albumId: string | null; assetIds: readonly string[] | null },
): Promise<Array<{ id: string; size: string; live_photo_video_id: string | null }>> {
  const { albumId, assetIds } = filter;
  let query = db
    .selectFrom('assets')
    .select(['assets.id', 'assets.size', 'assets.live_photo_video_id'])
    .where('assets.status', '=', 'ready')
    .where(assetNotTrashed());
  if (albumId !== null) {
    query = query.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('album_assets')
          .select(sql`1`.as('one'))
          .whereRef('album_assets.asset_id', '=', 'assets.id')
          .where('album_assets.album_id', '=', albumId),
      ),
    );
  }
  if (assetIds !== null) query = query.where(sql<boolean>`assets.id = any(${assetIds}::uuid[])`);
  return query.orderBy('assets.file_created_at', 'asc').orderBy('assets.id', 'asc').execute();
}

/** The ready, not trashed assets among `ids` (the motion parts of Live Photos). */
export async function findReadyAssetSizes(
  db: Db,
  ids: readonly string[],
): Promise<Array<{ id: string; size: string }>> {
  return db
    .selectFrom('assets')
    .select(['assets.id', 'assets.size'])
    .where('assets.id', 'in', ids)
    .where('assets.status', '=', 'ready')
    .where(assetNotTrashed())
    .execute();
}

/** Serializes a user's identical requests until the transaction ends (`scope`: user and content hash). */
export async function lockContentRequests(trx: Db, scope: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${scope}, 0))`.execute(trx);
}

/** The newest live export of the requester with this content and stripping mode. */
export async function findReusableExport(
  trx: Db,
  q: { contentHash: string; hidesMetadata: boolean; scope: ExportScope },
): Promise<ExportRow | undefined> {
  return scoped(
    trx
      .selectFrom('exports')
      .selectAll()
      .where('content_hash', '=', q.contentHash)
      .where('hides_metadata', '=', q.hidesMetadata)
      .where(live),
    q.scope,
  )
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export async function insertExport(trx: Db, values: Insertable<ExportsTable>): Promise<ExportRow> {
  return trx.insertInto('exports').values(values).returningAll().executeTakeFirstOrThrow();
}

/** The export, if it is the scope's. */
export async function findScopedExport(db: Db, scope: ExportScope, id: string): Promise<ExportRow | undefined> {
  return scoped(db.selectFrom('exports').selectAll().where('id', '=', id), scope).executeTakeFirst();
}

export async function deleteExportRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('exports').where('id', '=', id).execute();
}

/**
 * docs/spec.md §5.3 counters: one completed download of a link's export. The gateway calls it when a part
 * response delivered its last byte (see `serveExportPart`'s `deliversLastByte`).
 */
export async function countLinkExportDownload(db: Db, sharedLinkId: string): Promise<void> {
  await db
    .updateTable('shared_links')
    .set({ download_count: sql`download_count + 1`, last_accessed_at: new Date() })
    .where('id', '=', sharedLinkId)
    .execute();
}

// Caps (limits.ts) -------------------------------------------------------------------------------------------

/** A transaction-scoped advisory lock in the two-key space: `lockClass`, then the hash of `id`. */
export async function advisoryLock(trx: Db, lockClass: number, id: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${lockClass}, hashtext(${id}))`.execute(trx);
}

/** A link's live exports: how many are pending, how many kept, and the seconds until the first ready one expires. */
export async function linkExportCounts(
  trx: Db,
  sharedLinkId: string,
): Promise<{ pending: number; kept: number; secondsToFirstExpiry: number | null }> {
  const row = await trx
    .selectFrom('exports')
    .select([
      sql<string>`count(*) FILTER (WHERE status IN ('queued', 'running'))`.as('pending'),
      sql<string>`count(*)`.as('kept'),
      sql<string | null>`ceil(extract(epoch FROM min(expires_at) FILTER (WHERE status = 'ready') - now()))`.as(
        'secondsToFirstExpiry',
      ),
    ])
    .where('shared_link_id', '=', sharedLinkId)
    .where(live)
    .executeTakeFirstOrThrow();
  return {
    pending: Number(row.pending),
    kept: Number(row.kept),
    secondsToFirstExpiry: row.secondsToFirstExpiry === null ? null : Number(row.secondsToFirstExpiry),
  };
}

/** Exports queued or being built for one client (across every link). */
export async function clientPendingExports(trx: Db, clientKey: string): Promise<number> {
  const row = await trx
    .selectFrom('exports')
    .select(sql<string>`count(*)`.as('pending'))
    .where('client_key', '=', clientKey)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirstOrThrow();
  return Number(row.pending);
}

// The worker's side (lifecycle.ts) ---------------------------------------------------------------------------

/**
 * Starts an attempt: `queued`/`running` → `running`, attempts + 1, progress reset. Returns the row,
 * or undefined when there is nothing to do (deleted, or already ready/failed/expired: a redelivery).
 */
export async function beginExportAttempt(db: Db, exportId: string): Promise<ExportRow | undefined> {
  return db
    .updateTable('exports')
    .set((eb) => ({
      status: 'running',
      attempts: eb('attempts', '+', 1),
      bytes_done: 0,
      error: null,
      updated_at: new Date(),
    }))
    .where('id', '=', exportId)
    .where('status', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

/** The rows of these assets (any order; deleted ones are missing). */
export async function selectExportSourceRows(db: Db, assetIds: readonly string[]) {
  return db
    .selectFrom('assets')
    .select(['id', 'original_file_name', 'original_key', 'mime_type', 'preview_key', 'size', 'file_modified_at'])
    .where(sql<boolean>`id = any(${assetIds}::uuid[])`)
    .execute();
}

/** Whether the link shows metadata now; undefined when the link is gone. */
export async function linkShowsMetadata(db: Db, sharedLinkId: string): Promise<boolean | undefined> {
  const link = await db
    .selectFrom('shared_links')
    .select('show_metadata')
    .where('id', '=', sharedLinkId)
    .executeTakeFirst();
  return link?.show_metadata;
}

/** Progress of a running export; false when it is no longer running. */
export async function updateRunningExport(trx: Db, exportId: string, set: Updateable<ExportsTable>): Promise<boolean> {
  const res = await trx
    .updateTable('exports')
    .set(set)
    .where('id', '=', exportId)
    .where('status', '=', 'running')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** `running` → `ready` with these values; the row, or undefined when it is no longer running. */
export async function markExportReady(
  trx: Db,
  exportId: string,
  set: Updateable<ExportsTable>,
): Promise<ExportRow | undefined> {
  return trx
    .updateTable('exports')
    .set({ ...set, status: 'ready' })
    .where('id', '=', exportId)
    .where('status', '=', 'running')
    .returningAll()
    .executeTakeFirst();
}

/** `queued`/`running` → `failed`; false when already final or gone. */
export async function markExportFailed(trx: Db, exportId: string, message: string): Promise<boolean> {
  const res = await trx
    .updateTable('exports')
    .set({ status: 'failed', error: message, client_key: null, updated_at: new Date() })
    .where('id', '=', exportId)
    .where('status', 'in', ['queued', 'running'])
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Ready exports past their expiry, oldest first. */
export async function dueExportIds(db: Db, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('exports')
    .select('id')
    .where('status', '=', 'ready')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** `ready` → `expired` (its parts gone); false when it was not ready any more. */
export async function markExportExpired(db: Db, exportId: string): Promise<boolean> {
  const res = await db
    .updateTable('exports')
    .set({ status: 'expired', parts: '[]', updated_at: new Date() })
    .where('id', '=', exportId)
    .where('status', '=', 'ready')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** The scope's exports only: a user's own, not made through a link; or the link's. */
function scoped<O>(
  query: SelectQueryBuilder<Database, 'exports', O>,
  scope: ExportScope,
): SelectQueryBuilder<Database, 'exports', O> {
  return 'userId' in scope
    ? query.where('requested_by_user_id', '=', scope.userId).where('shared_link_id', 'is', null)
    : query.where('shared_link_id', '=', scope.sharedLinkId);
}
