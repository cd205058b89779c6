import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

// bigint (int8) stays a string by default (pg's choice, no precision loss); counters and sizes are converted
// in the repositories with Number(), safe below 2^53 bytes. timestamptz parses to Date (pg's default).

export interface PoolOptions {
  connectionString: string;
  max?: number;
  /** fail fast when Postgres is down instead of queueing forever (→ 503 upstream) */
  connectionTimeoutMillis?: number;
  statementTimeoutMillis?: number;
  applicationName?: string;
}

export function createPool(opts: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 2000,
    idleTimeoutMillis: 30_000,
    statement_timeout: opts.statementTimeoutMillis ?? 30_000,
    application_name: opts.applicationName ?? 'immish',
  });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on('error', () => {});
  // Nor a checked-out one: pg-pool listens for errors only on idle clients, and a client whose server goes
  // away mid-transaction emits 'error' besides failing its query (→ an unhandled 'error' event, exit 1).
  // The query's own error still reaches the caller (→ 503), and the pool discards the broken client.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export type Db = Kysely<Database>;

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
