import { type AssetRow, appendEvents, type Db } from '@immish/db';
import { assetNotTrashed } from '@immish/domain';
import { noAccess } from '@immish/runtime';
import { sql } from 'kysely';
import type { ActiveLink } from './link-resolver.ts';

/**
 * The assets a link shows (docs/spec.md §5.3, §10 "every recipient route checks the asset belongs to the link"):
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
    .where(assetNotTrashed())
    .where('assets.status', '!=', 'failed');
}

/** The asset, when it belongs to the link; otherwise 400 "Not found or no access" (no existence leak). */
export async function requireLinkAsset(db: Db, link: ActiveLink, assetId: string): Promise<AssetRow> {
  const row = await linkAssetsQuery(db, link).selectAll('assets').where('assets.id', '=', assetId).executeTakeFirst();
  if (!row) throw noAccess('Asset not found in this shared link');
  return row;
}

/**
 * The asset the link shows with this SHA-1, if any: the only dedupe an upload through a link may do (docs/spec.md §14:
 * the recipient sees these anyway; nothing else of the owner's library is ever looked at, placed or named).
 */
export async function shownAssetIdByChecksum(db: Db, link: ActiveLink, checksum: Buffer): Promise<string | undefined> {
  const row = await linkAssetsQuery(db, link)
    .select('assets.id')
    .where('assets.checksum', '=', checksum)
    .orderBy('assets.created_at')
    .limit(1)
    .executeTakeFirst();
  return row?.id;
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
async function writeLinkActivity(
  db: Db,
  linkId: string,
  counts: LinkActivityCounts,
  viewCorrelationId?: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (counts.view > 0) {
      await appendEvents(trx, [
        {
          type: 'shared-link.viewed' as const,
          actor: { type: 'link' as const, id: linkId },
          subject: { type: 'shared-link' as const, id: linkId },
          data: { linkId, views: counts.view },
          ...(viewCorrelationId ? { correlationId: viewCorrelationId } : {}),
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

interface PendingActivity extends LinkActivityCounts {
  /** the first view's correlation id (carried by the event) */
  viewCorrelationId: string | undefined;
}

/** A link's counters are written at most this often (the first increment after a quiet spell at once). */
export const LINK_COUNTER_INTERVAL_MS = 1000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * A link's counters (views, completed downloads, uploads), written in the background: the answer to a
 * recipient does not wait for a counter write. A quiet link's increment is written at once; after a write,
 * what arrives within LINK_COUNTER_INTERVAL_MS is added up and written together when the interval ends, so a
 * popular link costs one UPDATE (and one `shared-link.viewed` event to relay) per second, not one per view
 * queueing on the row lock. A failed write (database down) keeps its increments and is retried with backoff
 * (1 s, doubling, at most 30 s) while the process runs; `drain()` at shutdown writes what is left, one last
 * time. Decision: a counter is eventually exact (within ~1 s), not committed before the response — a view
 * must not cost a recipient a database round trip; nothing reads the counters within the request, and a
 * crash loses at most the last second's increments.
 */
export class LinkActivityRecorder {
  readonly #db: Db;
  readonly #onError: (err: unknown, linkId: string, counts: LinkActivityCounts) => void;
  readonly #intervalMs: number;
  readonly #pending = new Map<string, PendingActivity>();
  readonly #writing = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  /** links that must not be written before a timer fires: the interval after a write, or a retry's backoff */
  readonly #waiting = new Map<string, { timer: NodeJS.Timeout; retry: boolean }>();
  /** the backoff of links whose last write failed */
  readonly #backoffMs = new Map<string, number>();
  #closing = false;

  constructor(
    db: Db,
    onError: (err: unknown, linkId: string, counts: LinkActivityCounts) => void = () => {},
    intervalMs = LINK_COUNTER_INTERVAL_MS,
  ) {
    this.#db = db;
    this.#onError = onError;
    this.#intervalMs = intervalMs;
  }

  /** Adds to a link's counter; written in the background (see the class comment). */
  count(linkId: string, activity: LinkActivity, by = 1, correlationId?: string): void {
    const counts = { view: 0, download: 0, upload: 0, [activity]: by };
    this.#add(linkId, counts, activity === 'view' ? correlationId : undefined);
    this.#next(linkId);
  }

  /**
   * Resolves once every increment counted so far is written (or its write failed), without waiting out the
   * interval: tests read the counters after it. Retries are not hurried.
   */
  async settled(): Promise<void> {
    for (;;) {
      for (const [linkId, w] of this.#waiting) if (!w.retry) this.#wake(linkId);
      if (this.#inFlight.size === 0) return;
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /**
   * Shutdown (after the HTTP server has stopped, before the pool closes): writes everything pending now,
   * retries included, once. What cannot be written then is reported through onError and lost.
   */
  async drain(): Promise<void> {
    this.#closing = true;
    for (const linkId of [...this.#waiting.keys()]) this.#wake(linkId);
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #add(linkId: string, counts: LinkActivityCounts, viewCorrelationId: string | undefined): void {
    let p = this.#pending.get(linkId);
    if (!p) {
      p = { view: 0, download: 0, upload: 0, viewCorrelationId: undefined };
      this.#pending.set(linkId, p);
    }
    p.view += counts.view;
    p.download += counts.download;
    p.upload += counts.upload;
    if (counts.view > 0) p.viewCorrelationId ??= viewCorrelationId;
  }

  #wake(linkId: string): void {
    const w = this.#waiting.get(linkId);
    if (w) clearTimeout(w.timer);
    this.#waiting.delete(linkId);
    this.#next(linkId);
  }

  #wait(linkId: string, delayMs: number, retry: boolean): void {
    const timer = setTimeout(() => this.#wake(linkId), delayMs);
    timer.unref(); // a pending counter does not keep the process alive; drain() writes it at shutdown
    this.#waiting.set(linkId, { timer, retry });
  }

  #next(linkId: string): void {
    if (this.#writing.has(linkId) || this.#waiting.has(linkId)) return;
    const p = this.#pending.get(linkId);
    if (!p) return;
    this.#pending.delete(linkId);
    this.#writing.add(linkId);
    const started = Date.now();
    const write = writeLinkActivity(this.#db, linkId, p, p.viewCorrelationId).then(
      () => true,
      (e: unknown) => {
        this.#onError(e, linkId, p);
        if (!this.#closing) this.#add(linkId, p, p.viewCorrelationId); // kept for the retry
        return false;
      },
    );
    this.#inFlight.add(write);
    void write.then((ok) => {
      this.#writing.delete(linkId);
      if (this.#closing) {
        this.#next(linkId);
      } else if (ok) {
        this.#backoffMs.delete(linkId);
        this.#wait(linkId, Math.max(0, started + this.#intervalMs - Date.now()), false);
      } else {
        const delayMs = Math.min((this.#backoffMs.get(linkId) ?? RETRY_FIRST_MS / 2) * 2, RETRY_MAX_MS);
        this.#backoffMs.set(linkId, delayMs);
        this.#wait(linkId, delayMs, true);
      }
      this.#inFlight.delete(write);
    });
  }
}
