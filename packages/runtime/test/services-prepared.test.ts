import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinksApiConfig } from '@immish/contracts';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import { CompiledQuery, sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackingServices, loadConfig } from '../src/index.ts';

/**
 * DATABASE_PREPARED_STATEMENTS as a service reads it: the table a service's main.ts hands to createBackingServices
 * runs named on its pool when true (the default), and unnamed when false (behind an old transaction-mode PgBouncer).
 */
let tdb: TestDatabase;
const storageDir = mkdtempSync(join(tmpdir(), 'immish-prepared-'));

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
  rmSync(storageDir, { recursive: true, force: true });
});

const PROBE = 'SELECT count(*)::int AS n FROM users WHERE email <> $1';

async function preparedOnItsPool(setting: string | undefined): Promise<string[]> {
  const redis = testRedis();
  const config = loadConfig(LinksApiConfig, {
    DATABASE_URL: tdb.url,
    DATABASE_POOL_MAX: '1',
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    STORAGE_DIR: storageDir,
    ...(setting === undefined ? {} : { DATABASE_PREPARED_STATEMENTS: setting }),
  });
  const services = createBackingServices(config, {
    logger: pino({ level: 'silent' }),
    service: 'test',
    relay: false,
    preparedStatements: { 'test.probe': PROBE },
  });
  try {
    await services.db.executeQuery(CompiledQuery.raw(PROBE, ['nobody']));
    const { rows } = await sql<{ name: string }>`SELECT name FROM pg_prepared_statements`.execute(services.db);
    return rows.map((r) => r.name);
  } finally {
    await services.close();
  }
}

describe('DATABASE_PREPARED_STATEMENTS', () => {
  it('should run the service’s table named by default and when true', async () => {
    expect(await preparedOnItsPool(undefined)).toEqual(['immish.test.probe']);
    expect(await preparedOnItsPool('true')).toEqual(['immish.test.probe']);
  });

  it('should run everything unnamed when false', async () => {
    expect(await preparedOnItsPool('false')).toEqual([]);
  });
});
