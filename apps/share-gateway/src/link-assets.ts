import { type AssetRow, appendEvents, type Db } from '@immish/db';
import { noAccess } from '@immish/runtime';
import { sql } from 'kysely';
import type { ActiveLink } from './link-resolver.ts';

/**
 * The assets a link shows (SPEC §5.3, §10 "every recipient route checks the asset belongs to the link"):
 * the album's assets for an ALBUM link, the link's own assets for an INDIVIDUAL link. Trashed and failed
 * assets are not shown.
 */
function linkAssetsQuery(db: Db, link: ActiveLink) {
  const members =
    link.link.type === 'ALBUM'
      ? db
          .selectFrom('album_assets')
          .select('album_assets.asset_id')
          .where('album_assets.album_id', '=', link.link.album_id!)
      : db
          .selectFrom('shared_link_assets')
          .select('shared_link_assets.asset_id')
          .where('shared_link_assets.link_id', '=', link.link.id);
  return db
    .selectFrom('assets')
    .where('assets.id', 'in', members)
    .where('assets.trashed_at', 'is', null)
    .where('assets.status', '!=', 'failed');
}

/** The asset, when it belongs to the link; otherwise 400 "Not found or no access" (no existence leak). */
export async function requireLinkAsset(db: Db, link: ActiveLink, assetId: string): Promise<AssetRow> {
  const row = await linkAssetsQuery(db, link).selectAll('assets').where('assets.id', '=', assetId).executeTakeFirst();
  if (!row) throw noAccess('Asset not found in this shared link');
  return row;
}

/** Which of `assetIds` belong to the link. */
export async function linkAssetIdsAmong(db: Db, link: ActiveLink, assetIds: readonly string[]): Promise<Set<string>> {
  if (assetIds.length === 0) return new Set();
  const rows = await linkAssetsQuery(db, link).select('assets.id').where('assets.id', 'in', assetIds).execute();
  return new Set(rows.map((r) => r.id));
}

export async function countLinkAssets(db: Db, link: ActiveLink): Promise<number> {
  const row = await linkAssetsQuery(db, link)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** One page of the link's assets: album order (oldest/newest first per the album) or newest first. */
export async function listLinkAssets(
  db: Db,
  link: ActiveLink,
  page: { offset: number; limit: number } | null = null,
): Promise<AssetRow[]> {
  const direction = link.album?.sort_order === 'asc' ? 'asc' : 'desc';
  let q = linkAssetsQuery(db, link)
    .selectAll('assets')
    .orderBy('assets.file_created_at', direction)
    .orderBy('assets.id', direction);
  if (page) q = q.offset(page.offset).limit(page.limit);
  return q.execute();
}

export type LinkActivity = 'view' | 'download' | 'upload';

const counterColumn = {
  view: 'view_count',
  download: 'download_count',
  upload: 'upload_count',
} as const;

/**
 * Counts a page/`/me` view, a completed download or an upload: one UPDATE of the counter and
 * `last_accessed_at`; a view also writes `shared-link.viewed` in the same transaction. Media requests
 * (thumbnails…) are not views: a page of 200 thumbnails is one view.
 */
export async function recordLinkActivity(
  db: Db,
  linkId: string,
  activity: LinkActivity,
  by: number = 1,
  correlationId?: string,
): Promise<void> {
  const column = counterColumn[activity];
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('shared_links')
      .set({ [column]: sql`${sql.ref(column)} + ${by}`, last_accessed_at: sql`now()` } as never)
      .where('id', '=', linkId)
      .execute();
    if (activity === 'view') {
      await appendEvents(trx, [
        {
          type: 'shared-link.viewed',
          actor: { type: 'link', id: linkId },
          subject: { type: 'shared-link', id: linkId },
          data: { linkId },
          ...(correlationId ? { correlationId } : {}),
        },
      ]);
    }
  });
}
