import type { Db, LinkUploadRow, LinkUploadStatus } from '@immish/db';
import { sql } from 'kysely';

/**
 * SQL of guest-upload moderation (issue 19 item 3): the `link_uploads` rows of a reviewed link and the link's byte
 * budget (`shared_links.max_upload_bytes` / `upload_bytes`).
 */

/**
 * Takes `bytes` of the link's budget, atomically: one conditional UPDATE, so concurrent uploads serialize on the
 * link row and the second one re-reads what the first took (PostgreSQL re-checks the WHERE after the lock). False
 * when the budget cannot take them (nothing changed). Without a budget it only counts.
 */
export async function reserveLinkUploadBytes(trx: Db, linkId: string, bytes: number): Promise<boolean> {
  const row = await trx
    .updateTable('shared_links')
    .set({ upload_bytes: sql`upload_bytes + ${bytes}` })
    .where('id', '=', linkId)
    .where(sql<boolean>`(max_upload_bytes IS NULL OR upload_bytes + ${bytes} <= max_upload_bytes)`)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Gives bytes back to the link's budget (a rejected or expired upload no longer occupies storage). */
export async function releaseLinkUploadBytes(trx: Db, linkId: string, bytes: number): Promise<void> {
  if (bytes <= 0) return;
  await trx
    .updateTable('shared_links')
    .set({ upload_bytes: sql`greatest(upload_bytes - ${bytes}, 0)` })
    .where('id', '=', linkId)
    .execute();
}

/** What is left of the link's byte budget now (null: no budget). */
export async function remainingLinkUploadBytes(db: Db, linkId: string): Promise<number | null> {
  const row = await db
    .selectFrom('shared_links')
    .select(['max_upload_bytes', 'upload_bytes'])
    .where('id', '=', linkId)
    .executeTakeFirst();
  if (!row || row.max_upload_bytes === null) return null;
  return Math.max(0, Number(row.max_upload_bytes) - Number(row.upload_bytes));
}

export async function insertPendingUpload(
  trx: Db,
  input: { linkId: string; assetId: string; bytes: number },
): Promise<void> {
  await trx
    .insertInto('link_uploads')
    .values({ link_id: input.linkId, asset_id: input.assetId, bytes: input.bytes })
    .execute();
}

export interface LinkUploadListRow {
  asset_id: string;
  status: LinkUploadStatus;
  bytes: string;
  created_at: Date;
  decided_at: Date | null;
  original_file_name: string | null;
  type: string | null;
  thumbnail_key: string | null;
}

/** A link's uploads in one state, oldest first (a rejected one's asset is gone: its name and type are null). */
export async function listLinkUploadRows(
  db: Db,
  linkId: string,
  status: LinkUploadStatus,
  limit = 1000,
): Promise<LinkUploadListRow[]> {
  return db
    .selectFrom('link_uploads as u')
    .leftJoin('assets as a', 'a.id', 'u.asset_id')
    .select([
      'u.asset_id',
      'u.status',
      'u.bytes',
      'u.created_at',
      'u.decided_at',
      'a.original_file_name',
      'a.type',
      'a.thumbnail_key',
    ])
    .where('u.link_id', '=', linkId)
    .where('u.status', '=', status)
    .orderBy('u.created_at')
    .orderBy('u.asset_id')
    .limit(limit)
    .execute();
}

/** How many uploads of the link wait for the owner (the uploader's message on the share page). */
export async function countPendingUploads(db: Db, linkId: string): Promise<number> {
  const row = await db
    .selectFrom('link_uploads')
    .select(sql<string>`count(*)`.as('n'))
    .where('link_id', '=', linkId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The pending rows among `assetIds` of the link, locked for the decision (a concurrent decision waits). */
export async function lockPendingUploads(
  trx: Db,
  linkId: string,
  assetIds: readonly string[],
): Promise<Pick<LinkUploadRow, 'asset_id' | 'bytes'>[]> {
  if (assetIds.length === 0) return [];
  return trx
    .selectFrom('link_uploads')
    .select(['asset_id', 'bytes'])
    .where('link_id', '=', linkId)
    .where('asset_id', 'in', assetIds)
    .where('status', '=', 'pending')
    .forUpdate()
    .execute();
}

/** Which of `assetIds` are uploads of this link at all (any state): tells "not pending" from "not this link's". */
export async function linkUploadIdsAmong(db: Db, linkId: string, assetIds: readonly string[]): Promise<Set<string>> {
  if (assetIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('link_uploads')
    .select('asset_id')
    .where('link_id', '=', linkId)
    .where('asset_id', 'in', assetIds)
    .execute();
  return new Set(rows.map((r) => r.asset_id));
}

export async function markUploadsDecided(
  trx: Db,
  linkId: string,
  assetIds: readonly string[],
  status: 'approved' | 'rejected',
): Promise<void> {
  if (assetIds.length === 0) return;
  await trx
    .updateTable('link_uploads')
    .set({ status, decided_at: sql`now()` })
    .where('link_id', '=', linkId)
    .where('asset_id', 'in', assetIds)
    .execute();
}

/**
 * Deletes the assets of rejected uploads (anything referring to them cascades; the `link_uploads` row has no foreign
 * key to them and keeps the decision). Returns what their storage clean-up needs.
 */
export async function deleteUploadAssets(
  trx: Db,
  assetIds: readonly string[],
): Promise<Array<{ id: string; owner_id: string; original_key: string }>> {
  if (assetIds.length === 0) return [];
  return trx.deleteFrom('assets').where('id', 'in', assetIds).returning(['id', 'owner_id', 'original_key']).execute();
}

/** Pending uploads older than `before`, grouped by link (at most `limit` rows per run). */
export async function expiredPendingUploads(
  db: Db,
  before: Date,
  limit: number,
): Promise<Array<{ link_id: string; asset_id: string; owner_id: string }>> {
  return db
    .selectFrom('link_uploads as u')
    .innerJoin('shared_links as l', 'l.id', 'u.link_id')
    .select(['u.link_id', 'u.asset_id', 'l.owner_id'])
    .where('u.status', '=', 'pending')
    .where('u.created_at', '<', before)
    .orderBy('u.created_at')
    .limit(limit)
    .execute();
}
