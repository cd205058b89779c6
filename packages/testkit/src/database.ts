import { randomBytes } from 'node:crypto';
import { createDb, createPool, type Db } from '@immish/db';
import pg from 'pg';
import { inject, type ProvidedContext } from 'vitest';
import { withDatabase } from './global-setup.ts';

export interface TestDatabase {
  name: string;
  url: string;
  pool: pg.Pool;
  db: Db;
  drop(): Promise<void>;
}

let outsideVitest: ProvidedContext | undefined;

/**
 * For a program outside vitest that uses a test harness (a benchmark): what global-setup.ts provides to test files
 * (its `startTestBacking().provided`), given directly, since vitest's `inject` works only inside a test run.
 */
export function provideOutsideVitest(provided: ProvidedContext): void {
  outsideVitest = provided;
}

const provided = <K extends keyof ProvidedContext>(key: K): ProvidedContext[K] =>
  outsideVitest ? outsideVitest[key] : inject(key);

/** A fresh, migrated database cloned from the run's template; drop() removes it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = provided('adminDatabaseUrl');
  const template = provided('templateDatabase');
  const name = `immish_t_${provided('runId')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    // CREATE DATABASE … TEMPLATE fails if another session is connected to the template; retry briefly.
    for (let i = 0; ; i++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
        break;
      } catch (err) {
        if (i > 20 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await admin.end();
  }
  const url = withDatabase(adminUrl, name);
  // the services' 2 s connect timeout (fail fast → 503) is for production; a test's own pool on a busy CI
  // machine (three test files, browsers and private servers at once) may wait longer for a connection
  const pool = createPool({ connectionString: url, max: 10, connectionTimeoutMillis: 15_000 });
  const db = createDb(pool);
  return {
    name,
    url,
    pool,
    db,
    async drop() {
      await db.destroy().catch(() => {});
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A Redis URL and a key prefix no other test file uses. */
export function testRedis(): { url: string; prefix: string } {
  return { url: provided('redisUrl'), prefix: `t${provided('runId')}${randomBytes(3).toString('hex')}` };
}
