import { isUuid } from '@immish/contracts';
import type { AssetRow, Db, SharedLinkRow, SharedLinksTable } from '@immish/db';
import { CompiledQuery, type Updateable } from 'kysely';
import { assetColumns } from '../assets/queries.ts';

/**
 * The SQL of shared links. The link-with-assets reads are fixed SQL texts built once at load time: building that
 * join (~60 aliased columns) with kysely's query builder cost more CPU per request than everything else the route
 * does; a fixed text costs nothing to "build". Parameters stay parameters. Writes use kysely, inside the caller's
 * transaction (service.ts: a link, its assets and its event commit together).
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
  'show_metadata',
  'view_count',
  'download_count',
  'upload_count',
  'last_accessed_at',
  'created_at',
  'updated_at',
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

/** Rows of link columns + `a_<asset column>`… (one per link and asset, links contiguous) → links with their assets. */
export function groupLinkRows(rows: readonly Record<string, unknown>[]): LinkWithAssets[] {
  const result: LinkWithAssets[] = [];
  let current: LinkWithAssets | undefined;
  for (const row of rows) {
    if (!current || current.link.id !== row.id) {
      const link: Record<string, unknown> = {};
      for (const c of linkColumns) link[c] = row[c];
      current = { link: link as unknown as SharedLinkRow, assets: [] };
      result.push(current);
    }
    if (row.a_id === null || row.a_id === undefined) continue;
    const asset: Record<string, unknown> = {};
    for (const [prefixed, name] of ASSET_KEYS) asset[name] = row[prefixed];
    current.assets.push(asset as unknown as AssetRow);
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

/** A user's links, and those of one of their albums (`$1` owner, `$2` album). */
const FIND_SQL = `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
    WHERE shared_links.owner_id = $1 ${NEWEST_FIRST}`;

const FIND_BY_ALBUM_SQL = `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
    WHERE shared_links.owner_id = $1 AND shared_links.album_id = $2 ${NEWEST_FIRST}`;

/** One of a user's links by id (`$1` owner, `$2` id). */
const FIND_BY_ID_SQL = `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
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
>;

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
