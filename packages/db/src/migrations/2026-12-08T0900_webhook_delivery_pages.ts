import { type Kysely, sql } from 'kysely';

// Frozen in time. The delivery log is paged like the activity log (issue 18, domain paging.ts): a keyset cursor of
// (created_at in whole milliseconds, id). `created_at` is kept in milliseconds (timestamptz(3): existing values and
// every new one rounded by the column itself) so the cursor names a row exactly, and the index follows the order
// of a page (newest first, id breaking ties).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE webhook_deliveries ALTER COLUMN created_at TYPE timestamptz(3);
    DROP INDEX IF EXISTS webhook_deliveries_recent_idx;
    CREATE INDEX IF NOT EXISTS webhook_deliveries_page_idx ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
