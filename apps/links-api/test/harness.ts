import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LinksApiConfig } from '@immish/contracts';
import { createApiKey, createUser, ensureAdmin } from '@immish/domain';
import { loadConfig } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApp } from '../src/app.ts';

export interface TestUser {
  id: string;
  email: string;
  key: string;
  headers: { 'x-api-key': string };
}

export interface LinksApiHarness {
  app: FastifyInstance;
  tdb: TestDatabase;
  admin: TestUser;
  prefix: string;
  redisUrl: string;
  storageRoot: string;
  /** a fresh non-admin user with a full API key */
  newUser(name?: string): Promise<TestUser>;
  close(): Promise<void>;
}

/** A links-api on a fresh database, temp fs storage and its own Redis prefix; env overrides the config. */
export async function startLinksApi(env: Record<string, string> = {}): Promise<LinksApiHarness> {
  const tdb = await createTestDatabase();
  const { url: redisUrl, prefix } = testRedis();
  const storageRoot = mkdtempSync(join(tmpdir(), 'immish-links-'));
  const config = loadConfig(LinksApiConfig, {
    DATABASE_URL: tdb.url,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    STORAGE_FS_ROOT: storageRoot,
    PUBLIC_URL: 'http://share.test',
    ...env,
  });
  const storage = createBlobStore({ driver: 'fs', root: storageRoot });
  const redis = new Redis(redisUrl);
  const app = await buildApp({ config, db: tdb.db, storage, redis, logger: false });
  await app.ready();
  const a = await ensureAdmin(tdb.db, 'admin@immish.test');
  const admin = { id: a.user.id, email: a.user.email, key: a.secret, headers: { 'x-api-key': a.secret } };
  let n = 0;
  return {
    app,
    tdb,
    admin,
    prefix,
    redisUrl,
    storageRoot,
    async newUser(name = `user${++n}`) {
      const email = `${name}-${Math.random().toString(36).slice(2, 8)}@immish.test`;
      const u = await createUser(tdb.db, { email, name, password: 'pw' });
      const { secret } = await createApiKey(tdb.db, u.id, 'test');
      return { id: u.id, email, key: secret, headers: { 'x-api-key': secret } };
    },
    async close() {
      await app.close();
      redis.disconnect();
      await storage.close();
      await tdb.drop();
      rmSync(storageRoot, { recursive: true, force: true });
    },
  };
}
