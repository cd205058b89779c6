import { type Kysely, sql } from 'kysely';

// Frozen in time. Exports made through a link that hides metadata are built stripped (docs/spec.md §14):
// `hides_metadata` says an export is (to be) built that way (set at request time, raised by the worker
// when the link started hiding metadata since); `substitutions` lists the assets whose original was
// replaced by its preview or left out. Rows from before default to false: an archive built with metadata,
// which a link that hides metadata never serves.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE exports
      ADD COLUMN IF NOT EXISTS hides_metadata boolean NOT NULL DEFAULT false,
      ADD COLUMN IF NOT EXISTS substitutions jsonb NOT NULL DEFAULT '[]'
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
