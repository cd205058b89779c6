import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

/**
 * docs/spec.md §6: a state change and its event commit together or not at all. These helpers let a test make
 * the outbox refuse one event type (a trigger on `outbox_events` raising for the types listed in a side table)
 * and compare everything a writer could have left behind: every table's rows and every stored blob.
 */

/** Installs the refusing trigger on the test's database (idempotent). Refuses nothing until `refuseEvents`. */
export async function installOutboxFault(pool: pg.Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS test_outbox_refused (type text PRIMARY KEY);
    CREATE OR REPLACE FUNCTION test_outbox_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM test_outbox_refused WHERE type = NEW.type) THEN
        RAISE EXCEPTION 'test: outbox refuses % events', NEW.type;
      END IF;
      RETURN NEW;
    END $$;
    DROP TRIGGER IF EXISTS test_outbox_refuse_trg ON outbox_events;
    CREATE TRIGGER test_outbox_refuse_trg BEFORE INSERT ON outbox_events
      FOR EACH ROW EXECUTE FUNCTION test_outbox_refuse();
  `);
}

/** From now on, inserting an event of one of these types fails (and with it the writer's transaction). */
export async function refuseEvents(pool: pg.Pool, types: readonly string[]): Promise<void> {
  await pool.query('INSERT INTO test_outbox_refused (type) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING', [types]);
}

export async function acceptAllEvents(pool: pg.Pool): Promise<void> {
  await pool.query('DELETE FROM test_outbox_refused');
}

/** Number of outbox rows of each type (what a writer appended between two calls). */
export async function eventCounts(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ type: string; n: string }>(
    'SELECT type, count(*) AS n FROM outbox_events GROUP BY type',
  );
  return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
}

/**
 * Every row of every table of the public schema (but the outbox itself, the migration bookkeeping, the fault
 * table and `link_activity`, the activity log the gateway writes in the background a second later, outside any
 * write's transaction by design: README "Link activity log"), as sorted JSON lines per table: two snapshots are equal iff nothing was written in between.
 * `ignoreColumns` names bookkeeping that changes on reads (e.g. an API key's last use).
 */
export async function snapshotTables(
  pool: pg.Pool,
  ignoreColumns: readonly string[] = [],
): Promise<Record<string, string[]>> {
  const { rows: tables } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
        AND table_name NOT IN ('outbox_events', 'test_outbox_refused', 'link_activity')
        AND table_name NOT LIKE 'kysely_migration%'
      ORDER BY table_name`,
  );
  const out: Record<string, string[]> = {};
  for (const { table_name } of tables) {
    const { rows } = await pool.query(`SELECT * FROM "${table_name}"`);
    out[table_name] = rows
      .map((r: Record<string, unknown>) => {
        for (const c of ignoreColumns) delete r[c];
        return JSON.stringify(r, (_k, v) => (v && typeof v === 'object' && v.type === 'Buffer' ? v.data.join(',') : v));
      })
      .sort();
  }
  return out;
}

/** Every file under a filesystem storage root (relative paths, sorted): what a writer left in storage. */
export function listStoredFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full, `${rel}${name}/`);
      else files.push(`${rel}${name}`);
    }
  };
  walk(root, '');
  return files.sort();
}
