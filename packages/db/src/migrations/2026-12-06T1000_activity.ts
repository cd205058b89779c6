import { type Kysely, sql } from 'kysely';

// Frozen in time. The per-link activity log (issue 18 item 1, README "Webhooks and link activity"): one row per
// recipient action, visible to the link's owner. `client_net` is never a full address: IPv4 /24, IPv6 /48 or a
// keyed hash (domain activity/rules.ts). `visit_key` names the 30-minute visit a `visit` row opened.
// Removed with the link (cascade) and after ACTIVITY_RETENTION_DAYS by the maintenance job.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS link_activity (
      id bigserial PRIMARY KEY,
      link_id uuid NOT NULL REFERENCES shared_links(id) ON DELETE CASCADE,
      at timestamptz NOT NULL DEFAULT now(),
      action text NOT NULL CHECK (action IN (
        'visit', 'unlock', 'unlock-failed', 'unlock-throttled', 'download-original',
        'export-requested', 'export-ready', 'export-downloaded', 'upload'
      )),
      asset_id uuid,
      export_id uuid,
      client_net text NOT NULL DEFAULT '',
      browser text NOT NULL DEFAULT '',
      os text NOT NULL DEFAULT '',
      bot boolean NOT NULL DEFAULT false,
      visit_key text
    );
    CREATE INDEX IF NOT EXISTS link_activity_link_at_idx ON link_activity (link_id, at DESC, id DESC);
    CREATE INDEX IF NOT EXISTS link_activity_at_idx ON link_activity (at);
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
