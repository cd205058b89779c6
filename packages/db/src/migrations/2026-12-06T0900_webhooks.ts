import { type Kysely, sql } from 'kysely';

// Frozen in time. Webhooks (issue 18, README "Webhooks and link activity"): an owner's endpoints, one delivery
// per (endpoint, event) — unique, so a re-run fan-out adds nothing — and every attempt of it. The signing secret
// must be usable to sign, so it is stored encrypted (AES-256-GCM under WEBHOOK_SECRET_KEY), never hashed.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE IF NOT EXISTS webhook_endpoints (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      owner_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      url text NOT NULL,
      description text NOT NULL DEFAULT '',
      events text[] NOT NULL,
      enabled boolean NOT NULL DEFAULT true,
      concurrency smallint NOT NULL DEFAULT 4 CHECK (concurrency BETWEEN 1 AND 4),
      secret_sealed text NOT NULL,
      disabled_reason text,
      disabled_at timestamptz,
      failing_since timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS webhook_endpoints_owner_idx ON webhook_endpoints (owner_id);

    CREATE TABLE IF NOT EXISTS webhook_deliveries (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
      event_id uuid NOT NULL,
      event_type text NOT NULL,
      body text NOT NULL,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
      attempt_count integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_event_uq ON webhook_deliveries (endpoint_id, event_id);
    CREATE INDEX IF NOT EXISTS webhook_deliveries_recent_idx ON webhook_deliveries (endpoint_id, created_at DESC);

    CREATE TABLE IF NOT EXISTS webhook_attempts (
      id bigserial PRIMARY KEY,
      delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
      attempt integer NOT NULL,
      at timestamptz NOT NULL DEFAULT now(),
      status_code integer,
      error text,
      latency_ms integer NOT NULL,
      response_snippet text NOT NULL DEFAULT ''
    );
    CREATE INDEX IF NOT EXISTS webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempt);
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
