import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createPool, type Db, MAX_PREPARED, preparedStatementNames } from '../src/index.ts';

/**
 * Named prepared statements (prepared.ts, DATABASE_PREPARED_STATEMENTS): a text of the pool's table runs as its
 * named statement on every connection that runs it, any other text unnamed, and none without a table — with the
 * same rows either way, through transactions, a statement timeout and a column added under a live statement.
 */
let tdb: TestDatabase;
const dbs: Db[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  await sql`CREATE TABLE prepared_probe (id int PRIMARY KEY, label text NOT NULL)`.execute(tdb.db);
  await sql`INSERT INTO prepared_probe SELECT g, 'label ' || g FROM generate_series(1, 50) g`.execute(tdb.db);
});
afterAll(async () => {
  for (const db of dbs) await db.destroy();
  await tdb?.drop();
});

const BY_ID = 'SELECT id, label FROM prepared_probe WHERE id = $1';
const SLEEP = 'SELECT pg_sleep($1::float8) AS slept';
const WRITE = 'UPDATE prepared_probe SET label = $2 WHERE id = $1';
const TABLE = { 'test.probe-by-id': BY_ID, 'test.sleep': SLEEP, 'test.probe-relabel': WRITE };
const UNREGISTERED = 'SELECT id, label FROM prepared_probe WHERE id = $1 + 0';

/** One connection (max 1), so what one statement prepared is visible to the next. */
function singleConnection(
  preparedStatements: boolean,
  statementTimeoutMillis = 30_000,
  onPreparedStatementsLost?: (err: Error) => void,
): Db {
  const db = createDb(
    createPool({
      connectionString: tdb.url,
      max: 1,
      statementTimeoutMillis,
      ...(preparedStatements ? { preparedStatements: TABLE } : {}),
      ...(onPreparedStatementsLost ? { onPreparedStatementsLost } : {}),
    }),
  );
  dbs.push(db);
  return db;
}

const run = async (db: Db, text: string, params: unknown[]) =>
  (await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(text, params))).rows;

const preparedOnConnection = async (db: Db) =>
  (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`.execute(db)).rows.map(
    (r) => r.name,
  );

describe('the table', () => {
  it('should name each text of the table, and nothing else', () => {
    const names = preparedStatementNames(TABLE);
    expect(names.get(BY_ID)).toBe('immish.test.probe-by-id');
    expect(names.get(UNREGISTERED)).toBeUndefined();
    expect(preparedStatementNames().size).toBe(0);
  });

  it('should refuse one text under two names', () => {
    expect(() => preparedStatementNames({ a: BY_ID, b: BY_ID })).toThrow(
      'prepared statements immish.a and immish.b have the same text',
    );
  });

  it(`should refuse more than ${MAX_PREPARED} statements: a text built per call must never be in it`, () => {
    const many = Object.fromEntries(Array.from({ length: MAX_PREPARED + 1 }, (_, i) => [`n${i}`, `SELECT ${i}`]));
    expect(() => preparedStatementNames(many)).toThrow(`more than ${MAX_PREPARED}`);
    expect(() => createPool({ connectionString: 'postgres://nowhere/x', preparedStatements: many })).toThrow();
  });
});

describe('statements on a connection', () => {
  it('should prepare a registered text once on the connection and give the same rows as unnamed', async () => {
    const named = singleConnection(true);
    const unnamed = singleConnection(false);
    for (const id of [1, 2, 3, 7, 50, 51]) {
      expect(await run(named, BY_ID, [id])).toEqual(await run(unnamed, BY_ID, [id]));
    }
    expect(await run(named, BY_ID, [7])).toEqual([{ id: 7, label: 'label 7' }]);
    expect(await preparedOnConnection(named)).toEqual(['immish.test.probe-by-id']);
    expect(await preparedOnConnection(unnamed)).toEqual([]);
  });

  it('should leave an unregistered text unnamed', async () => {
    const named = singleConnection(true);
    expect(await run(named, UNREGISTERED, [3])).toEqual([{ id: 3, label: 'label 3' }]);
    expect(await preparedOnConnection(named)).toEqual([]);
  });

  it('should run a named statement inside a transaction, and roll back what it wrote with it', async () => {
    const named = singleConnection(true);
    await expect(
      named.transaction().execute(async (trx) => {
        await run(trx, WRITE, [5, 'changed']);
        expect(await run(trx, BY_ID, [5])).toEqual([{ id: 5, label: 'changed' }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await run(named, BY_ID, [5])).toEqual([{ id: 5, label: 'label 5' }]);
    expect(await preparedOnConnection(named)).toEqual(['immish.test.probe-by-id', 'immish.test.probe-relabel']);
  });

  it('should keep the connection and its statement usable after the server cancels one for the statement timeout', async () => {
    const named = singleConnection(true, 200);
    await expect(run(named, SLEEP, [5])).rejects.toMatchObject({ code: '57014' });
    expect(await run(named, SLEEP, [0])).toEqual([{ slept: '' }]);
    expect(await run(named, BY_ID, [9])).toEqual([{ id: 9, label: 'label 9' }]);
  });

  it('should still run after a migration adds a column to the table under a prepared statement', async () => {
    const named = singleConnection(true);
    expect(await run(named, BY_ID, [11])).toEqual([{ id: 11, label: 'label 11' }]);
    await sql`ALTER TABLE prepared_probe ADD COLUMN note text`.execute(tdb.db);
    await sql`UPDATE prepared_probe SET label = 'after' WHERE id = 11`.execute(tdb.db);
    expect(await run(named, BY_ID, [11])).toEqual([{ id: 11, label: 'after' }]);
  });

  it('should run unnamed from then on, and say so once, when the server side loses a named statement (an old pooler)', async () => {
    const lost: Error[] = [];
    const named = singleConnection(true, 30_000, (err) => lost.push(err));
    expect(await run(named, BY_ID, [12])).toEqual([{ id: 12, label: 'label 12' }]);
    // what a transaction-mode pooler older than PgBouncer 1.21 does: the next statement reaches a server connection
    // that never saw the Parse (here the statement is dropped behind the client's back, on its own connection)
    await sql`DEALLOCATE "immish.test.probe-by-id"`.execute(named);
    await expect(run(named, BY_ID, [12])).rejects.toMatchObject({ code: '26000' });
    expect(lost.map((e) => (e as { code?: string }).code)).toEqual(['26000']);
    // every statement of the pool now runs unnamed, and answers
    for (const id of [12, 13]) expect(await run(named, BY_ID, [id])).toEqual([{ id, label: `label ${id}` }]);
    await run(named, WRITE, [13, 'label 13']);
    expect(await preparedOnConnection(named)).toEqual([]);
    expect(lost).toHaveLength(1);
  });
});
