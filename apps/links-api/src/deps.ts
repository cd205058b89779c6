import type { LinksApiConfig } from '@immish/contracts';
import type { Db } from '@immish/db';
import type { SharedLinkStore } from '@immish/domain';
import type { Metrics, RedisConnection } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Logger } from 'pino';
import type { ConsoleBundle } from './console/bundle.ts';

/** Everything the links-api needs, created by main.ts (or a test) and passed in: no hidden singletons. */
export interface LinksApiDeps {
  config: LinksApiConfig;
  db: Db;
  /**
   * How shared links are written (domain shared-links/store.ts). main.ts builds the batching store (concurrent
   * creates share one statement: bench/link-create.bench.ts); absent, the plain one-transaction store is used.
   */
  linkStore?: SharedLinkStore;
  storage: BlobStore;
  redis: RedisConnection;
  logger: Logger | false;
  metrics?: Metrics;
  readiness?: Record<string, () => Promise<unknown>>;
  /**
   * The console's static bundle (src/console/bundle.ts), built from the sources at start-up when absent; a test
   * gives its own to serve one version, then another (the service worker's update).
   */
  consoleBundle?: ConsoleBundle;
}
