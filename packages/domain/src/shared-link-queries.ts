import type { AssetRow, Db, OutboxInsertRow, SharedLinkRow } from '@immish/db';
import { CompiledQuery } from 'kysely';
import { ownedAssetsSql } from './access.ts';
import { assetColumns } from './assets.ts';

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

/**
 * The asset of a link-with-assets row travels as ONE json column (`a`, null when the link has no asset there)
 * instead of ~40 columns: the driver's per-column work (row description, a parser per field, a ~60-key row
 * object) cost more CPU than the rest of the request, and PostgreSQL sends one value instead of forty.
 * JSON has no timestamps or bytes, so timestamps travel as epoch milliseconds (floor: the instant pg's own
 * timestamptz parser gives, which truncates to the millisecond) and bytea as hex; `assetRowFromJson` turns
 * them back into the AssetRow the column-wise select gives (Date, Buffer, bigint as string).
 */
type KeysOf<T, V> = { [K in keyof T]-?: T[K] extends V ? K : never }[keyof T];
type AssetColumn = (typeof assetColumns)[number] extends `assets.${infer C}` ? C : never;
/** Exactly the AssetRow keys of type `V` (a compile error names any key missing or wrongly listed). */
const keysOfType =
  <V>() =>
  <const K extends readonly KeysOf<AssetRow, V>[]>(
    keys: K & (Exclude<KeysOf<AssetRow, V>, K[number]> extends never ? unknown : never),
  ): readonly AssetColumn[] =>
    keys as readonly AssetColumn[];
const ASSET_TIMESTAMPS = keysOfType<Date | null>()([
  'file_created_at',
  'file_modified_at',
  'local_date_time',
  'exif_date_time_original',
  'created_at',
  'updated_at',
  'trashed_at',
]);
const ASSET_BYTES = keysOfType<Buffer | null>()(['checksum', 'thumbhash']);
const ASSET_NUMBERS = keysOfType<number | null>()([
  'width',
  'height',
  'exif_f_number',
  'exif_focal_length',
  'exif_iso',
  'exif_latitude',
  'exif_longitude',
  'exif_orientation',
]);
/** bigint columns (pg returns them as text; the type system cannot tell them from text columns). */
const ASSET_BIGINTS: readonly AssetColumn[] = ['size'];

/** `json_build_object('id', assets.id, …) AS a`: the asset of a link-with-assets row. */
const ASSET_SELECT = `CASE WHEN assets.id IS NULL THEN NULL ELSE json_build_object(${assetColumns
  .map((c) => {
    const name = c.slice('assets.'.length) as AssetColumn;
    if (ASSET_TIMESTAMPS.includes(name)) return `'${name}', floor(extract(epoch FROM ${c}) * 1000)`;
    if (ASSET_BYTES.includes(name)) return `'${name}', encode(${c}, 'hex')`;
    return `'${name}', ${c}`;
  })
  .join(', ')}) END AS a`;

/** The `a` json of a link-with-assets row → the AssetRow a column-wise select gives. */
export function assetRowFromJson(json: Record<string, unknown>): AssetRow {
  const row = json;
  for (const k of ASSET_TIMESTAMPS) if (row[k] !== null) row[k] = new Date(Number(row[k]));
  for (const k of ASSET_BYTES) if (row[k] !== null) row[k] = Buffer.from(row[k] as string, 'hex');
  // float8 NaN/Infinity arrive as JSON strings ("NaN"); pg's own parser makes them numbers
  for (const k of ASSET_NUMBERS) if (typeof row[k] === 'string') row[k] = Number(row[k]);
  for (const k of ASSET_BIGINTS) if (row[k] !== null) row[k] = String(row[k]);
  return row as unknown as AssetRow;
}

/** Rows of link columns + `a` (one per link and asset, links contiguous) → links with their assets. */
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
    if (row.a) current.assets.push(assetRowFromJson(row.a as Record<string, unknown>));
  }
  return result;
}

export interface LinkFilter {
  ownerId: string;
  id?: string | undefined;
  albumId?: string | undefined;
}

/** The listing SQL for each combination of filters (`$1` owner, then id, then album id when present). */
const findSql = new Map<string, string>();
for (const byId of [false, true]) {
  for (const byAlbum of [false, true]) {
    const where = ['shared_links.owner_id = $1'];
    if (byId) where.push(`shared_links.id = $${where.length + 1}`);
    if (byAlbum) where.push(`shared_links.album_id = $${where.length + 1}`);
    findSql.set(
      `${byId}/${byAlbum}`,
      preparedSql(
        `shared_links_find${byId ? '_id' : ''}${byAlbum ? '_album' : ''}`,
        `SELECT ${linkSelect('shared_links')}, ${ASSET_SELECT}
         FROM shared_links
         LEFT JOIN shared_link_assets ON shared_link_assets.link_id = shared_links.id
         LEFT JOIN assets ON assets.id = shared_link_assets.asset_id
        WHERE ${where.join(' AND ')}
        ORDER BY shared_links.created_at DESC, shared_links.id DESC, shared_link_assets.added_at, assets.id`,
      ),
    );
  }
}

/**
 * Links with their assets in ONE round trip: links LEFT JOIN their assets (INDIVIDUAL links; ALBUM links
 * have none), regrouped here. No N+1, and a plain join that PostgreSQL plans cheaply (a JSON-aggregating
 * subquery cost more to plan on every call than it saved). Newest first; assets in the order added.
 */
export async function findLinksWithAssets(db: Db, filter: LinkFilter): Promise<LinkWithAssets[]> {
  const params: unknown[] = [filter.ownerId];
  if (filter.id !== undefined) params.push(filter.id);
  if (filter.albumId !== undefined) params.push(filter.albumId);
  const text = findSql.get(`${filter.id !== undefined}/${filter.albumId !== undefined}`) as string;
  return groupLinkRows(await runSql<Record<string, unknown>>(db, text, params));
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

/**
 * The link, its assets and its outbox event in ONE statement (data-modifying CTEs): one round trip, and atomic
 * like the transaction it replaces — the link and its event are written together or not at all (SPEC §6).
 * The `asset.share` check (access.ts) is folded in: nothing is written unless the owner may share every id
 * of `assetIds` (lower-case, distinct, well-formed UUIDs; [] for an ALBUM link). The rows that check reads are
 * the ones returned (no second look-up of the assets: a join of the inserted ids back to `assets` got a hash
 * join over the whole table in the generic plan).
 */
const INSERT_LINK_SQL = preparedSql(
  'shared_links_insert',
  `WITH shareable AS (${ownedAssetsSql('$2', '$13', assetColumns.join(', '))}),
  link AS (
    INSERT INTO shared_links (id, owner_id, type, album_id, key, slug, description, password_hash, expires_at,
                              allow_download, allow_upload, show_metadata)
    SELECT $1::uuid, $2::uuid, $3::text, $4::uuid, $5::text, $6::text, $7::text, $8::text, $9::timestamptz,
           $10::boolean, $11::boolean, $12::boolean
     WHERE (SELECT count(*) FROM shareable) = cardinality($13::uuid[])
    RETURNING ${linkColumns.join(', ')}
  ),
  added AS (
    INSERT INTO shared_link_assets (link_id, asset_id)
    SELECT link.id, shareable.id FROM link CROSS JOIN shareable
  ),
  event AS (
    INSERT INTO outbox_events (id, type, aggregate_type, aggregate_id, payload, occurred_at)
    SELECT $14::uuid, $15::text, $16::text, $17::uuid, $18::jsonb, $19::timestamptz FROM link
  )
  SELECT ${linkSelect('link')}, ${ASSET_SELECT}
    FROM link
    LEFT JOIN shareable AS assets ON true
   ORDER BY assets.id`,
);

/**
 * Runs INSERT_LINK_SQL: the new link with its asset rows (ordered by asset id, like the listing orders assets
 * added together), or null when some asset is not the owner's (nothing was written). Unique and foreign-key
 * violations reject as PostgreSQL reports them (the caller maps them).
 */
export async function insertLinkWithAssets(
  db: Db,
  values: NewLinkValues,
  assetIds: readonly string[],
  event: OutboxInsertRow,
): Promise<LinkWithAssets | null> {
  const rows = await runSql<Record<string, unknown>>(db, INSERT_LINK_SQL, [
    values.id,
    values.owner_id,
    values.type,
    values.album_id,
    values.key,
    values.slug,
    values.description,
    values.password_hash,
    values.expires_at,
    values.allow_download,
    values.allow_upload,
    values.show_metadata,
    assetIds,
    event.id,
    event.type,
    event.aggregate_type,
    event.aggregate_id,
    event.payload,
    event.occurred_at,
  ]);
  return groupLinkRows(rows)[0] ?? null;
}
