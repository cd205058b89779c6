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
export async function linkAssetPosition(db: Db, link: ActiveLink, assetId: string): Promise<LinkAssetPosition | null> {
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

export type LinkActivity = 'view' | 'download' | 'upload';

export interface LinkActivityCounts {
  view: number;
  download: number;
  upload: number;
}

/**
 * Adds to a link's counters in one UPDATE (+ `last_accessed_at`), with one `shared-link.viewed` event for
 * the views it adds (`data.views`; the envelope carries the first view's correlation id) in the same
 * transaction. One event per counter write rather than per view: a popular link's views arrive by the
 * hundred per second and are written together (LinkActivityRecorder), and an outbox row per view would make
 * every view cost an event insert and a relay publish. Media requests (thumbnails…) are not views: a page
 * of 200 thumbnails is one view.
 */
export async function writeLinkActivity(
  db: Db,
  linkId: string,
  counts: LinkActivityCounts,
  viewCorrelationId?: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (counts.view > 0) {
      const correlationId = viewCorrelationId;
      await appendEvents(trx, [
        {
          type: 'shared-link.viewed' as const,
          actor: { type: 'link' as const, id: linkId },
          subject: { type: 'shared-link' as const, id: linkId },
          data: { linkId, views: counts.view },
          ...(correlationId ? { correlationId } : {}),
        },
      ]);
    }
    // last: the row lock (every view of a popular link takes it) is held only until the commit
    await trx
      .updateTable('shared_links')
      .set({
        view_count: sql`view_count + ${counts.view}`,
        download_count: sql`download_count + ${counts.download}`,
        upload_count: sql`upload_count + ${counts.upload}`,
        last_accessed_at: sql`now()`,
      } as never)
      .where('id', '=', linkId)
      .execute();
  });
}

/** Counts one view, completed download or upload (see writeLinkActivity). */
export async function recordLinkActivity(
  db: Db,
  linkId: string,
  activity: LinkActivity,
  by: number = 1,
  correlationId?: string,
): Promise<void> {
  const counts = { view: 0, download: 0, upload: 0, [activity]: by };
  await writeLinkActivity(db, linkId, counts, activity === 'view' ? correlationId : undefined);
}

interface PendingActivity extends LinkActivityCounts {
  /** the first view's correlation id (carried by the event) */
  viewCorrelationId: string | undefined;
  waiters: { resolve: () => void; reject: (e: unknown) => void }[];
}

/**
 * `recordLinkActivity` for hot paths: at most one write per link in flight. What arrives meanwhile is added
 * up and written by the next write, so a popular link costs one UPDATE per round trip instead of one per
 * request queueing on the row lock. Each caller's promise resolves once its increment is committed, so a
 * quiet link is counted exactly as before.
 */
export class LinkActivityRecorder {
  readonly #db: Db;
  readonly #pending = new Map<string, PendingActivity>();
  readonly #writing = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(db: Db) {
    this.#db = db;
  }

  /** Resolves once every increment recorded so far is written (shutdown: before the pool closes). */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  record(linkId: string, activity: LinkActivity, by = 1, correlationId?: string): Promise<void> {
    let p = this.#pending.get(linkId);
    if (!p) {
      p = { view: 0, download: 0, upload: 0, viewCorrelationId: undefined, waiters: [] };
      this.#pending.set(linkId, p);
    }
    p[activity] += by;
    if (activity === 'view') p.viewCorrelationId ??= correlationId;
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    this.#next(linkId);
    return done;
  }

  #next(linkId: string): void {
    if (this.#writing.has(linkId)) return;
    const p = this.#pending.get(linkId);
    if (!p) return;
    this.#pending.delete(linkId);
    this.#writing.add(linkId);
    const write = writeLinkActivity(this.#db, linkId, p, p.viewCorrelationId);
    this.#inFlight.add(write);
    write
      .then(
        () => {
          for (const w of p.waiters) w.resolve();
        },
        (e) => {
          for (const w of p.waiters) w.reject(e);
        },
      )
      .finally(() => {
        this.#inFlight.delete(write);
        this.#writing.delete(linkId);
        this.#next(linkId);
      });
  }
}
