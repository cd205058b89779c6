import type { GatewayConfig } from '@immish/contracts';
import type { Db } from '@immish/db';
import type { ConcurrencyGate, Metrics, RedisConnection } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import type { Logger } from 'pino';

/** Everything the share gateway needs, created by main.ts (or a test) and passed in: no hidden singletons. */
export interface GatewayDeps {
  config: GatewayConfig;
  db: Db;
  storage: BlobStore;
  /** fail-fast connection: unlock throttling counters, readiness */
  redis: RedisConnection;
  /**
   * A connection for the link-invalidation subscription (a subscribed Redis connection can do nothing else).
   * When absent, buildApp duplicates `redis` and closes the duplicate with the app.
   */
  subscriber?: RedisConnection;
  logger: Logger | false;
  /**
   * The per-process bound on password verifications (argon2: ~19 MiB and a thread-pool thread each), built by
   * main.ts (`passwordVerificationGate`); when absent (tests), buildApp builds one from the config.
   */
  passwordVerifications?: ConcurrencyGate;
  metrics?: Metrics;
  readiness?: Record<string, () => Promise<unknown>>;
}
