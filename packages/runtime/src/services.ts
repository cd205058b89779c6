import { randomBytes } from 'node:crypto';
import type { CoreConfig } from '@immish/contracts';
import {
  BullEventPublisher,
  createDb,
  createPool,
  type Db,
  OutboxRelay,
  type PreparedStatements,
  relayWriterTag,
} from '@immish/db';
import { type BlobStore, createBlobStore, type StorageConfig } from '@immish/storage';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';
import { registerBacklogMetrics } from './observability.ts';
import { createRedis, type RedisConnection } from './redis.ts';

export function storageConfigFromEnv(c: CoreConfig): StorageConfig {
  if (c.STORAGE_DRIVER === 's3') {
    if (!c.S3_BUCKET) throw new Error('S3_BUCKET: required when STORAGE_DRIVER=s3');
    return {
      driver: 's3',
      bucket: c.S3_BUCKET,
      region: c.S3_REGION,
      ...(c.S3_ENDPOINT ? { endpoint: c.S3_ENDPOINT } : {}),
      ...(c.S3_ACCESS_KEY_ID ? { accessKeyId: c.S3_ACCESS_KEY_ID, secretAccessKey: c.S3_SECRET_ACCESS_KEY } : {}),
      forcePathStyle: c.S3_FORCE_PATH_STYLE,
      checksumMode: c.S3_CHECKSUM_MODE,
      connectTimeoutMs: c.S3_CONNECT_TIMEOUT_MS,
      stallTimeoutMs: c.S3_STALL_TIMEOUT_MS,
    };
  }
  return { driver: 'fs', root: c.STORAGE_FS_ROOT };
}

export interface BackingServices {
  pool: pg.Pool;
  db: Db;
  /** general-purpose, fail-fast Redis connection (rate limits, pub/sub publish, readiness) */
  redis: RedisConnection;
  storage: BlobStore;
  publisher: BullEventPublisher;
  relay: OutboxRelay;
  readiness: Record<string, () => Promise<unknown>>;
  close(): Promise<void>;
}

/**
 * The connections a service needs, created once in main.ts (or a test) and passed down. Every service also
 * runs an outbox relay: relays are safe to run concurrently, so events flow as long as any service is up.
 */
export function createBackingServices(
  c: CoreConfig,
  opts: {
    logger: Logger;
    service: string;
    metrics?: Metrics;
    relay?: boolean;
    /** the statements this service runs named (@immish/db prepared.ts), unless DATABASE_PREPARED_STATEMENTS=false */
    preparedStatements?: PreparedStatements;
  },
): BackingServices {
  // Every backing call is bounded (docs/spec.md §11: a stalled service answers 503 within 2 s). The values and their
  // reasons: README "Stalls and full disks"; each option's comment in @immish/db and @immish/storage.
  // A process that runs the relay writes under a tag of its own, which the outbox's NOTIFY carries: its relay
  // claims what it wrote at once and the other services' relays leave it (relay.ts `claimsOnNotify`)
  const runsRelay = opts.relay !== false;
  const writerTag = runsRelay ? relayWriterTag(opts.service, `${process.pid}.${randomBytes(4).toString('hex')}`) : '';
  const pool = createPool({
    connectionString: c.DATABASE_URL,
    max: c.DATABASE_POOL_MAX,
    applicationName: runsRelay ? writerTag : opts.service,
    connectionTimeoutMillis: c.DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMillis: c.DATABASE_STATEMENT_TIMEOUT_MS,
    ...(c.DATABASE_PREPARED_STATEMENTS && opts.preparedStatements
      ? { preparedStatements: opts.preparedStatements }
      : {}),
    onPreparedStatementsLost: (err) =>
      opts.logger.warn(
        { err: { code: (err as { code?: unknown }).code, message: err.message } },
        'named prepared statements do not survive between statements here (a transaction-mode pooler older than PgBouncer 1.21?): every statement runs unnamed from now on; set DATABASE_PREPARED_STATEMENTS=false',
      ),
    failFast: true,
  });
  const db = createDb(pool);
  const redis = createRedis(c, 'producer', { connectionName: opts.service });
  const storage = createBlobStore(storageConfigFromEnv(c));
  const publisher = new BullEventPublisher({
    // a connection of its own: WAIT confirms this connection's writes. Its command bound leaves room for
    // the WAIT's own timeout (a replica acknowledging), which is a wait on purpose, not a stall.
    connection: createRedis(c, 'producer', {
      commandTimeoutMs: c.REDIS_COMMAND_TIMEOUT_MS + c.REDIS_WAIT_TIMEOUT_MS,
      connectionName: `${opts.service}:outbox`,
    }),
    prefix: c.QUEUE_PREFIX,
    waitReplicas: c.REDIS_WAIT_REPLICAS,
    waitTimeoutMs: c.REDIS_WAIT_TIMEOUT_MS,
    warn: (message) => opts.logger.warn(message),
  });
  const relay = new OutboxRelay({
    db,
    databaseUrl: c.DATABASE_URL,
    publisher,
    logger: opts.logger,
    writerTag,
    onPublished: (events) => opts.metrics?.outboxPublished.inc(events.length),
  });
  if (runsRelay) relay.start();
  const closeBacklogMetrics = opts.metrics
    ? registerBacklogMetrics(opts.metrics, { db, redis, prefix: c.QUEUE_PREFIX })
    : null;
  return {
    pool,
    db,
    redis,
    storage,
    publisher,
    relay,
    readiness: {
      postgres: () => pool.query('SELECT 1'),
      redis: () => redis.ping(),
      storage: () => storage.check(),
    },
    async close() {
      await relay.stop().catch(() => {});
      await closeBacklogMetrics?.();
      await publisher.close().catch(() => {});
      redis.disconnect();
      await storage.close().catch(() => {});
      await db.destroy().catch(() => {});
    },
  };
}
