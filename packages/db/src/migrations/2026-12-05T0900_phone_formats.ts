import { type Kysely, sql } from 'kysely';

// Frozen in time. Phone formats (issue 16):
// - `visibility`: 'timeline' or 'hidden' (Immich's AssetVisibility): the motion part of a Live Photo is kept but
//   hidden from timelines and links; its still points at it through `live_photo_video_id` (Immich's field).
// - `live_photo_cid`: Apple's content identifier read at ingest (still: MakerNote, video: QuickTime key), the
//   pairing key; indexed per owner so the second file of a pair finds the first in one lookup.
// - `rendition_*`: the web-playable H.264/AAC MP4 made for a video a browser cannot play as it is: its storage
//   key once stored, the job's state ('queued' | 'running' | 'ready' | 'failed') and progress (0–100).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE assets
      ADD COLUMN IF NOT EXISTS visibility text NOT NULL DEFAULT 'timeline' CHECK (visibility IN ('timeline', 'hidden')),
      ADD COLUMN IF NOT EXISTS live_photo_video_id uuid REFERENCES assets (id) ON DELETE SET NULL,
      ADD COLUMN IF NOT EXISTS live_photo_cid text,
      ADD COLUMN IF NOT EXISTS video_codec text,
      ADD COLUMN IF NOT EXISTS rendition_key text,
      ADD COLUMN IF NOT EXISTS rendition_status text
        CHECK (rendition_status IN ('queued', 'running', 'ready', 'failed')),
      ADD COLUMN IF NOT EXISTS rendition_progress smallint,
      ADD COLUMN IF NOT EXISTS rendition_error text
  `.execute(db);
  await sql`
    CREATE INDEX IF NOT EXISTS assets_live_photo_cid_idx ON assets (owner_id, live_photo_cid)
      WHERE live_photo_cid IS NOT NULL
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
