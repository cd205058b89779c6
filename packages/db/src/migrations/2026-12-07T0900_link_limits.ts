import { type Kysely, sql } from 'kysely';

// Frozen in time. Limited links (issue 19 item 1, README "Limited links"): optional caps on a link's visits,
// downloads started and accepted uploads (NULL = no limit), and what of each has been used. A use is counted by
// one conditional UPDATE (`… WHERE <used> < <max> RETURNING`), so concurrent recipients can never pass a cap.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE shared_links
      ADD COLUMN IF NOT EXISTS max_visits integer CHECK (max_visits > 0),
      ADD COLUMN IF NOT EXISTS max_downloads integer CHECK (max_downloads > 0),
      ADD COLUMN IF NOT EXISTS max_uploads integer CHECK (max_uploads > 0),
      ADD COLUMN IF NOT EXISTS visits_used integer NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS downloads_used integer NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS uploads_used integer NOT NULL DEFAULT 0;
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
