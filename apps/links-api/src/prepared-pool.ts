import type { Database, Db } from '@immish/db';
import { preparedName } from '@immish/domain';
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, type PostgresQueryResult } from 'kysely';

/** pg's `client.query` also takes a named statement: parsed and planned once per connection, then only bound. */
type NamedQueryClient = {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<PostgresQueryResult<unknown>>;
};

/**
 * A view of `pool` (the pg pool the services' `db` runs on) whose connections run the statements the domain
 * marks `/* prepared:<name> *\/` (see packages/domain/src/shared-link-queries.ts) as named prepared statements;
 * everything else goes through unchanged. The hot shared-link statements (a join of ~60 columns, an insert into
 * three tables): PostgreSQL spent more CPU parsing and planning them on every request than running them.
 *
 * `end()` does nothing: the pool belongs to whoever created it (main.ts's backing services, a test, the bench).
 */
export function preparingPool(pool: PostgresPool): PostgresPool {
  const views = new WeakMap<PostgresPoolClient, PostgresPoolClient>();
  const view = (client: PostgresPoolClient): PostgresPoolClient => {
    let v = views.get(client);
    if (!v) {
      const query = ((sql: unknown, parameters?: readonly unknown[]) => {
        const name = typeof sql === 'string' ? preparedName(sql) : undefined;
        if (name !== undefined) {
          return (client as unknown as NamedQueryClient).query({ name, text: sql as string, values: parameters ?? [] });
        }
        return (client.query as (a: unknown, b?: unknown) => unknown).call(client, sql, parameters);
      }) as PostgresPoolClient['query'];
      v = {
        query,
        release: (destroy?: boolean) => client.release(destroy),
        get processID() {
          return client.processID;
        },
      };
      views.set(client, v);
    }
    return v;
  };
  return {
    ...(pool.Client ? { Client: pool.Client } : {}),
    options: pool.options,
    connect: async () => view(await pool.connect()),
    end: async () => {},
  };
}

/** A Kysely over `preparingPool(pool)`: same connections and transactions as `createDb(pool)`, marked statements prepared. */
export function preparingDb(pool: PostgresPool): Db {
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
}
