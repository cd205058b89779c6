/**
 * Named prepared statements (README "Configuration": DATABASE_PREPARED_STATEMENTS; the decision:
 * docs/benchmarks.md "Named prepared statements").
 *
 * An unnamed statement is parsed and planned by PostgreSQL on every execution. For the owner's link reads (a
 * three-table join of ~60 columns) that is most of the statement's cost: pgbench on the links-api bench's table
 * ran the by-id read at 4,900 executions/s unnamed against 17,800 named (2026-12-07). A named statement is
 * parsed once per connection, then only bound and executed.
 *
 * Which statements run named is decided at the composition root (a service's main.ts hands its table to
 * `createBackingServices`, which hands it to `createPool`), never by state kept in a module. The table's rules:
 * - fixed texts only (module constants), never one built per call: each named statement lives on every pooled
 *   connection until the connection closes, so their number must be fixed (`MAX_PREPARED` stops a table built
 *   from something else);
 * - statements whose plan does not depend on the values: PostgreSQL may switch a prepared statement to a generic
 *   plan after five executions, so a statement over skewed data (one owner with 50,000 assets, another with 3)
 *   stays unnamed.
 * With DATABASE_PREPARED_STATEMENTS=false every statement runs unnamed: needed behind a transaction-mode PgBouncer
 * older than 1.21 (a statement prepared on one server connection is unknown on the next).
 */

/** Statement name → its fixed SQL text. */
export type PreparedStatements = Readonly<Record<string, string>>;

export const MAX_PREPARED = 32;

/**
 * SQL text → the statement's name on the server (`immish.<name>`). Throws on a table that breaks the rules it can
 * see: two names for one text, more than MAX_PREPARED statements.
 */
export function preparedStatementNames(statements: PreparedStatements = {}): ReadonlyMap<string, string> {
  const entries = Object.entries(statements);
  if (entries.length > MAX_PREPARED)
    throw new Error(`${entries.length} prepared statements, more than ${MAX_PREPARED}: fixed texts only`);
  const names = new Map<string, string>();
  for (const [name, text] of entries) {
    const other = names.get(text);
    if (other !== undefined) throw new Error(`prepared statements ${other} and immish.${name} have the same text`);
    names.set(text, `immish.${name}`);
  }
  return names;
}
