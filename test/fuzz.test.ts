import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayConfig, LinksApiConfig } from '@immish/contracts';
import { ensureAdmin } from '@immish/domain';
import { loadConfig } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp as buildLinksApi } from '../apps/links-api/src/app.ts';
import { buildApp as buildGateway } from '../apps/share-gateway/src/app.ts';
import { badRequests, fuzz } from './support/fuzz.ts';

let tdb: TestDatabase;
let links: FastifyInstance;
let gateway: FastifyInstance;
let adminKey = '';
let linkKey = '';
const redis = testRedis();
const root = mkdtempSync(join(tmpdir(), 'immish-fuzz-'));
const clients: Redis[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  const env = {
    DATABASE_URL: tdb.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    STORAGE_FS_ROOT: root,
    UNLOCK_SECRET: randomBytes(32).toString('hex'),
  };
  const storage = createBlobStore({ driver: 'fs', root });
  const r1 = new Redis(redis.url);
  const r2 = new Redis(redis.url);
  clients.push(r1, r2);
  links = await buildLinksApi({
    config: loadConfig(LinksApiConfig, env),
    db: tdb.db,
    storage,
    redis: r1,
    logger: false,
  });
  gateway = await buildGateway({
    config: loadConfig(GatewayConfig, env),
    db: tdb.db,
    storage,
    redis: r2,
    logger: false,
  });
  adminKey = (await ensureAdmin(tdb.db, 'fuzz@immish.test')).secret;
  const album = await links.inject({
    method: 'POST',
    url: '/api/albums',
    headers: { 'x-api-key': adminKey },
    payload: { albumName: 'fuzz' },
  });
  const link = await links.inject({
    method: 'POST',
    url: '/api/shared-links',
    headers: { 'x-api-key': adminKey },
    payload: { type: 'ALBUM', albumId: album.json().id, allowUpload: true },
  });
  linkKey = link.json().key;
}, 60_000);

afterAll(async () => {
  await links?.close();
  await gateway?.close();
  for (const c of clients) c.disconnect();
  await tdb?.drop();
  rmSync(root, { recursive: true, force: true });
});

describe('bad input fuzzing (generated from the contract schemas)', () => {
  it('should answer every invalid request to links-api with a 4xx in the error shape, never a 5xx', async () => {
    const requests = badRequests(links.routeTable);
    expect(requests.length).toBeGreaterThan(500);
    const out = await fuzz(links, requests, { 'x-api-key': adminKey });
    expect(out.hung).toEqual([]);
    expect(out.serverErrors).toEqual([]);
    expect(out.badShapes).toEqual([]);
    expect((await links.inject('/health/live')).statusCode).toBe(200);
  }, 300_000);

  it('should answer every invalid request to share-gateway with a 4xx, never a 5xx', async () => {
    const requests = badRequests(gateway.routeTable, { key: linkKey, slug: linkKey });
    expect(requests.length).toBeGreaterThan(200);
    const out = await fuzz(gateway, requests, {});
    expect(out.hung).toEqual([]);
    expect(out.serverErrors).toEqual([]);
    expect(out.badShapes).toEqual([]);
    expect((await gateway.inject('/health/live')).statusCode).toBe(200);
  }, 300_000);
});
