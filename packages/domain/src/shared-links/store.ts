import type { NewEvent } from '@immish/contracts';
import { appendEvents, Batcher, type Db, type OutboxInsertRow, outboxEntries } from '@immish/db';
import { checkAccess, ownedAssetSql } from '../access.ts';
import { assetColumns } from '../assets/queries.ts';
import {
  ASSET_SELECT,
  groupLinkRows,
  insertLink,
  insertLinkAssets,
  type LinkWithAssets,
  linkColumns,
  linkSelect,
  loadLinkAssetRows,
  type NewLinkValues,
  runSql,
} from './queries.ts';

/**
 * How new links are written (docs/architecture.md "Speed without secrets"). `createSharedLink` (service.ts) decides
 * and validates; the store writes a link, its assets and its `shared-link.created` event atomically, writing it
 * only if the owner may share every asset (`asset.share`, the access module's rule).
 *
 * - plain (the default, and what tests and every other caller get): one transaction per link, statement by
 *   statement: the access check, the link, its assets, its event (appendEvents).
 * - batching (opt-in at the composition root: the links-api's main.ts builds `createSharedLinkStore(db,
 *   { batching: true })` and passes it down through the app's deps): concurrent creates of the process share ONE
 *   statement (group commit through @immish/db's Batcher), a data-modifying CTE over parameter arrays with the
 *   access check folded in. Each statement and transaction has a fixed cost (three tables, ten indexes,
 *   foreign keys, the commit) that a batch pays once: `bench/link-create.bench.ts` measured the plain path at
 *   ~7× the service CPU per created link of the batched one (2.26 vs 0.33 ms) and 8× fewer links/s (README).
 *   The batcher belongs to the store instance (no module state); both forms give the same outcomes.
 */
export interface SharedLinkStore {
  /** The new link with its asset rows (ordered by asset id), or null when some asset is not the owner's (nothing written). */
  create(link: NewLink): Promise<LinkWithAssets | null>;
}

/** One link to create: its row, its assets (lower-case, distinct, well-formed UUIDs; [] for ALBUM) and its event. */
export interface NewLink {
  values: NewLinkValues;
  assetIds: readonly string[];
  event: NewEvent;
}

export function createSharedLinkStore(db: Db, opts: { batching?: boolean } = {}): SharedLinkStore {
  if (!opts.batching) return { create: (link) => createInTransaction(db, link) };
  const batcher = new Batcher<NewLink, LinkWithAssets | null>({
    run: (links) => insertLinks(db, links),
    isolate: belongsToOneInput,
    weight: (l) => 1 + l.assetIds.length,
    // fewer, larger batches: per link, a 10-link statement cost PostgreSQL about a third of a lone one; two at a
    // time so that one batch waiting on a lock does not hold up every create of the process
    maxInFlight: 2,
  });
  return {
    // inside a transaction the link is written on its own (a failed statement there would abort the caller's)
    // a link with guest-upload moderation options (issue 19) is written the plain way: the batched statement
    // carries Immich's options and the limits only
    create: (link) =>
      db.isTransaction || hasUploadModeration(link) ? createInTransaction(db, link) : batcher.submit(link),
  };
}

const hasUploadModeration = ({ values }: NewLink) =>
  values.upload_review === true || (values.max_upload_bytes ?? null) !== null;

/** The plain form: one transaction, read top to bottom. */
async function createInTransaction(db: Db, { values, assetIds, event }: NewLink): Promise<LinkWithAssets | null> {
  return db.transaction().execute(async (trx) => {
    const allowed = await checkAccess(trx, values.owner_id, 'asset.share', assetIds);
    if (assetIds.some((id) => !allowed.has(id))) return null;
    const link = await insertLink(trx, values);
    await insertLinkAssets(trx, link.id, assetIds);
    await appendEvents(trx, [event]);
    const assets = (await loadLinkAssetRows(trx, [link.id])).get(link.id) ?? [];
    return { link, assets };
  });
}

/**
 * Errors that belong to one input of a batched statement, not to the database: PostgreSQL's data exceptions
 * (class 22: a value it cannot take) and integrity violations (class 23: unique, foreign key, check).
 */
const belongsToOneInput = (err: unknown) => /^2[23]/.test(String((err as { code?: unknown }).code ?? ''));

/**
 * Links, their assets and their outbox events in ONE statement (data-modifying CTEs over parameter arrays): one
 * round trip, and atomic like a transaction — a link and its event are written together or not at all
 * (docs/spec.md §6). The `asset.share` check (access.ts) is folded in: a link is written only if its owner may share
 * every one of its assets; the others are left out (and nothing of them is written). The asset rows the check
 * reads are the ones returned (a join of the inserted ids back to `assets` got a hash join over the whole table
 * in the generic plan). A named prepared statement in the links-api (../prepared-statements.ts).
 */
export const INSERT_LINKS_SQL = `WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                         $8::text[], $9::timestamptz[], $10::boolean[], $11::boolean[], $12::boolean[],
                         $21::integer[], $22::integer[], $23::integer[])
      AS i(id, owner_id, type, album_id, key, slug, description, password_hash, expires_at,
           allow_download, allow_upload, show_metadata, max_visits, max_downloads, max_uploads)
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
                              allow_download, allow_upload, show_metadata, max_visits, max_downloads, max_uploads)
    SELECT i.id, i.owner_id, i.type, i.album_id, i.key, i.slug, i.description, i.password_hash, i.expires_at,
           i.allow_download, i.allow_upload, i.show_metadata, i.max_visits, i.max_downloads, i.max_uploads
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
   ORDER BY link.id, assets.id`;

/** Runs INSERT_LINKS_SQL for `links` (each with exactly one event, its `shared-link.created`). */
async function insertLinks(db: Db, links: readonly NewLink[]): Promise<(LinkWithAssets | null)[]> {
  const link = <T>(f: (v: NewLinkValues) => T) => links.map((l) => f(l.values));
  const outboxRows = outboxEntries(links.map((l) => l.event)).rows;
  const event = <T>(f: (e: OutboxInsertRow) => T) => outboxRows.map(f);
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
    link((v) => v.max_visits), // limited links ($21–$23)
    link((v) => v.max_downloads),
    link((v) => v.max_uploads),
  ]);
  const created = new Map(groupLinkRows(rows).map((l) => [l.link.id, l]));
  return links.map((l) => created.get(l.values.id) ?? null);
}
