import type { LinksApiConfig } from '@immish/contracts';
import type { Db } from '@immish/db';
import type { Metrics } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Everything the links-api needs, created by main.ts (or a test) and passed in: no hidden singletons. */
export interface LinksApiDeps {
  config: LinksApiConfig;
  db: Db;
  storage: BlobStore;
  redis: Redis;
  logger: Logger | false;
  metrics?: Metrics;
  readiness?: Record<string, () => Promise<unknown>>;
}
