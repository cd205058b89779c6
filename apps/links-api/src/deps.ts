import type { LinksApiConfig } from '@immish/contracts';
import type { Db } from '@immish/db';
import type { Metrics, RedisConnection } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Logger } from 'pino';

/** Everything the links-api needs, created by main.ts (or a test) and passed in: no hidden singletons. */
export interface LinksApiDeps {
  config: LinksApiConfig;
  db: Db;
  storage: BlobStore;
  redis: RedisConnection;
  logger: Logger | false;
  metrics?: Metrics;
  readiness?: Record<string, () => Promise<unknown>>;
}
