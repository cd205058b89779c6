import { isUuid } from '@immish/contracts';
import type { AssetRow, Db, OutboxInsertRow, SharedLinkRow } from '@immish/db';
import { CompiledQuery } from 'kysely';
import { ownedAssetSql } from './access.ts';
import { assetColumns } from './assets.ts';
import { Batcher } from './shared-link-batch.ts';

/**
 * The hot statements of the shared-link routes as fixed SQL texts, built once at load time. Building the
 * link-with-assets join with kysely's query builder cost more CPU per request (~0.1 ms: ~60 aliased columns)
 * than everything else the route does; a fixed text costs nothing to "build". Parameters stay parameters.
 *
 * Each text starts with a `/* prepared:<name> *\/` mark: a pool that knows the mark (the links-api's, see
 * apps/links-api/src/prepared-pool.ts) runs it as a named prepared statement, so PostgreSQL parses and plans it
 * once per connection instead of on every request (planning the link-with-assets join alone took ~0.3 ms of
 * database CPU). Anywhere else the mark is an ordinary comment. Result columns are listed, never `*`: a
 * prepared statement whose result type changes (a column added by a migration) fails instead of re-planning.
 */
export const PREPARED_MARK = '/* prepared:';

/** `text` marked as the prepared statement `name` (one name per text: names are per connection, for good). */
export const preparedSql = (name: string, text: string): string => `${PREPARED_MARK}${name} */ ${text}`;

/** The name of a marked statement, else undefined. */
export function preparedName(text: string): string | undefined {
  if (!text.startsWith(PREPARED_MARK)) return undefined;
  const end = text.indexOf(' */', PREPARED_MARK.length);
  return end > PREPARED_MARK.length ? text.slice(PREPARED_MARK.length, end) : undefined;
}

/** A link row with the rows of its assets (INDIVIDUAL links; [] for ALBUM links), in the order they were added. */
export interface LinkWithAssets {
  link: SharedLinkRow;
  assets: AssetRow[];
}

/** Runs a fixed SQL text through kysely's driver (same connection handling, transactions, type parsing). */
export async function runSql<R>(db: Db, text: string, parameters: readonly unknown[]): Promise<R[]> {
  return (await db.executeQuery<R>(CompiledQuery.raw(text, parameters as unknown[]))).rows;
}

/**
 * Errors that belong to one input of a batched statement, not to the database: PostgreSQL's data exceptions
 * (class 22: a value it cannot take) and integrity violations (class 23: unique, foreign key, check).
 */
const belongsToOneInput = (err: unknown) => /^2[23]/.test(String((err as { code?: unknown }).code ?? ''));

/** Every column of `shared_links`, in table order (the compile-time check below keeps it complete). */
const linkColumns = [
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
const linkSelect = (table: string) => linkColumns.map((c) => `${table}.${c}`).join(', ');

const ASSET_PREFIX = 'a_';
/** [`a_x`, `x`] for every asset column: the names of the asset columns in the link-with-assets rows. */
const ASSET_KEYS = assetColumns.map((c) => {
  const name = c.slice('assets.'.length);
  return [`${ASSET_PREFIX}${name}`, name] as const;
});
/**
 * `assets.x AS a_x, …`: the asset columns of a link-with-assets row, apart from the link's own columns. (One json
 * column instead cost the client less per statement but PostgreSQL ~2.5× as much per row — json_build_object
 * looks up every argument's type on every row — and with batched statements the client's part is per batch.)
 */
const ASSET_SELECT = assetColumns.map((c) => `${c} AS ${ASSET_PREFIX}${c.slice('assets.'.length)}`).join(', ');

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
const FIND_SQL = preparedSql(
  'shared_links_find',
  `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
    WHERE shared_links.owner_id = $1 ${NEWEST_FIRST}`,
);
const FIND_BY_ALBUM_SQL = preparedSql(
  'shared_links_find_album',
  `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT} FROM shared_links ${FROM_LINKS_WITH_ASSETS}
    WHERE shared_links.owner_id = $1 AND shared_links.album_id = $2 ${NEWEST_FIRST}`,
);
/** Links by (owner, id) pairs (`$1` owners, `$2` ids): the look-ups of one batch. */
const FIND_BY_IDS_SQL = preparedSql(
  'shared_links_find_ids',
  `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT}
     FROM unnest($1::uuid[], $2::uuid[]) AS wanted(owner_id, id)
     JOIN shared_links ON shared_links.id = wanted.id AND shared_links.owner_id = wanted.owner_id
     ${FROM_LINKS_WITH_ASSETS} ${NEWEST_FIRST}`,
);

/**
 * Links with their assets in ONE round trip: links LEFT JOIN their assets (INDIVIDUAL links; ALBUM links
 * have none), regrouped here. No N+1, and a plain join that PostgreSQL plans cheaply (a JSON-aggregating
 * subquery cost more to plan on every call than it saved). Newest first; assets in the order added.
 * A look-up by id shares its statement with the concurrent ones (shared-link-batch.ts).
 */
export async function findLinksWithAssets(db: Db, filter: LinkFilter): Promise<LinkWithAssets[]> {
  if (filter.id !== undefined) {
    const found = isUuid(filter.id) ? await findLinkById(db, { ownerId: filter.ownerId, id: filter.id }) : null;
    const inAlbum = filter.albumId === undefined || found?.link.album_id === filter.albumId.toLowerCase();
    return found && inAlbum ? [found] : [];
  }
  const rows =
    filter.albumId === undefined
      ? await runSql<Record<string, unknown>>(db, FIND_SQL, [filter.ownerId])
      : await runSql<Record<string, unknown>>(db, FIND_BY_ALBUM_SQL, [filter.ownerId, filter.albumId]);
  return groupLinkRows(rows);
}

interface LinkKey {
  ownerId: string;
  id: string;
}
const keyOf = (ownerId: string, id: string) => `${ownerId}/${id.toLowerCase()}`;

/** Runs FIND_BY_IDS_SQL: for each key, its link (if the owner has it) or null. */
async function findLinksByIds(db: Db, keys: readonly LinkKey[]): Promise<(LinkWithAssets | null)[]> {
  const distinct = [...new Map(keys.map((k) => [keyOf(k.ownerId, k.id), k])).values()]; // a batch may ask twice
  const rows = await runSql<Record<string, unknown>>(db, FIND_BY_IDS_SQL, [
    distinct.map((k) => k.ownerId),
    distinct.map((k) => k.id),
  ]);
  const found = new Map(groupLinkRows(rows).map((l) => [keyOf(l.link.owner_id, l.link.id), l]));
  return keys.map((k) => found.get(keyOf(k.ownerId, k.id)) ?? null);
}

const lookupBatchers = new WeakMap<Db, Batcher<LinkKey, LinkWithAssets | null>>();

/** One of the owner's links by id, or null. Concurrent look-ups on the same `db` share one statement. */
function findLinkById(db: Db, key: LinkKey): Promise<LinkWithAssets | null> {
  if (db.isTransaction) return findLinksByIds(db, [key]).then(([l]) => l ?? null);
  let batcher = lookupBatchers.get(db);
  if (!batcher) {
    batcher = new Batcher({ run: (keys) => findLinksByIds(db, keys), isolate: belongsToOneInput });
    lookupBatchers.set(db, batcher);
  }
  return batcher.submit(key);
}

/** The columns a new link is inserted with (the rest take their defaults). `id` is chosen by the caller. */
export interface NewLinkValues {
  id: string;
  owner_id: string;
  type: SharedLinkRow['type'];
  album_id: string | null;
  key: string;
  slug: string | null;
  description: string | null;
  password_hash: string | null;
  expires_at: Date | null;
  allow_download: boolean;
  allow_upload: boolean;
  show_metadata: boolean;
}

/** One link to create: its row, its assets (lower-case, distinct, well-formed UUIDs; [] for ALBUM) and its event. */
export interface NewLink {
  values: NewLinkValues;
  assetIds: readonly string[];
  event: OutboxInsertRow;
}

/**
 * Links, their assets and their outbox events in ONE statement (data-modifying CTEs over parameter arrays): one
 * round trip, and atomic like a transaction — a link and its event are written together or not at all
 * (docs/spec.md §6). The `asset.share` check (access.ts) is folded in: a link is written only if its owner may share
 * every one of its assets; the others are left out (and nothing of them is written). The asset rows the check
 * reads are the ones returned (a join of the inserted ids back to `assets` got a hash join over the whole table
 * in the generic plan).
 */
const INSERT_LINKS_SQL = preparedSql(
  'shared_links_insert',
  `WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::timestamptz[], $10::boolean[], $11::boolean[], $12::boolean[])
      AS i(id, owner_id, type, album_id, key, slug, description, password_hash, expires_at,
           allow_download, allow_upload, show_metadata)
  ),
  events AS (
    SELECT * FROM unnest($13::uuid[], $14::text[], $15::text[], $16::uuid[], $17::jsonb[], $18::timestamptz[])
      AS e(id, type, aggregate_type, aggregate_id, payload, occurred_at)
  ),
  wanted AS (SELECT * FROM unnest($19::uuid[], $20::uuid[]) AS w(link_id, asset_id)),
  shareable AS (
    SELECT w.link_id, ${assetColumns.map((c) => c.replace('assets.', 'a.')).join(', ')}
      FROM wanted w
      JOIN input i ON i.id = w.link_id
      JOIN assets a ON ${ownedAssetSql('a', 'i.owner_id', 'w.asset_id')}
  ),
  allowed AS (
    SELECT i.id FROM input i
      LEFT JOIN (SELECT link_id, count(*) AS n FROM wanted GROUP BY link_id) wc ON wc.link_id = i.id
      LEFT JOIN (SELECT link_id, count(*) AS n FROM shareable GROUP BY link_id) sc ON sc.link_id = i.id
     WHERE coalesce(wc.n, 0) = coalesce(sc.n, 0)
  ),
  link AS (
    INSERT INTO shared_links (id, owner_id, type, album_id, key, slug, description, password_hash, expires_at,
                              allow_download, allow_upload, show_metadata)
    SELECT i.id, i.owner_id, i.type, i.album_id, i.key, i.slug, i.description, i.password_hash, i.expires_at,
           i.allow_download, i.allow_upload, i.show_metadata
      FROM input i JOIN allowed USING (id)
    RETURNING ${linkColumns.join(', ')}
  ),
  added AS (
    INSERT INTO shared_link_assets (link_id, asset_id)
    SELECT s.link_id, s.id FROM shareable s JOIN link ON link.id = s.link_id
  ),
  event AS (
    INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at)
    SELECT e.id, e.type, e.aggregate_type, e.aggregate_id, e.payload, e.occurred_at
      FROM events e JOIN link ON link.id = e.aggregate_id
  )
  SELECT ${linkSelect('link')}, ${ASSET_SELECT}
    FROM link
    LEFT JOIN shareable AS assets ON assets.link_id = link.id
   ORDER BY link.id, assets.id`,
);

/** Runs INSERT_LINKS_SQL for `links` (each with exactly one event, its `shared-link.created`). */
async function insertLinks(db: Db, links: readonly NewLink[]): Promise<(LinkWithAssets | null)[]> {
  const link = <T>(f: (v: NewLinkValues) => T) => links.map((l) => f(l.values));
  const event = <T>(f: (e: OutboxInsertRow) => T) => links.map((l) => f(l.event));
  const rows = await runSql<Record<string, unknown>>(db, INSERT_LINKS_SQL, [
    link((v) => v.id),
    link((v) => v.owner_id),
    link((v) => v.type),
    link((v) => v.album_id),
    link((v) => v.key),
    link((v) => v.slug),
    link((v) => v.description),
    link((v) => v.password_hash),
    link((v) => v.expires_at),
    link((v) => v.allow_download),
    link((v) => v.allow_upload),
    link((v) => v.show_metadata),
    event((e) => e.id),
    event((e) => e.type),
    event((e) => e.aggregate_type),
    event((e) => e.aggregate_id),
    event((e) => e.payload),
    event((e) => e.occurred_at),
    links.flatMap((l) => l.assetIds.map(() => l.values.id)),
    links.flatMap((l) => l.assetIds),
  ]);
  const created = new Map(groupLinkRows(rows).map((l) => [l.link.id, l]));
  return links.map((l) => created.get(l.values.id) ?? null);
}

const batchers = new WeakMap<Db, Batcher<NewLink, LinkWithAssets | null>>();

/**
 * Creates a link with its assets and its event (INSERT_LINKS_SQL): the new link with its asset rows (ordered by
 * asset id, like the listing orders assets added together), or null when some asset is not the owner's
 * (nothing was written). Unique and foreign-key violations reject as PostgreSQL reports them (the caller maps
 * them). Concurrent calls on the same `db` share statements (shared-link-batch.ts); inside a transaction the
 * link is written on its own (a failed statement there would abort the caller's transaction).
 */
export async function insertLinkWithAssets(db: Db, link: NewLink): Promise<LinkWithAssets | null> {
  if (db.isTransaction) return (await insertLinks(db, [link]))[0] ?? null;
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = new Batcher({
      run: (links) => insertLinks(db, links),
      isolate: belongsToOneInput,
      weight: (l) => 1 + l.assetIds.length,
      // fewer, larger batches: per link, a 10-link statement cost PostgreSQL about a third of a lone one; two
      // at a time so that one batch waiting on a lock does not hold up every create of the process
      maxInFlight: 2,
    });
    batchers.set(db, batcher);
  }
  return batcher.submit(link);
}
