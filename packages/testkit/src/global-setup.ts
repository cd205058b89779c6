import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import {
  freePort,
  MissingBinaryError,
  type PrivatePostgres,
  type PrivateRedis,
  startPostgres,
  startRedis,
} from '@immish/devstack';
import pg from 'pg';
import type { ProvidedContext } from 'vitest';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    redisUrl: string;
    runId: string;
  }
}

/**
 * One PostgreSQL and one Redis for the whole run (docs/architecture.md "Tests"):
 * - TEST_DATABASE_URL / DATABASE_URL and TEST_REDIS_URL / REDIS_URL when set (CI or a developer's servers);
 * - otherwise private instances started from the system binaries in a temp dir, stopped at the end.
 * Migrations run once into a template database; each test file clones it (CREATE DATABASE … TEMPLATE) and
 * uses its own Redis key prefix, so files run in parallel without seeing each other.
 */
export default async function setup(project: TestProject) {
  const backing = await startTestBacking();
  for (const [key, value] of Object.entries(backing.provided)) project.provide(key as keyof ProvidedContext, value);
  return backing.stop;
}

/**
 * What `setup` provides to the test files, and how to stop it: also for a program outside vitest that uses a test
 * harness (bench/share-page.bench.ts), which hands `provided` to database.ts `provideOutsideVitest`.
 */
export async function startTestBacking(): Promise<{ provided: ProvidedContext; stop: () => Promise<void> }> {
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const stops: (() => Promise<void>)[] = [];
  let tmp: string | null = null;
  const privateDir = () => {
    if (!tmp) {
      tmp = mkdtempSync(join(tmpdir(), 'immish-test-'));
      chmodSync(tmp, 0o755); // the postgres user must reach its data dir below it
    }
    return tmp;
  };

  let adminUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || '';
  if (!adminUrl) {
    adminUrl = await orContainer(
      async () => {
        const pgInstance: PrivatePostgres = await startPostgres({
          dataDir: join(privateDir(), 'pg'),
          port: await freePort(),
          ephemeral: true,
        });
        stops.push(() => pgInstance.stop());
        return pgInstance.url;
      },
      {
        image: 'postgres:16-alpine',
        port: 5432,
        env: { POSTGRES_HOST_AUTH_METHOD: 'trust' },
        url: (h, p) => `postgres://postgres@${h}:${p}/postgres`,
      },
      stops,
    );
  }
  let redisUrl = process.env.TEST_REDIS_URL || process.env.REDIS_URL || '';
  if (!redisUrl) {
    redisUrl = await orContainer(
      async () => {
        const redis: PrivateRedis = await startRedis({ dataDir: join(privateDir(), 'redis'), port: await freePort() });
        stops.push(() => redis.stop());
        return redis.url;
      },
      { image: 'redis:7-alpine', port: 6379, env: {}, url: (h, p) => `redis://${h}:${p}` },
      stops,
    );
  }

  const template = `immish_tpl_${runId}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  await admin.end();
  const db = createDb(createPool({ connectionString: withDatabase(adminUrl, template), max: 2 }));
  await migrateToLatest(db);
  await db.destroy();

  const provided: ProvidedContext = { adminDatabaseUrl: adminUrl, templateDatabase: template, redisUrl, runId };
  const stop = async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    try {
      await c.connect();
      // this run's databases only: never touch anybody else's
      const { rows } = await c.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = $2`,
        [`immish_t_${runId}_%`, template],
      );
      for (const { datname } of rows) await c.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    } catch {
      // best effort; a private instance is deleted below anyway
    } finally {
      await c.end().catch(() => {});
    }
    for (const stop of stops.reverse()) await stop().catch(() => {});
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
  return { provided, stop };
}

/**
 * The system binaries first; when they are missing and a Docker engine answers, the same server from
 * testcontainers (loaded only then). No Docker and no binaries: the install hint of MissingBinaryError.
 */
async function orContainer(
  local: () => Promise<string>,
  container: { image: string; port: number; env: Record<string, string>; url: (host: string, port: number) => string },
  stops: (() => Promise<void>)[],
): Promise<string> {
  try {
    return await local();
  } catch (err) {
    const docker = process.env.DOCKER_HOST || existsSync('/var/run/docker.sock');
    if (!(err instanceof MissingBinaryError) || !docker) throw err;
    const { GenericContainer, Wait } = await import('testcontainers');
    const started = await new GenericContainer(container.image)
      .withEnvironment(container.env)
      .withExposedPorts(container.port)
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    stops.push(async () => {
      await started.stop();
    });
    return container.url(started.getHost(), started.getMappedPort(container.port));
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
