import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type PreparedStatements, preparedStatementNames } from './prepared.ts';
import type { Database } from './schema.ts';
import { immishTypes } from './timestamps.ts';

// bigint (int8) stays a string by default (pg's choice, no precision loss); counters and sizes are converted
// in the repositories with Number(), safe below 2^53 bytes. timestamptz parses to Date, through timestamps.ts
// (faster than pg's own parser, same values).

export interface PoolOptions {
  connectionString: string;
  max?: number;
  /**
   * Pool acquire: the longest wait for a connection, whether a new one is connecting (a frozen server accepts
   * the TCP connection and never answers the start-up) or a full pool must free one. Then the caller gets
   * "timeout exceeded when trying to connect" (→ 503). Default 2000.
   */
  connectionTimeoutMillis?: number;
  /**
   * Server side `statement_timeout`: PostgreSQL cancels a statement running longer (SQLSTATE 57014), and the
   * connection stays usable. Default 30000 (tools, tests); the services pass DATABASE_STATEMENT_TIMEOUT_MS.
   */
  statementTimeoutMillis?: number;
  /**
   * Client side read deadline (pg's `query_timeout`, implemented by createPool's client): the longest wait for a statement's answer. It is only reached when the server
   * is silent (frozen, unreachable): a live one has cancelled the statement at `statementTimeoutMillis`.
   * The connection is then dropped (see createPool). Default: statementTimeoutMillis + 250 ms, the margin for
   * the server's own cancellation to arrive.
   */
  queryTimeoutMillis?: number;
  /**
   * Server side `idle_in_transaction_session_timeout`: a session that holds a transaction open without sending
   * anything for this long is ended by PostgreSQL, releasing its locks (a client frozen or cut off mid-transaction).
   * Longer than any wait a transaction makes on purpose (the outbox relay publishes to Redis inside its
   * transaction, bounded by its publish timeout). Default 10000.
   */
  idleInTransactionTimeoutMillis?: number;
  applicationName?: string;
  /**
   * Fail fast while the server is known not to answer: after a statement or a connection attempt timed out,
   * every acquisition fails at once (SQLSTATE 08006, → 503) while one probe at a time checks the server, until
   * a probe is answered. A frozen server then costs callers no wait at all after the first timeout, and it is
   * not buried under the connection attempts of every request when it wakes up (it would have to accept and
   * drop each before reaching the live ones, delaying the recovery). Default false (tools, tests); the
   * services turn it on.
   */
  failFast?: boolean;
  /**
   * The fixed texts to run as named prepared statements, parsed and planned once per connection (prepared.ts);
   * every other statement runs unnamed. Default none; a service passes its table unless
   * DATABASE_PREPARED_STATEMENTS is false (behind a transaction-mode PgBouncer older than 1.21).
   */
  preparedStatements?: PreparedStatements;
  /**
   * Called once if the server side turns out not to keep named statements (a transaction-mode pooler older than
   * PgBouncer 1.21): the pool then runs every statement unnamed (NamedStatements below). The services log it.
   */
  onPreparedStatementsLost?: (err: Error) => void;
}

/** Why the client gave up on a statement (the message pg's own `query_timeout` gives, kept). */
export const QUERY_READ_TIMEOUT = 'Query read timeout';

type QueryCallback = (err: Error | null, res?: unknown) => void;

/** The failure a caller gets while the pool fails fast (`failFast`): a connection failure, so a 503. */
export const DATABASE_NOT_ANSWERING = 'the database is not answering (it timed out a moment ago); retry shortly';

/** A connection attempt that ran into pg-pool's connectionTimeoutMillis (waiting for a connection, or connecting). */
const isConnectTimeout = (err: unknown) =>
  /timeout exceeded when trying to connect|Connection terminated due to connection timeout/.test(
    (err as Error | undefined)?.message ?? '',
  );

/**
 * The pool's named statements (prepared.ts), until the server side shows it does not keep them: a statement this
 * connection prepared is unknown to the server (SQLSTATE 26000), or one it has not is already there (42P05) — what
 * a transaction-mode pooler older than PgBouncer 1.21 does, handing each transaction another server connection.
 * Then every statement of the pool runs unnamed from the next one on (the one that failed has failed: inside a
 * transaction it cannot be retried), and `onLost` says so once, naming DATABASE_PREPARED_STATEMENTS.
 */
class NamedStatements {
  #names: ReadonlyMap<string, string>;
  readonly #onLost: (err: Error) => void;

  constructor(names: ReadonlyMap<string, string>, onLost: (err: Error) => void) {
    this.#names = names;
    this.#onLost = onLost;
  }

  nameOf(text: string): string | undefined {
    return this.#names.get(text);
  }

  /** After a named statement failed: stop naming if the failure says the server does not keep them. */
  check(err: Error): void {
    const code = (err as { code?: unknown }).code;
    if ((code !== '26000' && code !== '42P05') || this.#names.size === 0) return;
    this.#names = new Map();
    this.#onLost(err);
  }
}

/**
 * A pg client that closes its connection when a statement's answer does not come in time. pg's `query_timeout`
 * fails the caller but leaves the unanswered statement at the head of the connection, so every later statement
 * on it would wait behind it (a transaction's ROLLBACK too, doubling every stalled request). Closed, the
 * connection is discarded by the pool on release, a statement sent on it meanwhile fails at once, and PostgreSQL
 * rolls back whatever transaction was open on it as soon as it runs again: a write that timed out is never half
 * done.
 *
 * The deadline is this class's own timer, not pg's `query_timeout`, and the override takes pg's three
 * parameters by name (no rest parameters). Why (issue 17 item 3, docs/benchmarks.md "Garbage the young
 * generation kept"): with pg's option, or with an override written as `query(...args)` that wraps the callback,
 * V8's scavenges found ~5–10 MB of each young generation alive and promoted all of it (`--trace-gc-nvp`:
 * `new_space_survived`, against ~0.2 MB without), so each scavenge took 10–16 ms, links-api's event-loop p99 read
 * over 10 ms even at one connection, and garbage collection took 7–15% of its time under load. Written as below,
 * the same deadline leaves ~0.2 MB alive. Measured, not explained: the same timer and callback wrapper keep the
 * garbage or not depending only on whether the call into pg spreads its arguments (`super.query(...args)` keeps
 * it, three named arguments do not), and pg's own option keeps it too. packages/db/test/pool-garbage.test.ts keeps
 * it from coming back.
 */
function deadlineClient(readTimeoutMs: number, onTimeout: () => void, prepared: NamedStatements): typeof pg.Client {
  const Base = pg.Client as unknown as new (
    config?: unknown,
  ) => {
    query(config: unknown, values: unknown, callback: QueryCallback): void;
    connection?: { stream?: { destroy(): void } };
    _queryable?: boolean;
  };
  class DeadlineClient extends Base {
    override query(config: unknown, values?: unknown, callback?: unknown): Promise<unknown> | undefined {
      // a submittable (pg-cursor, pg-query-stream: none is used here) is pg's as it is: it is returned itself, and
      // its reads may rightly outlast any deadline
      if (typeof (config as { submit?: unknown } | null)?.submit === 'function') {
        return (super.query as (c: unknown, v: unknown, cb: unknown) => Promise<unknown> | undefined)(
          config,
          values,
          callback,
        );
      }
      if (typeof values === 'function') {
        callback = values;
        values = undefined;
      }
      // pg also takes the callback inside a config object ({ text, callback })
      if (callback === undefined && typeof (config as { callback?: unknown } | null)?.callback === 'function') {
        callback = (config as { callback: unknown }).callback;
      }
      // a text of the prepared-statement table (kysely passes `text, values`) runs as its named statement
      const name = typeof config === 'string' ? prepared.nameOf(config) : undefined;
      if (name !== undefined) {
        config = { name, text: config, values: Array.isArray(values) ? values : [] };
        values = undefined;
      }
      if (typeof callback === 'function') {
        this.#run(config, values, name !== undefined, callback as QueryCallback);
        return undefined;
      }
      return new Promise((resolve, reject) => {
        this.#run(config, values, name !== undefined, (err, res) => (err ? reject(err) : resolve(res)));
      });
    }

    /** The statement with its deadline: the caller hears once, from the answer or from the deadline. */
    #run(config: unknown, values: unknown, named: boolean, callback: QueryCallback): void {
      let heard = false;
      const deadline = setTimeout(() => {
        heard = true;
        this.dropConnection();
        callback(new Error(QUERY_READ_TIMEOUT));
      }, readTimeoutMs);
      super.query(config, values, (err, res) => {
        if (heard) return;
        heard = true;
        clearTimeout(deadline);
        if (named && err) prepared.check(err);
        callback(err, res);
      });
    }

    dropConnection(): void {
      // not queryable from now on (pg's own flag, which it sets itself only when the socket's end arrives): a
      // statement sent on it fails at once, and pg-pool discards it when it is released, whoever releases it
      // (kysely releases without an error), so the pool's next statement gets a new connection
      this._queryable = false;
      this.connection?.stream?.destroy();
      onTimeout();
    }
  }
  return DeadlineClient as unknown as typeof pg.Client;
}

/**
 * `failFast` (see PoolOptions): `trip()` after a timeout; acquisitions then fail at once while a background
 * probe (SELECT 1 through the real pool, one at a time, 100 ms apart) waits for the server to answer again.
 */
function failFastGate(pool: pg.Pool): { trip(): void } {
  const connect = pool.connect.bind(pool) as (cb?: unknown) => unknown;
  let open = false;
  const probe = async () => {
    while (open && !pool.ending) {
      try {
        const client = await (connect() as Promise<pg.PoolClient>);
        try {
          await client.query('SELECT 1');
          client.release();
        } catch (err) {
          client.release(err as Error);
          throw err;
        }
        open = false;
      } catch {
        await new Promise((r) => setTimeout(r, 100).unref());
      }
    }
  };
  const gate = {
    trip() {
      if (open || pool.ending) return;
      open = true;
      void probe();
    },
  };
  // pg-pool's own query() goes through this.connect too, so the gate covers every way in
  (pool as unknown as { connect: (cb?: unknown) => unknown }).connect = (cb?: unknown) => {
    if (open) {
      const err = Object.assign(new Error(DATABASE_NOT_ANSWERING), { code: '08006' });
      if (typeof cb === 'function') {
        process.nextTick(() => (cb as (e: Error) => void)(err));
        return undefined;
      }
      return Promise.reject(err);
    }
    if (typeof cb === 'function') {
      return connect((err: Error | undefined, client: unknown, release: unknown) => {
        if (isConnectTimeout(err)) gate.trip();
        (cb as (e: unknown, c: unknown, r: unknown) => void)(err, client, release);
      });
    }
    return (connect() as Promise<pg.PoolClient>).catch((err: unknown) => {
      if (isConnectTimeout(err)) gate.trip();
      throw err;
    });
  };
  return gate;
}

export function createPool(opts: PoolOptions): pg.Pool {
  const statementTimeout = opts.statementTimeoutMillis ?? 30_000;
  let onTimeout = () => {};
  const pool = new pg.Pool({
    Client: deadlineClient(
      opts.queryTimeoutMillis ?? statementTimeout + 250,
      () => onTimeout(),
      new NamedStatements(preparedStatementNames(opts.preparedStatements), opts.onPreparedStatementsLost ?? (() => {})),
    ),
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 2000,
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeout,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMillis ?? 10_000,
    // an idle pooled connection whose server vanished (host down, network cut) is found out by TCP keepalive
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: opts.applicationName ?? 'immish',
    types: immishTypes,
  });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on('error', () => {});
  // Nor a checked-out one: pg-pool listens for errors only on idle clients, and a client whose server goes
  // away mid-transaction emits 'error' besides failing its query (→ an unhandled 'error' event, exit 1).
  // The query's own error still reaches the caller (→ 503), and the pool discards the broken client.
  pool.on('connect', (client) => client.on('error', () => {}));
  if (opts.failFast) {
    const gate = failFastGate(pool);
    onTimeout = () => gate.trip();
  }
  return pool;
}

export type Db = Kysely<Database>;

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
