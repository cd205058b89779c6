import { type Kysely, sql } from 'kysely';

// Frozen in time. docs/spec.md §14 "What a link can reach": an upload through a shared link never dedupes against the
// owner's library, so a link upload of bytes the owner already has is its own asset. `origin` records where an
// asset came from; the per-owner checksum uniqueness (owner-side dedupe) now holds for the library's own
// uploads only, and a plain index keeps serving owner-side look-ups, which see every asset of the owner.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE assets ADD COLUMN IF NOT EXISTS origin text NOT NULL DEFAULT 'library'
      CHECK (origin IN ('library', 'shared-link'));
    CREATE INDEX IF NOT EXISTS assets_owner_checksum_idx ON assets (owner_id, checksum);
    CREATE UNIQUE INDEX IF NOT EXISTS assets_owner_checksum_library_uq ON assets (owner_id, checksum)
      WHERE origin = 'library';
    DROP INDEX IF EXISTS assets_owner_checksum_uq;
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
