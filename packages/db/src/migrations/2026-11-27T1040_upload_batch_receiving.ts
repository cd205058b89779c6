import { type Kysely, sql } from 'kysely';

// Frozen in time. An upload batch may not complete while its files are still arriving: between two file
// parts every item received so far can already be final. `receiving` is true until the request has ended.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE upload_batches ADD COLUMN IF NOT EXISTS receiving boolean NOT NULL DEFAULT false`.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
