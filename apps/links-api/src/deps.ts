import type { LinksApiConfig } from '@immish/contracts';
import type { Db } from '@immish/db';
import type { Metrics } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Redis } from 'ioredis';
import type { PostgresPool } from 'kysely';
import type { Logger } from 'pino';

/** Everything the links-api needs, created by main.ts (or a test) and passed in: no hidden singletons. */
export interface LinksApiDeps {
  config: LinksApiConfig;
  db: Db;
  /**
   * The pg pool `db` runs on (main.ts's backing services have it). When given, the app queries through a view
   * of it that runs the domain's marked hot statements as prepared statements (prepared-pool.ts); without it,
   * `db` is used as it is.
   */
  pool?: PostgresPool;
  storage: BlobStore;
  redis: Redis;
  logger: Logger | false;
  metrics?: Metrics;
  readiness?: Record<string, () => Promise<unknown>>;
}
