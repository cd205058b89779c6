import { type CoreConfig, parseHostPorts, type RedisMode, redisMode } from '@immish/contracts';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { ConfigError } from './config.ts';

/** A connection to whichever topology is configured: one node or Sentinel (`Redis`), or a Redis Cluster. */
export type RedisConnection = Redis | Cluster;

/**
 * What a connection is for; each role has the behaviour its users need in every topology:
 * - `producer`: fail fast (rate limits, publishing, readiness, metrics). No offline queue, so a command while
 *   Redis is unreachable or failing over fails at once; `commandTimeout` fails a command a frozen Redis never
 *   answers. Callers turn both into 503 + Retry-After (docs/spec.md §11: within 2 s).
 * - `worker`: BullMQ Worker connections. They retry forever (BullMQ requires `maxRetriesPerRequest: null`) and
 *   have no command timeout: their blocking commands wait for jobs on purpose, and an outage or a failover only
 *   delays the jobs (their locks are renewed once Redis answers again).
 * - `subscriber`: the gateway's link-invalidation subscription: waits out outages like a worker, and ioredis
 *   subscribes again on the node it reconnects to (the new primary after a failover).
 * - `health`: one-off probes (start-up checks, tools): fail fast and never retry a command.
 */
export type RedisRole = 'producer' | 'worker' | 'subscriber' | 'health';

/**
 * The Redis variables (contracts CoreEnv). Partial: a test or tool may pass just `{ REDIS_URL }`; what is
 * missing takes its default.
 */
export type RedisConfig = Partial<
  Pick<
    CoreConfig,
    | 'REDIS_URL'
    | 'REDIS_SENTINELS'
    | 'REDIS_SENTINEL_NAME'
    | 'REDIS_SENTINEL_PASSWORD'
    | 'REDIS_CLUSTER_NODES'
    | 'REDIS_USERNAME'
    | 'REDIS_PASSWORD'
    | 'REDIS_TLS'
    | 'REDIS_COMMAND_TIMEOUT_MS'
  >
>;

/** Default bound of one command on a fail-fast connection (REDIS_COMMAND_TIMEOUT_MS). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 500;

/** Reconnection pace of every role and topology: soon after a blip, at most every 2 s during an outage. */
const reconnectDelay = (attempt: number) => Math.min(attempt * 200, 2000);

/**
 * A node that was demoted while we stayed connected (the old primary rejoining as a replica) answers writes
 * with READONLY: reconnect (Sentinel mode asks the sentinels for the current primary) and resend the command.
 */
const reconnectOnReadonly = (err: Error) => (err.message.startsWith('READONLY') ? 2 : false);

/** The per-node options of a role (see RedisRole). */
export function redisRoleOptions(role: RedisRole, commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS): RedisOptions {
  const common: RedisOptions = {
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
    reconnectOnError: reconnectOnReadonly,
  };
  switch (role) {
    case 'producer':
      return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: commandTimeoutMs };
    case 'health':
      return { ...common, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: commandTimeoutMs };
    case 'worker':
    case 'subscriber':
      return { ...common, enableOfflineQueue: true, maxRetriesPerRequest: null };
  }
}

/** The topology the configuration selects; a ConfigError naming the variables when it selects none or several. */
export function redisModeOf(c: RedisConfig): RedisMode {
  const m = redisMode(c);
  if ('problem' in m) throw new ConfigError([m.problem]);
  return m.mode;
}

/**
 * The one place that opens Redis connections (issue 20): every service gets its connections from here, for
 * the topology the configuration names (README "Redis: one node, Sentinel or Cluster"):
 * - one node: `REDIS_URL` (also a managed service's primary endpoint, which follows failovers by DNS);
 * - Sentinel: `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`; ioredis asks the sentinels for the primary, again on
 *   every reconnect, so a failover is followed once the broken connection to the old primary is retried;
 * - Cluster: `REDIS_CLUSTER_NODES`; the other nodes and the slot map are discovered, MOVED/ASK followed.
 * The caller owns the connection (`disconnect()` / `quit()`). Errors are reported through the commands that
 * fail, so the connection's 'error' events are consumed here rather than crashing the process.
 */
export function createRedis(
  c: RedisConfig,
  role: RedisRole,
  opts: { commandTimeoutMs?: number; connectionName?: string } = {},
): RedisConnection {
  const mode = redisModeOf(c);
  const node: RedisOptions = {
    ...redisRoleOptions(role, opts.commandTimeoutMs ?? c.REDIS_COMMAND_TIMEOUT_MS),
    ...(c.REDIS_USERNAME ? { username: c.REDIS_USERNAME } : {}),
    ...(c.REDIS_PASSWORD ? { password: c.REDIS_PASSWORD } : {}),
    ...(c.REDIS_TLS ? { tls: {} } : {}),
    ...(opts.connectionName ? { connectionName: opts.connectionName } : {}),
  };
  let conn: RedisConnection;
  if (mode === 'single') {
    conn = new Redis(c.REDIS_URL!, node);
  } else if (mode === 'sentinel') {
    conn = new Redis({
      ...node,
      sentinels: parseHostPorts(c.REDIS_SENTINELS!),
      name: c.REDIS_SENTINEL_NAME!,
      ...(c.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: c.REDIS_SENTINEL_PASSWORD } : {}),
      ...(c.REDIS_TLS ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      sentinelRetryStrategy: reconnectDelay,
      sentinelCommandTimeout: 1000,
      // Not `failoverDetector`: in our failover tests (kill -9 of the primary) it sometimes left the connection
      // ended for good instead of reconnecting; the reconnect after the primary's connection breaks finds the
      // promoted replica through the sentinels anyway.
    });
  } else {
    const { enableOfflineQueue, retryStrategy: _nodesAreReconnectedByTheClusterClient, ...nodeOptions } = node;
    const cluster: ClusterOptions = {
      // nodes are reconnected by the cluster client, which refreshes the slot map on the way
      redisOptions: nodeOptions,
      enableOfflineQueue: enableOfflineQueue ?? true,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: 2000,
      // a primary that died: its slots answer CLUSTERDOWN (or not at all) until a replica is promoted;
      // producers still fail within their command timeout, workers wait
      retryDelayOnFailover: 200,
      retryDelayOnClusterDown: 200,
      retryDelayOnTryAgain: 200,
      // TLS endpoints (ElastiCache, Memorystore) announce nodes by address; the certificate check then needs the
      // announced address as is (ioredis README "Special note: AWS ElastiCache Clusters with TLS")
      ...(c.REDIS_TLS ? { dnsLookup: (address: string, cb: (e: null, a: string) => void) => cb(null, address) } : {}),
    };
    conn = new Cluster(parseHostPorts(c.REDIS_CLUSTER_NODES!), cluster);
  }
  conn.on('error', () => {});
  return conn;
}
