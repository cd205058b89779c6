import { type Kysely, sql } from 'kysely';

// Frozen in time. Guest-upload moderation (issue 19 item 3, README "Guest-upload moderation"): a link with
// `upload_review` keeps what recipients upload pending in `link_uploads` (not placed in the album or on the link)
// until the owner approves or rejects it; `max_upload_bytes` is the link's byte budget and `upload_bytes` what it
// has taken (reserved atomically when an upload is recorded; a rejected or expired upload gives its bytes back).
// `asset_id` has no foreign key on purpose: a rejected upload's asset is deleted, its decision stays listed.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE shared_links ADD COLUMN IF NOT EXISTS upload_review boolean NOT NULL DEFAULT false;
    ALTER TABLE shared_links ADD COLUMN IF NOT EXISTS max_upload_bytes bigint CHECK (max_upload_bytes > 0);
    ALTER TABLE shared_links ADD COLUMN IF NOT EXISTS upload_bytes bigint NOT NULL DEFAULT 0;
    CREATE TABLE IF NOT EXISTS link_uploads (
      link_id uuid NOT NULL REFERENCES shared_links(id) ON DELETE CASCADE,
      asset_id uuid NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
      bytes bigint NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      decided_at timestamptz,
      PRIMARY KEY (link_id, asset_id)
    );
    CREATE UNIQUE INDEX IF NOT EXISTS link_uploads_asset_uq ON link_uploads (asset_id);
    CREATE INDEX IF NOT EXISTS link_uploads_link_status_idx ON link_uploads (link_id, status, created_at);
    CREATE INDEX IF NOT EXISTS link_uploads_pending_created_idx ON link_uploads (created_at) WHERE status = 'pending';
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
