import { type Kysely, sql } from 'kysely';

// Frozen in time: this migration describes the schema as of its date and never imports app code.
// Every statement is idempotent (IF NOT EXISTS), so re-running it against a half-migrated database is safe.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      name text NOT NULL DEFAULT '',
      password_hash text,
      is_admin boolean NOT NULL DEFAULT false,
      quota_bytes bigint,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_uq ON users (lower(email));

    CREATE TABLE IF NOT EXISTS api_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name text NOT NULL,
      key_hash text NOT NULL,
      permissions text[] NOT NULL DEFAULT '{all}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz
    );
    CREATE UNIQUE INDEX IF NOT EXISTS api_keys_key_hash_uq ON api_keys (key_hash);
    CREATE INDEX IF NOT EXISTS api_keys_user_idx ON api_keys (user_id);

    CREATE TABLE IF NOT EXISTS assets (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      type text NOT NULL CHECK (type IN ('IMAGE', 'VIDEO', 'OTHER')),
      original_file_name text NOT NULL,
      mime_type text NOT NULL DEFAULT 'application/octet-stream',
      size bigint NOT NULL DEFAULT 0,
      checksum bytea NOT NULL,
      original_key text NOT NULL,
      thumbnail_key text,
      preview_key text,
      width integer,
      height integer,
      thumbhash bytea,
      file_created_at timestamptz NOT NULL DEFAULT now(),
      file_modified_at timestamptz NOT NULL DEFAULT now(),
      local_date_time timestamptz NOT NULL DEFAULT now(),
      duration text,
      device_asset_id text,
      device_id text,
      is_favorite boolean NOT NULL DEFAULT false,
      exif_make text,
      exif_model text,
      exif_lens_model text,
      exif_exposure_time text,
      exif_f_number double precision,
      exif_focal_length double precision,
      exif_iso integer,
      exif_date_time_original timestamptz,
      exif_latitude double precision,
      exif_longitude double precision,
      exif_orientation integer,
      exif_description text,
      status text NOT NULL DEFAULT 'uploaded' CHECK (status IN ('uploaded', 'processing', 'ready', 'failed')),
      error text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      trashed_at timestamptz
    );
    CREATE UNIQUE INDEX IF NOT EXISTS assets_owner_checksum_uq ON assets (owner_id, checksum);
    CREATE INDEX IF NOT EXISTS assets_owner_created_idx ON assets (owner_id, created_at DESC);

    CREATE TABLE IF NOT EXISTS albums (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      name text NOT NULL,
      description text NOT NULL DEFAULT '',
      thumbnail_asset_id uuid REFERENCES assets(id) ON DELETE SET NULL,
      is_activity_enabled boolean NOT NULL DEFAULT true,
      sort_order text NOT NULL DEFAULT 'desc' CHECK (sort_order IN ('asc', 'desc')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS albums_owner_idx ON albums (owner_id);

    CREATE TABLE IF NOT EXISTS album_assets (
      album_id uuid NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
      asset_id uuid NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
      added_by uuid REFERENCES users(id) ON DELETE SET NULL,
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (album_id, asset_id)
    );
    CREATE INDEX IF NOT EXISTS album_assets_asset_idx ON album_assets (asset_id);

    CREATE TABLE IF NOT EXISTS album_users (
      album_id uuid NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (album_id, user_id)
    );
    CREATE INDEX IF NOT EXISTS album_users_user_idx ON album_users (user_id);

    CREATE TABLE IF NOT EXISTS shared_links (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      type text NOT NULL CHECK (type IN ('ALBUM', 'INDIVIDUAL')),
      album_id uuid REFERENCES albums(id) ON DELETE CASCADE,
      key text NOT NULL,
      slug text,
      description text,
      password_hash text,
      password_version integer NOT NULL DEFAULT 0,
      expires_at timestamptz,
      allow_download boolean NOT NULL DEFAULT true,
      allow_upload boolean NOT NULL DEFAULT false,
      show_metadata boolean NOT NULL DEFAULT true,
      view_count bigint NOT NULL DEFAULT 0,
      download_count bigint NOT NULL DEFAULT 0,
      upload_count bigint NOT NULL DEFAULT 0,
      last_accessed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT shared_links_album_matches_type CHECK ((type = 'ALBUM') = (album_id IS NOT NULL))
    );
    CREATE UNIQUE INDEX IF NOT EXISTS shared_links_key_uq ON shared_links (key);
    CREATE UNIQUE INDEX IF NOT EXISTS shared_links_slug_lower_uq ON shared_links (lower(slug)) WHERE slug IS NOT NULL;
    CREATE INDEX IF NOT EXISTS shared_links_owner_created_idx ON shared_links (owner_id, created_at DESC);
    CREATE INDEX IF NOT EXISTS shared_links_album_idx ON shared_links (album_id) WHERE album_id IS NOT NULL;

    CREATE TABLE IF NOT EXISTS shared_link_assets (
      link_id uuid NOT NULL REFERENCES shared_links(id) ON DELETE CASCADE,
      asset_id uuid NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
      added_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (link_id, asset_id)
    );
    CREATE INDEX IF NOT EXISTS shared_link_assets_asset_idx ON shared_link_assets (asset_id);

    CREATE TABLE IF NOT EXISTS upload_batches (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      uploaded_by_user_id uuid REFERENCES users(id) ON DELETE SET NULL,
      shared_link_id uuid REFERENCES shared_links(id) ON DELETE SET NULL,
      album_id uuid REFERENCES albums(id) ON DELETE SET NULL,
      status text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'completed')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS upload_batches_owner_idx ON upload_batches (owner_id, created_at DESC);

    CREATE TABLE IF NOT EXISTS upload_items (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      batch_id uuid NOT NULL REFERENCES upload_batches(id) ON DELETE CASCADE,
      position integer NOT NULL,
      file_name text NOT NULL,
      size bigint,
      status text NOT NULL DEFAULT 'receiving'
        CHECK (status IN ('receiving', 'stored', 'processing', 'ready', 'duplicate', 'failed')),
      error text,
      asset_id uuid REFERENCES assets(id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (batch_id, position)
    );
    CREATE INDEX IF NOT EXISTS upload_items_asset_idx ON upload_items (asset_id) WHERE asset_id IS NOT NULL;

    CREATE TABLE IF NOT EXISTS exports (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      requested_by_user_id uuid REFERENCES users(id) ON DELETE CASCADE,
      shared_link_id uuid REFERENCES shared_links(id) ON DELETE CASCADE,
      album_id uuid REFERENCES albums(id) ON DELETE SET NULL,
      asset_ids uuid[] NOT NULL,
      options jsonb NOT NULL DEFAULT '{}',
      content_hash text NOT NULL,
      archive_name text NOT NULL,
      status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'ready', 'failed', 'expired')),
      bytes_done bigint NOT NULL DEFAULT 0,
      bytes_total bigint NOT NULL DEFAULT 0,
      parts jsonb NOT NULL DEFAULT '[]',
      attempts integer NOT NULL DEFAULT 0,
      error text,
      expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      completed_at timestamptz,
      CONSTRAINT exports_requester CHECK (requested_by_user_id IS NOT NULL OR shared_link_id IS NOT NULL)
    );
    CREATE INDEX IF NOT EXISTS exports_content_idx ON exports (content_hash) WHERE status = 'ready';
    CREATE INDEX IF NOT EXISTS exports_expiry_idx ON exports (expires_at) WHERE status = 'ready';

    CREATE TABLE IF NOT EXISTS outbox_events (
      id uuid PRIMARY KEY,
      type text NOT NULL,
      aggregate_type text NOT NULL,
      aggregate_id uuid NOT NULL,
      payload jsonb NOT NULL,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz,
      attempts integer NOT NULL DEFAULT 0,
      last_error text
    );
    CREATE INDEX IF NOT EXISTS outbox_events_unpublished_idx ON outbox_events (id) WHERE published_at IS NULL;
    CREATE INDEX IF NOT EXISTS outbox_events_aggregate_idx ON outbox_events (aggregate_type, aggregate_id);

    CREATE OR REPLACE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('outbox_events', '');
      RETURN NULL;
    END $$;
    DROP TRIGGER IF EXISTS outbox_events_notify_trg ON outbox_events;
    CREATE TRIGGER outbox_events_notify_trg AFTER INSERT ON outbox_events
      FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify();
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3: migrations run forward).
}
