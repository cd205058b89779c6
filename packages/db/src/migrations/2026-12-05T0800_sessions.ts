import { type Kysely, sql } from 'kysely';

// Frozen in time. Login sessions of the owner console and Immich's clients (docs/spec.md §14: Immich's
// `/api/auth/*` and `/api/sessions`). Only the SHA-256 of the 32-byte random token is stored, never the token:
// a copy of the table signs nobody in. `expires_at` slides forward with use (never beyond `absolute_expires_at`);
// an expired row is refused, and swept on the owner's next login.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      token_hash text NOT NULL,
      device_type text NOT NULL DEFAULT '',
      device_os text NOT NULL DEFAULT '',
      app_version text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      absolute_expires_at timestamptz NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS sessions_token_hash_uq ON sessions (token_hash);
    CREATE INDEX IF NOT EXISTS sessions_user_idx ON sessions (user_id);
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
