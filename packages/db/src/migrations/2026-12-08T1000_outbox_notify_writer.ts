import { type Kysely, sql } from 'kysely';

// Frozen in time. An outbox NOTIFY names the connection that wrote the events (its `application_name`), so that
// when the writing process runs a relay of its own, only that relay claims them at once and the others leave them
// to it (outbox/relay.ts `relayWriterTag`; docs/benchmarks.md "Ingest end to end": every relay used to wake for
// every event, and all but one ran an empty claim). `current_setting(…, true)` is NULL-safe: an empty payload, as
// before, wakes every relay.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('outbox_events', coalesce(current_setting('application_name', true), ''));
      RETURN NULL;
    END $$;
  `.execute(db);
}

export async function down(): Promise<void> {
  // Forward-only by policy (docs/spec.md §3).
}
