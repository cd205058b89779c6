import { isUuid } from '@immish/contracts';
import type { AlbumRow, AssetRow, Db, SharedLinkRow, SharedLinksTable } from '@immish/db';
import { CompiledQuery, sql, type Updateable } from 'kysely';
import { assetNotTrashed } from '../access.ts';
import { assetColumns } from '../assets/queries.ts';
import { LIMIT_COLUMNS, type LinkUse } from './limits.ts';

/**
 * The SQL of shared links. The link-with-assets reads are fixed SQL texts built once at load time: building that
 * join (~60 aliased columns) with kysely's query builder cost more CPU per request than everything else the route
 * does; a fixed text costs nothing to "build". Parameters stay parameters. Writes use kysely, inside the caller's
 * transaction (service.ts: a link, its assets and its event commit together). What a link shows a recipient is
 * at the end (`linkAssetsQuery` and the reads built on it). Longer than ~350 lines because it holds all of the
 * capability's SQL (docs/architecture.md: SQL only in queries.ts), in sections.
 */

/** A link row with the rows of its assets (INDIVIDUAL links; [] for ALBUM links), in the order they were added. */
export interface LinkWithAssets {
  link: SharedLinkRow;
  assets: AssetRow[];
}

/** Runs a fixed SQL text through kysely's driver (same connection handling, transactions, type parsing). */
export async function runSql<R>(db: Db, text: string, parameters: readonly unknown[]): Promise<R[]> {
  return (await db.executeQuery<R>(CompiledQuery.raw(text, parameters as unknown[]))).rows;
}

/** Every column of `shared_links`, in table order (the compile-time check below keeps it complete). */
export const linkColumns = [
  'id',
  'owner_id',
  'type',
  'album_id',
  'key',
  'slug',
  'description',
  'password_hash',
  'password_version',
  'expires_at',
  'allow_download',
  'allow_upload',
  'upload_review',
  'max_upload_bytes',
  'upload_bytes',
  'show_metadata',
  'view_count',
  'download_count',
  'upload_count',
  'last_accessed_at',
  'created_at',
  'updated_at',
  // limited links (limits.ts)
  'max_visits',
  'max_downloads',
  'max_uploads',
  'visits_used',
  'downloads_used',
  'uploads_used',
] as const satisfies readonly (keyof SharedLinkRow)[];

const linkColumnsComplete: Exclude<keyof SharedLinkRow, (typeof linkColumns)[number]> extends never ? true : never =
  true;
void linkColumnsComplete;

/** `<table>.id, <table>.owner_id, …`: the link's own columns of a link-with-assets row. */
export const linkSelect = (table: string) => linkColumns.map((c) => `${table}.${c}`).join(', ');

const ASSET_PREFIX = 'a_';

/** [`a_x`, `x`] for every asset column: the names of the asset columns in the link-with-assets rows. */
const ASSET_KEYS = assetColumns.map((c) => {
  const name = c.slice('assets.'.length);
  return [`${ASSET_PREFIX}${name}`, name] as const;
});

/**
 * `assets.x AS a_x, …`: the asset columns of a link-with-assets row, apart from the link's own columns. (One json
 * column instead cost PostgreSQL ~2.5× as much per row: json_build_object looks up every argument's type on
 * every row.)
 */
export const ASSET_SELECT = assetColumns.map((c) => `${c} AS ${ASSET_PREFIX}${c.slice('assets.'.length)}`).join(', ');

/**
 * A function `(row) => ({ to1: row.from1, to2: row.from2, … })` over the given column names, built once.
 *
 * Why built, and not a loop copying `row[name]` for each name: V8 turns an object that gets more than ~16
 * properties through computed names into a hash table ("dictionary mode"), and pg builds every row that way. A
 * loop doing the same would make each link and asset a hash table too, and every later read of them (the mapping
 * to DTOs, a few dozen per row) a hash lookup. An object literal with fixed names is a fast object with its own
 * hidden class. Measured on 100 rows of a list (2026-12-07): the regrouping 1.0 ms → 0.03 ms, the asset DTOs
 * 1.17 → 0.97 ms. The names come from the fixed column lists of this module, never from input.
 */
function rowBuilder<T>(pairs: readonly (readonly [from: string, to: string])[]): (row: Record<string, unknown>) => T {
  const fields = pairs.map(([from, to]) => `${JSON.stringify(to)}: row[${JSON.stringify(from)}]`);
  return new Function('row', `return { ${fields.join(', ')} };`) as (row: Record<string, unknown>) => T;
}

const linkOfRow = rowBuilder<SharedLinkRow>(linkColumns.map((c) => [c, c] as const));
const assetOfRow = rowBuilder<AssetRow>(ASSET_KEYS);

/** Rows of link columns + `a_<asset column>`… (one per link and asset, links contiguous) → links with their assets. */
export function groupLinkRows(rows: readonly Record<string, unknown>[]): LinkWithAssets[] {
  const result: LinkWithAssets[] = [];
  let current: LinkWithAssets | undefined;
  for (const row of rows) {
    if (!current || current.link.id !== row.id) {
      current = { link: linkOfRow(row), assets: [] };
      result.push(current);
    }
    if (row.a_id === null || row.a_id === undefined) continue;
    current.assets.push(assetOfRow(row));
  }
  return result;
}

export interface LinkFilter {
  ownerId: string;
  id?: string | undefined;
  albumId?: string | undefined;
}

const FROM_LINKS_WITH_ASSETS = `
    LEFT JOIN shared_link_assets ON shared_link_assets.link_id = shared_links.id
    LEFT JOIN assets ON assets.id = shared_link_assets.asset_id`;

const NEWEST_FIRST =
  'ORDER BY shared_links.created_at DESC, shared_links.id DESC, shared_link_assets.added_at, assets.id';

// The three reads below run as named prepared statements in the links-api (../prepared-statements.ts).

/** A user's links, and those of one of their albums (`$1` owner, `$2` album). */
export const FIND_SQL = `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
    WHERE shared_links.owner_id = $1 ${NEWEST_FIRST}`;

export const FIND_BY_ALBUM_SQL = `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
    WHERE shared_links.owner_id = $1 AND shared_links.album_id = $2 ${NEWEST_FIRST}`;

/** One of a user's links by id (`$1` owner, `$2` id). */
export const FIND_BY_ID_SQL = `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
    WHERE shared_links.owner_id = $1 AND shared_links.id = $2 ${NEWEST_FIRST}`;

/**
 * Links with their assets in ONE round trip: links LEFT JOIN their assets (INDIVIDUAL links; ALBUM links
 * have none), regrouped here. No N+1, and a plain join that PostgreSQL plans cheaply (a JSON-aggregating
 * subquery cost more to plan on every call than it saved). Newest first; assets in the order added.
 */
export async function findLinksWithAssets(db: Db, filter: LinkFilter): Promise<LinkWithAssets[]> {
  if (filter.id !== undefined) {
    if (!isUuid(filter.id)) return [];
    const found = groupLinkRows(await runSql<Record<string, unknown>>(db, FIND_BY_ID_SQL, [filter.ownerId, filter.id]));
    const inAlbum = filter.albumId === undefined || found[0]?.link.album_id === filter.albumId.toLowerCase();
    return inAlbum ? found : [];
  }
  const rows =
    filter.albumId === undefined
      ? await runSql<Record<string, unknown>>(db, FIND_SQL, [filter.ownerId])
      : await runSql<Record<string, unknown>>(db, FIND_BY_ALBUM_SQL, [filter.ownerId, filter.albumId]);
  return groupLinkRows(rows);
}

/** The columns a new link is inserted with (the rest take their defaults). `id` is chosen by the caller. */
export type NewLinkValues = Pick<
  SharedLinkRow,
  | 'id'
  | 'owner_id'
  | 'type'
  | 'album_id'
  | 'key'
  | 'slug'
  | 'description'
  | 'password_hash'
  | 'expires_at'
  | 'allow_download'
  | 'allow_upload'
  | 'show_metadata'
  | 'max_visits'
  | 'max_downloads'
  | 'max_uploads'
> & { upload_review?: boolean; max_upload_bytes?: number | null };

/** Inserts a link (in the caller's transaction); unique and foreign-key violations reject as PostgreSQL reports them. */
export async function insertLink(trx: Db, values: NewLinkValues): Promise<SharedLinkRow> {
  return trx.insertInto('shared_links').values(values).returningAll().executeTakeFirstOrThrow();
}

/** Puts assets on a link (lower-case, distinct UUIDs the owner may share: the caller has checked). */
export async function insertLinkAssets(trx: Db, linkId: string, assetIds: readonly string[]): Promise<void> {
  if (assetIds.length === 0) return;
  await trx
    .insertInto('shared_link_assets')
    .values(assetIds.map((assetId) => ({ link_id: linkId, asset_id: assetId })))
    .execute();
}

/** Asset rows of INDIVIDUAL links, by link id, in the order they were added: one query for any number of links. */
export async function loadLinkAssetRows(db: Db, linkIds: readonly string[]): Promise<Map<string, AssetRow[]>> {
  const byLink = new Map<string, AssetRow[]>();
  if (linkIds.length === 0) return byLink;
  const rows = await db
    .selectFrom('shared_link_assets')
    .innerJoin('assets', 'assets.id', 'shared_link_assets.asset_id')
    .select([...assetColumns, 'shared_link_assets.link_id'])
    .where('shared_link_assets.link_id', 'in', linkIds)
    .orderBy('shared_link_assets.added_at')
    .orderBy('assets.id')
    .execute();
  for (const { link_id, ...asset } of rows) {
    const list = byLink.get(link_id) ?? [];
    if (list.length === 0) byLink.set(link_id, list);
    list.push(asset);
  }
  return byLink;
}

/** Locks the link row until the transaction ends: concurrent changes to one link's assets serialize. */
export async function lockLink(trx: Db, linkId: string): Promise<void> {
  await trx.selectFrom('shared_links').select('id').where('id', '=', linkId).forUpdate().executeTakeFirst();
}

/** The link changed (its assets): its `updated_at`. */
export async function touchLink(trx: Db, linkId: string): Promise<void> {
  await trx.updateTable('shared_links').set({ updated_at: new Date() }).where('id', '=', linkId).execute();
}

/** Which of `assetIds` are on the link already. */
export async function linkAssetsAmong(trx: Db, linkId: string, assetIds: readonly string[]): Promise<string[]> {
  const rows = await trx
    .selectFrom('shared_link_assets')
    .select('asset_id')
    .where('link_id', '=', linkId)
    .where('asset_id', 'in', assetIds)
    .execute();
  return rows.map((r) => r.asset_id);
}

/** Takes `assetIds` off the link; the ones that were on it. */
export async function deleteLinkAssets(trx: Db, linkId: string, assetIds: readonly string[]): Promise<string[]> {
  const rows = await trx
    .deleteFrom('shared_link_assets')
    .where('link_id', '=', linkId)
    .where('asset_id', 'in', assetIds)
    .returning('asset_id')
    .execute();
  return rows.map((r) => r.asset_id);
}

/** Whether another link (not `exceptLinkId`) has this slug; slugs are unique regardless of case. */
export async function slugTaken(db: Db, slug: string, exceptLinkId?: string): Promise<boolean> {
  let q = db
    .selectFrom('shared_links')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['slug']), '=', slug.toLowerCase()));
  if (exceptLinkId) q = q.where('id', '!=', exceptLinkId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** The owner's link; undefined when it is not theirs or does not exist. */
export async function findOwnLink(db: Db, ownerId: string, linkId: string): Promise<SharedLinkRow | undefined> {
  return db
    .selectFrom('shared_links')
    .selectAll()
    .where('id', '=', linkId)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
}

/**
 * Changes the owner's link (`passwordChanged`: its password version goes up, so unlocks made before stop
 * working); the new row, or undefined when it is not theirs.
 */
export async function updateOwnLink(
  trx: Db,
  ownerId: string,
  linkId: string,
  set: Updateable<SharedLinksTable>,
  passwordChanged: boolean,
): Promise<SharedLinkRow | undefined> {
  return trx
    .updateTable('shared_links')
    .set((eb) => ({
      ...set,
      ...(passwordChanged ? { password_version: eb('password_version', '+', 1) } : {}),
    }))
    .where('id', '=', linkId)
    .where('owner_id', '=', ownerId)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes the owner's link; false when it is not theirs. */
export async function deleteOwnLink(trx: Db, ownerId: string, linkId: string): Promise<boolean> {
  const deleted = await trx
    .deleteFrom('shared_links')
    .where('id', '=', linkId)
    .where('owner_id', '=', ownerId)
    .returning('id')
    .executeTakeFirst();
  return deleted !== undefined;
}

// What a link shows a recipient (recipient.ts decides the refusals) -----------------------------------------

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
export function linkAssetsQuery(db: Db, link: ShowingLink) {
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

/** The asset, when the link shows it. */
export async function findShownAsset(db: Db, link: ShowingLink, assetId: string): Promise<AssetRow | undefined> {
  return linkAssetsQuery(db, link).selectAll('assets').where('assets.id', '=', assetId).executeTakeFirst();
}

/** The asset the link shows with this id, or the still whose motion part (`livePhotoVideoId`) has it. */
export async function findShownAssetOrStill(db: Db, link: ShowingLink, assetId: string): Promise<AssetRow | undefined> {
  return linkAssetsQuery(db, link)
    .selectAll('assets')
    .where((eb) => eb.or([eb('assets.id', '=', assetId), eb('assets.live_photo_video_id', '=', assetId)]))
    .orderBy('assets.id')
    .limit(1)
    .executeTakeFirst();
}

/** The motion part of a Live Photo, when it is ready, not trashed and the still's owner's. */
export async function findLiveMotion(db: Db, still: AssetRow): Promise<AssetRow | undefined> {
  if (!still.live_photo_video_id) return undefined;
  return db
    .selectFrom('assets')
    .selectAll()
    .where('id', '=', still.live_photo_video_id)
    .where('owner_id', '=', still.owner_id)
    .where('status', '=', 'ready')
    .where(assetNotTrashed())
    .executeTakeFirst();
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
  // one array parameter, however long the list (the schema allows 100,000 ids; PostgreSQL binds at most 65,535)
  const rows = await linkAssetsQuery(db, link)
    .select('assets.id')
    .where(sql<boolean>`assets.id = any(${assetIds}::uuid[])`)
    .execute();
  return new Set(rows.map((r) => r.id));
}

/**
 * Every asset id the link shows except `except` (a recipient's "Select all" with some unticked, issue 21 §2):
 * the selection is resolved here, so items the recipient never loaded are included.
 */
export async function linkAssetIdsExcept(db: Db, link: ShowingLink, except: readonly string[]): Promise<string[]> {
  let q = linkAssetsQuery(db, link).select('assets.id');
  if (except.length > 0) q = q.where(sql<boolean>`assets.id <> all(${except}::uuid[])`);
  const rows = await q.execute();
  return rows.map((r) => r.id);
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
  const row = await findShownAsset(db, link, assetId);
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

/** What a counted use left: granted or not, and the counter and cap after it. */
export interface LinkUseOutcome {
  granted: boolean;
  used: number;
  max: number | null;
}

/**
 * Counts one use of a limited link (limits.ts) in ONE conditional UPDATE: granted only while the counter is below
 * its cap (or there is no cap any more), so N concurrent uses of a link with room for k grant exactly k. `by` > 1
 * counts several uses at once, all or none.
 */
export async function consumeLinkUse(db: Db, linkId: string, use: LinkUse, by = 1): Promise<LinkUseOutcome> {
  const max = sql.ref(LIMIT_COLUMNS[use].max);
  const used = sql.ref(LIMIT_COLUMNS[use].used);
  const { rows } = await sql<{ used: number; max: number | null }>`
    UPDATE shared_links SET ${used} = ${used} + ${by}
     WHERE id = ${linkId} AND (${max} IS NULL OR ${used} + ${by} <= ${max})
    RETURNING ${used} AS used, ${max} AS max`.execute(db);
  if (rows[0]) return { granted: true, used: rows[0].used, max: rows[0].max };
  const current = await sql<{ used: number; max: number | null }>`
    SELECT ${used} AS used, ${max} AS max FROM shared_links WHERE id = ${linkId}`.execute(db);
  return { granted: false, used: current.rows[0]?.used ?? 0, max: current.rows[0]?.max ?? null };
}
