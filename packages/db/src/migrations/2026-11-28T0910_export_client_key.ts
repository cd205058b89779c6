import { type Kysely, sql } from 'kysely';

// Frozen in time. Export caps (docs/spec.md §14): `client_key` names the client that asked for a link's export
// (its address; IPv6 by /64) while the export is queued or being built, and is cleared once it is not, so
// the table keeps no client addresses. Partial indexes serve the cap counts.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE exports ADD COLUMN IF NOT EXISTS client_key text`.execute(db);
  await sql`
    CREATE INDEX IF NOT EXISTS exports_link_live_idx ON exports (shared_link_id)
      WHERE status IN ('queued', 'running', 'ready')
  `.execute(db);
  await sql`
    CREATE INDEX IF NOT EXISTS exports_client_pending_idx ON exports (client_key)
      WHERE status IN ('queued', 'running') AND client_key IS NOT NULL
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
