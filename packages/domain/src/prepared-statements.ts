import type { PreparedStatements } from '@immish/db';
import { OWNED_ASSETS_SQL } from './access.ts';
import { FIND_BY_ALBUM_SQL, FIND_BY_ID_SQL, FIND_SQL } from './shared-links/queries.ts';
import { INSERT_LINKS_SQL } from './shared-links/store.ts';

/**
 * The statements the links-api runs as named prepared statements (@immish/db prepared.ts: parsed and planned once
 * per connection), handed to its pool by its main.ts unless DATABASE_PREPARED_STATEMENTS is false. Each is a fixed
 * text whose plan does not depend on the values — what PostgreSQL's generic plan (used after five executions when
 * it costs about the same) needs:
 * - the owner's link reads: a link by primary key, or a user's links by the owner index (optionally one album's),
 *   each joined to its assets by primary key — the answer is every row the plan reads;
 * - the batched link create: parameter arrays unnested, every lookup by key (its comment in store.ts);
 * - which of some asset ids a user owns: a primary-key lookup of the ids given.
 * Measured: docs/benchmarks.md "Named prepared statements" (`GET /api/shared-links?id=` 0.14× → 0.41× the bare route).
 */
export const PREPARED_STATEMENTS: PreparedStatements = {
  'links.by-id': FIND_BY_ID_SQL,
  'links.by-owner': FIND_SQL,
  'links.by-owner-album': FIND_BY_ALBUM_SQL,
  'links.insert': INSERT_LINKS_SQL,
  'assets.owned': OWNED_ASSETS_SQL,
};
