import { noAccess, notFound } from '@immish/contracts';
import type { AlbumRow, AssetRow, Db, SharedLinkRow } from '@immish/db';
import { sql } from 'kysely';
import { assetNotTrashed, checkLinkAccess } from '../access.ts';

/** The parts of a resolved link (the gateway's ActiveLink) that decide which assets it shows, and in which order. */
export interface ShowingLink {
  link: Pick<SharedLinkRow, 'id' | 'type' | 'album_id' | 'allow_download' | 'allow_upload'>;
  album: Pick<AlbumRow, 'sort_order'> | null;
}

/**
 * The assets a link shows (docs/spec.md §5.3, §10 "every recipient route checks the asset belongs to the link"):
 * the album's assets for an ALBUM link, the link's own assets for an INDIVIDUAL link. Trashed and failed
 * assets are not shown.
 */
function linkAssetsQuery(db: Db, link: ShowingLink) {
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
  return (
    db
      .selectFrom('assets')
      .where('assets.id', 'in', members)
      .where(assetNotTrashed())
      .where('assets.status', '!=', 'failed')
      // the motion part of a Live Photo is shown through its still only (Immich's `hidden` visibility)
      .where('assets.visibility', '=', 'timeline')
  );
}

/**
 * The video to play for `assetId` through the link: the asset itself when it is a video the link shows, or the
 * motion part of a Live Photo whose still the link shows (asked for by the still's id or, as Immich's clients do,
 * by its `livePhotoVideoId`). The motion is reachable only through a still the recipient may see.
 */
export async function requireLinkVideo(
  db: Db,
  link: ShowingLink,
  assetId: string,
  shown?: AssetRow,
): Promise<AssetRow> {
  const row =
    shown ??
    (await linkAssetsQuery(db, link)
      .selectAll('assets')
      .where((eb) => eb.or([eb('assets.id', '=', assetId), eb('assets.live_photo_video_id', '=', assetId)]))
      .orderBy('assets.id')
      .limit(1)
      .executeTakeFirst());
  if (!row) throw noAccess('Asset not found in this shared link');
  if (row.type === 'VIDEO') return row;
  if (!row.live_photo_video_id) throw notFound('This asset has no video');
  const motion = await db
    .selectFrom('assets')
    .selectAll()
    .where('id', '=', row.live_photo_video_id)
    .where('owner_id', '=', row.owner_id)
    .where('status', '=', 'ready')
    .where(assetNotTrashed())
    .executeTakeFirst();
  if (!motion) throw notFound('The motion part of this Live Photo is not available');
  return motion;
}

/**
 * The asset, when the link shows it; otherwise the recipient access rule's refusal (checkLinkAccess: 400, no
 * existence leak).
 */
export async function requireLinkAsset(db: Db, link: ShowingLink, assetId: string): Promise<AssetRow> {
  const row = await linkAssetsQuery(db, link).selectAll('assets').where('assets.id', '=', assetId).executeTakeFirst();
  checkLinkAccess(link.link, 'link.view', [assetId], row ? [row.id] : []);
  return row!;
}

/**
 * The asset the link shows with this SHA-1, if any: the only dedupe an upload through a link may do (docs/spec.md §14:
 * the recipient sees these anyway; nothing else of the owner's library is ever looked at, placed or named).
 */
export async function shownAssetIdByChecksum(db: Db, link: ShowingLink, checksum: Buffer): Promise<string | undefined> {
  const row = await linkAssetsQuery(db, link)
    .select('assets.id')
    .where('assets.checksum', '=', checksum)
    .orderBy('assets.created_at')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
}

/** Which of `assetIds` belong to the link. */
export async function linkAssetIdsAmong(db: Db, link: ShowingLink, assetIds: readonly string[]): Promise<Set<string>> {
  if (assetIds.length === 0) return new Set();
  const rows = await linkAssetsQuery(db, link).select('assets.id').where('assets.id', 'in', assetIds).execute();
  return new Set(rows.map((r) => r.id));
}

export async function countLinkAssets(db: Db, link: ShowingLink): Promise<number> {
  const row = await linkAssetsQuery(db, link)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** One page of the link's assets: album order (oldest/newest first per the album) or newest first. */
export async function listLinkAssets(
  db: Db,
  link: ShowingLink,
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

export interface LinkAssetPosition {
  row: AssetRow;
  /** 0-based place of the asset in the link's order (listLinkAssets) */
  index: number;
  total: number;
  prev: string | null;
  next: string | null;
}

/**
 * Where an asset of the link stands in the link's order (the photo page: "3 / 120", previous, next), without
 * reading the whole list: indexed neighbour queries, ordered by (file_created_at, id) like listLinkAssets.
 * The anchor's sort key is compared inside SQL (a JavaScript Date would lose the microseconds). Null when the
 * asset is not the link's.
 */
export async function linkAssetPosition(db: Db, link: ShowingLink, assetId: string): Promise<LinkAssetPosition | null> {
  const row = await linkAssetsQuery(db, link).selectAll('assets').where('assets.id', '=', assetId).executeTakeFirst();
  if (!row) return null;
  const desc = link.album?.sort_order !== 'asc';
  const key = sql`(assets.file_created_at, assets.id)`;
  const anchor = sql`(select a.file_created_at, a.id from assets a where a.id = ${assetId})`;
  // "before" = shown earlier: a later key when newest-first, an earlier one when oldest-first
  const before = desc ? sql<boolean>`${key} > ${anchor}` : sql<boolean>`${key} < ${anchor}`;
  const after = desc ? sql<boolean>`${key} < ${anchor}` : sql<boolean>`${key} > ${anchor}`;
  const nearest = (side: typeof before, dir: 'asc' | 'desc') =>
    linkAssetsQuery(db, link)
      .select('assets.id')
      .where(side)
      .orderBy('assets.file_created_at', dir)
      .orderBy('assets.id', dir)
      .limit(1)
      .executeTakeFirst();
  const [earlier, prev, next, total] = await Promise.all([
    linkAssetsQuery(db, link)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where(before)
      .executeTakeFirstOrThrow(),
    nearest(before, desc ? 'asc' : 'desc'),
    nearest(after, desc ? 'desc' : 'asc'),
    countLinkAssets(db, link),
  ]);
  return { row, index: Number(earlier.n), total, prev: prev?.id ?? null, next: next?.id ?? null };
}
