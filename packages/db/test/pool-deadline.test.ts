import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createPool, type Db, QUERY_READ_TIMEOUT } from '../src/index.ts';

/**
 * The pool's read deadline (pool.ts `deadlineClient`, the client side of `queryTimeoutMillis`): a statement whose
 * answer does not come in time fails its caller with "Query read timeout" — once — and its connection is dropped,
 * so nothing queued behind it waits for the silent answer. A server that does answer is unaffected: its own
 * `statement_timeout` error reaches the caller as it is. The silent server here is a statement that sleeps past
 * the deadline (test/faults-stall.test.ts freezes a whole PostgreSQL for the services' 503s).
 */
let tdb: TestDatabase;
const pools: pg.Pool[] = [];
const dbs: Db[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  for (const db of dbs) await db.destroy();
  for (const pool of pools) await pool.end().catch(() => {});
  await tdb?.drop();
});

/** One connection, so a statement queued behind a silent one would wait for it. */
function onePool(opts: { statementTimeoutMillis: number; queryTimeoutMillis: number }): pg.Pool {
  const pool = createPool({ connectionString: tdb.url, max: 1, ...opts });
  pools.push(pool);
  return pool;
}

describe('a statement whose answer does not come in time', () => {
  it("should fail pg-pool's callback form once with the read timeout, and drop the connection", async () => {
    const pool = onePool({ statementTimeoutMillis: 30_000, queryTimeoutMillis: 200 });
    const heard: (Error | undefined)[] = [];
    await new Promise<void>((resolve) =>
      pool.query('SELECT pg_sleep(1)', (err: Error | undefined) => {
        heard.push(err);
        resolve();
      }),
    );
    expect(heard.map((e) => e?.message)).toEqual([QUERY_READ_TIMEOUT]);
    // the only connection was dropped: the next statement gets a new one instead of waiting behind the sleep
    const { rows } = await pool.query('SELECT 41 + 1 AS answer');
    expect(rows).toEqual([{ answer: 42 }]);
    // the sleep's own end (or its connection's) is never heard by the caller that already had its answer
    await new Promise((r) => setTimeout(r, 1200));
    expect(heard).toHaveLength(1);
  });

  it("should reject kysely's statement (pg's promise form) with the read timeout, and drop the connection", async () => {
    const db = createDb(onePool({ statementTimeoutMillis: 30_000, queryTimeoutMillis: 200 }));
    dbs.push(db);
    await expect(db.executeQuery(CompiledQuery.raw('SELECT pg_sleep(1)', []))).rejects.toThrow(QUERY_READ_TIMEOUT);
    const { rows } = await db.executeQuery<{ answer: number }>(CompiledQuery.raw('SELECT 41 + 1 AS answer', []));
    expect(rows).toEqual([{ answer: 42 }]);
  });
});

describe('a server that answers', () => {
  it('should pass its own statement_timeout error through, and keep the connection', async () => {
    const pool = onePool({ statementTimeoutMillis: 100, queryTimeoutMillis: 5_000 });
    // a checked-out client, as kysely uses them (pg-pool's own query() discards a client after any error)
    const client = await pool.connect();
    try {
      const backend = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await expect(client.query('SELECT pg_sleep(1)')).rejects.toMatchObject({ code: '57014' });
      expect((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid).toBe(backend);
    } finally {
      client.release();
    }
  });

  it('should answer every form of a statement as pg does', async () => {
    const pool = onePool({ statementTimeoutMillis: 5_000, queryTimeoutMillis: 5_500 });
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect((await pool.query('SELECT $1::int AS two', [2])).rows).toEqual([{ two: 2 }]);
    expect((await pool.query({ text: 'SELECT $1::int AS three', values: [3] })).rows).toEqual([{ three: 3 }]);
    const client = await pool.connect();
    try {
      const viaCallback = await new Promise((resolve, reject) =>
        client.query('SELECT $1::int AS four', [4], (err, res) => (err ? reject(err) : resolve(res.rows))),
      );
      expect(viaCallback).toEqual([{ four: 4 }]);
      await expect(client.query('SELECT nonsense FROM nowhere')).rejects.toMatchObject({ code: '42P01' });
      const viaConfigCallback = await new Promise((resolve, reject) =>
        client.query({
          text: 'SELECT 6 AS six',
          callback: (err: Error | null, res: pg.QueryResult) => (err ? reject(err) : resolve(res.rows)),
        } as pg.QueryConfig),
      );
      expect(viaConfigCallback).toEqual([{ six: 6 }]);
      // a submittable is returned itself, as pg does (pg-cursor and pg-query-stream rely on it)
      const submitted = client.query(new pg.Query('SELECT 5 AS five'));
      expect(submitted).toBeInstanceOf(pg.Query);
      const rows: unknown[] = [];
      await new Promise<void>((resolve, reject) =>
        (submitted as unknown as NodeJS.EventEmitter)
          .on('row', (row: unknown) => rows.push(row))
          .on('end', () => resolve())
          .on('error', reject),
      );
      expect(rows).toEqual([{ five: 5 }]);
    } finally {
      client.release();
    }
  });
});
