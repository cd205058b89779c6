import { isIP } from 'node:net';
import Type from 'typebox';

/**
 * Configuration only through environment variables (docs/spec.md §12). One schema per group; each service
 * validates the groups it needs at start-up, and a bad variable stops it with a message naming it.
 * Booleans accept true/false/1/0/yes/no; numbers are plain decimal. `.env` in the working directory is read too.
 */
const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description });
const Int = (def: number, description: string, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  Type.Integer({ default: def, minimum: min, maximum: max, description });
const Port = (def: number, description: string) => Int(def, description, 0, 65535);

/** `host:port` pairs, comma-separated (IPv6 hosts in brackets), or empty. */
const HOST_PORT_LIST =
  '^$|^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):\\d{1,5}(\\s*,\\s*(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+):\\d{1,5})*$';

export const CoreEnv = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
    description: 'development | production | test',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  DATABASE_URL: Type.String({ minLength: 1, pattern: '^postgres(ql)?://', description: 'PostgreSQL connection URL' }),
  DATABASE_POOL_MAX: Int(10, 'connections per process', 1, 1000),
  DATABASE_CONNECT_TIMEOUT_MS: Int(
    1000,
    'longest wait for a pooled connection (a new one connecting, or a busy pool freeing one); then 503',
    100,
    60_000,
  ),
  DATABASE_STATEMENT_TIMEOUT_MS: Int(
    1000,
    'server-side statement_timeout; the client gives up 250 ms later (a stalled server) and drops the connection',
    100,
    3_600_000,
  ),
  DATABASE_PREPARED_STATEMENTS: Bool(
    true,
    "links-api runs its hot fixed statements (the owner's link reads, the link create) as named prepared statements, parsed and planned once per connection; false behind a transaction-mode PgBouncer older than 1.21",
  ),
  // Redis topology (README "Redis: one node, Sentinel or Cluster"): exactly one of REDIS_URL, REDIS_SENTINELS,
  // REDIS_CLUSTER_NODES (redisModeProblem; a mix stops the service naming the variables).
  REDIS_URL: Type.String({
    default: '',
    pattern: '^rediss?://',
    description:
      'one Redis node (or a managed primary endpoint): `redis://[user:password@]host:port[/db]`, `rediss://` for TLS',
  }),
  REDIS_SENTINELS: Type.String({
    default: '',
    pattern: HOST_PORT_LIST,
    description: 'Sentinel mode: the sentinels as `host:port,host:port,…` (with REDIS_SENTINEL_NAME)',
  }),
  REDIS_SENTINEL_NAME: Type.String({
    default: '',
    pattern: '^[A-Za-z0-9._-]+$',
    description: 'Sentinel mode: the monitored primary’s name (`sentinel monitor <name> …`)',
  }),
  REDIS_SENTINEL_PASSWORD: Type.String({
    default: '',
    description: 'Sentinel mode: password of the sentinels themselves (their `requirepass`)',
  }),
  REDIS_CLUSTER_NODES: Type.String({
    default: '',
    pattern: HOST_PORT_LIST,
    description:
      'Cluster mode: some of the cluster’s nodes (or its configuration endpoint) as `host:port,…`; the rest are discovered',
  }),
  REDIS_USERNAME: Type.String({
    default: '',
    description: 'ACL user of the data nodes in Sentinel and Cluster modes (REDIS_URL carries its own)',
  }),
  REDIS_PASSWORD: Type.String({
    default: '',
    description: 'password of the data nodes in Sentinel and Cluster modes (REDIS_URL carries its own)',
  }),
  REDIS_TLS: Bool(
    false,
    'TLS to every Redis node (and to the sentinels) in Sentinel and Cluster modes; REDIS_URL uses `rediss://`',
  ),
  REDIS_WAIT_REPLICAS: Int(
    1,
    'replicas that must hold a job before the outbox marks its event published (Redis `WAIT`; at most as many as the primary has at the time, none for a primary without replicas); 0 = never wait',
    0,
    16,
  ),
  REDIS_WAIT_TIMEOUT_MS: Int(
    1000,
    'longest wait for those replicas; an event they did not confirm stays in the outbox and is published again',
    10,
    10_000,
  ),
  QUEUE_PREFIX: Type.String({
    default: 'immish',
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z0-9_{}:-]+$',
    description:
      'base of every Redis key and channel; on Redis Cluster each queue’s keys get the prefix `{<QUEUE_PREFIX>:<queue>}` (a hash tag per queue, braces in QUEUE_PREFIX dropped)',
  }),
  REDIS_COMMAND_TIMEOUT_MS: Int(
    500,
    'longest wait for a Redis answer on fail-fast connections (rate limits, publishing, readiness); queue workers wait',
    50,
    60_000,
  ),
  SHUTDOWN_TIMEOUT_MS: Int(25_000, 'how long SIGTERM waits for in-flight work before forcing exit', 1000),
  // Loopback by default: metrics and detailed health are operators' data (issue 12 item 11); a Prometheus on
  // another host or container needs METRICS_HOST=0.0.0.0 (or a private address) and a port no proxy forwards.
  METRICS_HOST: Type.String({
    default: '127.0.0.1',
    minLength: 1,
    description:
      'listen address of every service’s internal port (Prometheus `/metrics`, detailed `/health/ready`); `0.0.0.0` to let another host scrape it, never forwarded by the public proxy',
  }),
});

export const StorageEnv = Type.Object({
  STORAGE_DRIVER: Type.Union([Type.Literal('fs'), Type.Literal('s3')], { default: 'fs', description: 'fs | s3' }),
  STORAGE_FS_ROOT: Type.String({ default: '.data/storage', minLength: 1, description: 'directory of the fs driver' }),
  S3_BUCKET: Type.String({ default: '', description: 'bucket (required when STORAGE_DRIVER=s3)' }),
  S3_REGION: Type.String({ default: 'us-east-1', description: 'region' }),
  S3_ENDPOINT: Type.String({ default: '', description: 'endpoint URL for S3-compatible stores (MinIO…); empty = AWS' }),
  S3_ACCESS_KEY_ID: Type.String({ default: '', description: 'access key (empty = the SDK default chain)' }),
  S3_SECRET_ACCESS_KEY: Type.String({ default: '', description: 'secret key' }),
  S3_FORCE_PATH_STYLE: Bool(false, 'path-style URLs (MinIO, s3rver)'),
  S3_CHECKSUM_MODE: Type.Union([Type.Literal('WHEN_SUPPORTED'), Type.Literal('WHEN_REQUIRED')], {
    default: 'WHEN_SUPPORTED',
    description: 'SDK request/response checksum mode; WHEN_REQUIRED for emulators that mishandle streamed checksums',
  }),
  S3_PRESIGNED_REDIRECTS: Bool(false, 'serve originals/exports as 302 to a presigned URL (≤ 60 s) instead of proxying'),
  S3_CONNECT_TIMEOUT_MS: Int(1000, 'longest wait for a TCP connection to the S3 endpoint', 100, 60_000),
  S3_STALL_TIMEOUT_MS: Int(
    1000,
    'an S3 request that moves no byte either way for this long is a stall (a long transfer that keeps moving is not)',
    100,
    600_000,
  ),
});

/** How the HTTP services find the client's address behind reverse proxies (fastify's `trustProxy`). */
export type TrustProxy = false | number | string[];

/** proxy-addr's names for address ranges, accepted in a TRUST_PROXY list as they are */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const MAX_PROXY_HOPS = 32;

function isProxyAddress(entry: string): boolean {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const bits = entry.slice(slash + 1);
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY as fastify takes it, or null when the value is not allowed. `false` (or 0): X-Forwarded-* are
 * ignored, the client is the TCP peer. A hop count `n`: the client is the address `n` proxies back from the
 * peer (the last n entries of X-Forwarded-For are the proxies). A comma-separated list of addresses, CIDRs
 * or proxy-addr's `loopback|linklocal|uniquelocal`: X-Forwarded-For is read only when the peer is one of
 * them, and the client is the first address, from the right, that is not.
 *
 * Decision: `true` is refused. It trusts every X-Forwarded-For, which the client itself writes, so each forged
 * address would get fresh password guesses (issue 12 item 5). The error says what to set instead.
 */
export function parseTrustProxy(value: string): TrustProxy | null {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'false' || v === 'no' || v === 'off' || v === '0') return false;
  if (/^\d{1,3}$/.test(v)) return Number(v) <= MAX_PROXY_HOPS ? Number(v) : null;
  const entries = v.split(',').map((e) => e.trim());
  return entries.every(isProxyAddress) ? entries : null;
}

const trustProxyProblem = (value: string): string =>
  `${/^(true|yes|on)$/i.test(value.trim()) ? 'true would trust the X-Forwarded-For header that any client can write (each forged address would get fresh password guesses); ' : ''}` +
  'set the hop count of reverse proxies in front of the service (TRUST_PROXY=1 behind one nginx, Caddy or ' +
  `Traefik, at most ${MAX_PROXY_HOPS}) or their addresses/CIDRs, comma-separated ` +
  '(TRUST_PROXY=127.0.0.1,10.0.0.0/8; also loopback, linklocal, uniquelocal), or false';

export const HttpEnv = Type.Object({
  HOST: Type.String({ default: '0.0.0.0', description: 'listen address' }),
  PUBLIC_URL: Type.String({
    default: 'http://localhost:3002',
    pattern: '^https?://[^\\s]+$',
    description: 'external base URL of the share gateway (share links are built from it)',
  }),
  TRUST_PROXY: Type.Refine(
    Type.String({
      default: 'false',
      description:
        'behind reverse proxies: their hop count (`1` behind one proxy) or their addresses/CIDRs, comma-separated; X-Forwarded-* are read only from them (`true` is refused)',
    }),
    (value: string) => parseTrustProxy(value) !== null,
    trustProxyProblem,
  ),
  BODY_LIMIT_BYTES: Int(1_048_576, 'maximum JSON body size', 1024),
  ACCESS_LOG: Bool(
    true,
    'one `request` log line per request at info, when its answer is complete (method, route, status, ms, reqId); false: none',
  ),
  REQUEST_TIMEOUT_MS: Int(120_000, 'per-request timeout (uploads and downloads need long ones)', 1000),
  RESPONSE_DEADLINE_MS: Int(
    1500,
    'a read (GET/HEAD) whose answer has not started this long after it arrived gets 503 + Retry-After (a stalled backing service); writes answer by their own bounded calls',
    100,
    600_000,
  ),
  UPLOAD_MAX_FILE_BYTES: Int(10 * 1024 ** 3, 'maximum size of one uploaded file', 1),
  UPLOAD_MAX_FILES: Int(500, 'maximum files in one upload batch', 1, 100_000),
});

export const LinksApiEnv = Type.Object({
  LINKS_API_PORT: Port(3001, 'links-api HTTP port'),
  LINKS_API_METRICS_PORT: Port(9104, 'links-api internal port: metrics and detailed health (on METRICS_HOST)'),
  LINK_DEFAULT_EXPIRY_HOURS: Int(0, 'expiry applied when a new link gives none (0 = never expires)'),
  LINK_MAX_EXPIRY_DAYS: Int(
    0,
    'latest allowed expiry, in days from now (0 = unlimited; also forbids never-expiring links when set)',
  ),
  LINK_PASSWORD_REQUIRED: Bool(false, 'every new or updated link must have a password'),
  LINK_UPLOAD_PASSWORD_REQUIRED: Bool(false, 'links that allow upload must have a password'),
  EXPORT_TTL_HOURS: Int(24, 'how long a ready export is kept', 1),
  SESSION_IDLE_DAYS: Int(
    30,
    'a login session (owner console, Immich apps) ends after this many days without use; each use extends it',
    1,
    3650,
  ),
  SESSION_MAX_DAYS: Int(
    365,
    'a login session ends this many days after sign-in however much it is used (then sign in again)',
    1,
    3650,
  ),
  LOGIN_MAX_FAILURES_PER_IP: Int(10, 'wrong passwords per account and client IP per 15 minutes', 1),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: Int(100, 'wrong passwords per account per hour, all clients together', 1),
  LOGIN_VERIFY_CONCURRENCY: Int(
    2,
    'password checks (argon2, ~19 MiB each) run at once per links-api process; a few more wait, beyond that 503 + Retry-After',
    1,
    64,
  ),
});

/** Export requests: the owner API and the gateway apply the same rules (`requestExport`). */
export const ExportRequestEnv = Type.Object({
  EXPORT_MAX_ASSETS: Int(100_000, 'largest export (assets); a bigger selection → 400', 1, 100_000),
});

export const GatewayEnv = Type.Object({
  GATEWAY_PORT: Port(3002, 'share-gateway HTTP port'),
  GATEWAY_METRICS_PORT: Port(9103, 'share-gateway internal port: metrics and detailed health (on METRICS_HOST)'),
  UNLOCK_SECRET: Type.String({
    minLength: 32,
    description: 'HMAC secret for unlock cookies (≥ 32 chars); `npm start` generates one',
  }),
  UNLOCK_TTL_HOURS: Int(24, 'lifetime of an unlock', 1),
  LINK_CACHE_TTL_MS: Int(1000, 'link cache fallback TTL (events invalidate sooner)', 0, 60_000),
  UNLOCK_MAX_FAILURES_PER_IP: Int(10, 'wrong passwords per link and client IP per 15 minutes', 1),
  UNLOCK_MAX_FAILURES_PER_LINK: Int(100, 'wrong passwords per link per hour', 1),
  UNLOCK_VERIFY_CONCURRENCY: Int(
    2,
    'password checks (argon2, ~19 MiB each) run at once per gateway process; a few more wait, beyond that 503 + Retry-After',
    1,
    64,
  ),
  // Export caps (docs/spec.md §14, checked and counted atomically; past a cap → 429 + Retry-After). Identical
  // requests reuse an export and never count twice. Defaults: a real album share — a few visitors
  // downloading at once, each selection a separate archive — while one recipient cannot fill the export
  // queue or the storage.
  EXPORT_MAX_PENDING_PER_LINK: Int(4, 'exports queued or being built at once through one link', 1),
  EXPORT_MAX_PENDING_PER_CLIENT: Int(
    2,
    'exports queued or being built at once for one client address (IPv6: per /64), all links together',
    1,
  ),
  EXPORT_MAX_KEPT_PER_LINK: Int(
    20,
    'exports of one link queued, being built, or ready and not yet expired (archives kept in storage)',
    1,
  ), // The per-link activity log (README "Link activity log"): what the owner sees of each recipient's client.
  ACTIVITY_LOG: Bool(
    true,
    "record recipients' actions in each link's activity log (false: nothing is recorded; the counters stay)",
  ),
  ACTIVITY_IP_MODE: Type.Union([Type.Literal('truncate'), Type.Literal('hash')], {
    default: 'truncate',
    description:
      'how a client address is kept in the activity log: truncate (IPv4 to its /24, IPv6 to its /48) or hash (a keyed HMAC of the full address, needs ACTIVITY_HASH_KEY)',
  }),
  ACTIVITY_HASH_KEY: Type.String({
    default: '',
    description: 'key of the address hash when ACTIVITY_IP_MODE=hash (required then, ≥ 32 chars; keep it secret)',
  }),
});

/**
 * Every background worker (ingest, export, webhooks). docs/architecture.md "CPU priority": they yield the CPU to the
 * services that answer people when the machine is busy, and lose nothing when it is not.
 */
export const BackgroundWorkerEnv = Type.Object({
  WORKER_NICE: Int(
    10,
    'CPU priority of a background worker as a Unix nice value, for all its threads and the tools it runs (ffmpeg): 0 = as started, up to 19 = lowest; on a busy machine links-api and share-gateway get the CPU first',
    0,
    19,
  ),
});

export const IngestWorkerEnv = Type.Object({
  INGEST_METRICS_PORT: Port(9102, 'ingest-worker internal port: metrics and detailed health (on METRICS_HOST)'),
  INGEST_CONCURRENCY: Int(0, 'jobs in parallel per worker (0 = number of CPU cores)', 0, 64),
  INGEST_MAX_PIXELS: Int(100_000_000, 'decompression-bomb guard: largest image in pixels', 1),
  INGEST_KEEP_FAILED_ORIGINALS: Bool(true, 'keep the stored original of a file that failed ingest'),
  INGEST_LOCK_DURATION_MS: Int(
    120_000,
    'job lock of a running ingest: a worker that dies (kill -9, lost machine) hands its job to another worker after about this long',
    1000,
    600_000,
  ),
});

export const ExportWorkerEnv = Type.Object({
  EXPORT_METRICS_PORT: Port(9101, 'export-worker internal port: metrics and detailed health (on METRICS_HOST)'),
  EXPORT_CONCURRENCY: Int(1, 'archives built in parallel per worker', 1, 32),
  EXPORT_TTL_HOURS: Int(24, 'how long a ready export is kept', 1),
  EXPORT_CLEANUP_INTERVAL_MS: Int(15 * 60_000, 'how often the expiry job runs', 1000),
  EXPORT_LOCK_DURATION_MS: Int(
    30_000,
    'job lock of a running export: a worker that dies (kill -9, lost machine) hands its export to another worker after about this long',
    1000,
    600_000,
  ),
  EXPORT_READ_BYTES_PER_SECOND: Int(
    0,
    'cap on how fast one export job reads originals, to leave disk/network bandwidth to the rest of the machine (0 = unlimited)',
  ),
  ACTIVITY_RETENTION_DAYS: Int(
    90,
    'days a link activity entry is kept; older ones are deleted by the hourly maintenance job (export-worker)',
    1,
    3650,
  ),
  UPLOAD_REVIEW_TTL_DAYS: Int(
    30,
    "days a guest upload waits for the owner's review; older pending ones are removed like a rejection by the hourly maintenance job (export-worker)",
    1,
    3650,
  ),
});

/** Webhooks (README "Webhooks and link activity"): read by links-api (registration) and the webhook worker. */
export const WebhookEnv = Type.Object({
  WEBHOOK_ALLOW_PRIVATE: Bool(
    false,
    'let webhook URLs use plain http and loopback/private/link-local addresses (tests, a home lab); never on a shared server',
  ),
  WEBHOOK_SECRET_KEY: Type.String({
    default: '',
    description:
      'key that encrypts the webhook signing secrets at rest (AES-256-GCM; any long random string, the same in links-api and webhook-worker); empty = webhooks off (503)',
  }),
});

export const WebhookWorkerEnv = Type.Object({
  WEBHOOK_METRICS_PORT: Port(9105, 'webhook-worker internal port: metrics and detailed health (on METRICS_HOST)'),
  WEBHOOK_CONCURRENCY: Int(
    16,
    'deliveries in flight at once per webhook worker (each endpoint also has its own 1–4)',
    1,
    512,
  ),
  WEBHOOK_TIMEOUT_MS: Int(
    10_000,
    'one delivery attempt: connect, send and the response headers and first 1 KB within this (tests shorten it)',
    100,
    60_000,
  ),
  WEBHOOK_RETRY_DELAYS_MS: Type.String({
    default: '5000,300000,1800000,7200000,18000000,36000000',
    pattern: '^\\d+(,\\d+)*$',
    description:
      'waits between attempts (ms, comma-separated; the last repeats), each with ±20 % jitter, until WEBHOOK_RETRY_WINDOW_MS',
  }),
  WEBHOOK_RETRY_WINDOW_MS: Int(
    24 * 3_600_000,
    'a delivery is retried for this long after its event; an endpoint failing for this long is disabled',
    1000,
  ),
  WEBHOOK_LOCK_DURATION_MS: Int(
    30_000,
    'job lock of a delivery in flight: a worker that dies mid-delivery (kill -9) hands it to another after about this long',
    1000,
    600_000,
  ),
});

export const LinksApiConfig = Type.Evaluate(
  Type.Intersect([CoreEnv, StorageEnv, HttpEnv, ExportRequestEnv, LinksApiEnv, WebhookEnv]),
);
export type LinksApiConfig = Type.Static<typeof LinksApiConfig>;
export const GatewayConfig = Type.Evaluate(
  Type.Intersect([CoreEnv, StorageEnv, HttpEnv, ExportRequestEnv, GatewayEnv]),
);
export type GatewayConfig = Type.Static<typeof GatewayConfig>;
export const IngestWorkerConfig = Type.Evaluate(
  Type.Intersect([CoreEnv, StorageEnv, BackgroundWorkerEnv, IngestWorkerEnv]),
);
export type IngestWorkerConfig = Type.Static<typeof IngestWorkerConfig>;
export const ExportWorkerConfig = Type.Evaluate(
  Type.Intersect([CoreEnv, StorageEnv, BackgroundWorkerEnv, ExportWorkerEnv]),
);
export type ExportWorkerConfig = Type.Static<typeof ExportWorkerConfig>;
export const WebhookWorkerConfig = Type.Evaluate(
  Type.Intersect([CoreEnv, StorageEnv, BackgroundWorkerEnv, WebhookEnv, WebhookWorkerEnv]),
);
export type WebhookWorkerConfig = Type.Static<typeof WebhookWorkerConfig>;
export type CoreConfig = Type.Static<typeof CoreEnv> & Type.Static<typeof StorageEnv>;
export type BackgroundWorkerConfig = Type.Static<typeof BackgroundWorkerEnv>;

/** Every variable of every service, for the README table and `.env.example`. */
export const allEnvGroups = {
  CoreEnv,
  StorageEnv,
  HttpEnv,
  ExportRequestEnv,
  LinksApiEnv,
  GatewayEnv,
  BackgroundWorkerEnv,
  IngestWorkerEnv,
  ExportWorkerEnv,
  WebhookEnv,
  WebhookWorkerEnv,
};

/** The three Redis topologies; which one a service uses follows from the variables set (redisModeProblem). */
export type RedisMode = 'single' | 'sentinel' | 'cluster';

type RedisModeVars = Partial<
  Pick<CoreConfig, 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME' | 'REDIS_CLUSTER_NODES'>
>;

/** The mode the variables select, or why they select none (a start-up error naming the variables). */
export function redisMode(c: RedisModeVars): { mode: RedisMode } | { problem: string } {
  const set = (
    [
      ['REDIS_URL', c.REDIS_URL],
      ['REDIS_SENTINELS', c.REDIS_SENTINELS],
      ['REDIS_CLUSTER_NODES', c.REDIS_CLUSTER_NODES],
    ] as const
  ).filter(([, v]) => v !== undefined && v !== '');
  if (set.length === 0) {
    return {
      problem:
        'REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES: set exactly one (one node, a Sentinel group, or a Redis Cluster); none is set',
    };
  }
  if (set.length > 1) {
    return {
      problem: `REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES: set exactly one; ${set.map(([n]) => n).join(' and ')} are both set`,
    };
  }
  const name = set[0]![0];
  if (name === 'REDIS_SENTINELS' && !c.REDIS_SENTINEL_NAME) {
    return { problem: 'REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name after `sentinel monitor`)' };
  }
  return { mode: name === 'REDIS_URL' ? 'single' : name === 'REDIS_SENTINELS' ? 'sentinel' : 'cluster' };
}

/** `host:port,…` as ioredis takes it. */
export function parseHostPorts(list: string): { host: string; port: number }[] {
  return list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((e) => {
      const colon = e.lastIndexOf(':');
      return { host: e.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(e.slice(colon + 1)) };
    });
}

/** The activity log's address settings across variables: hash mode needs its key (the gateway refuses to start). */
export const ACTIVITY_HASH_KEY_MIN = 32;
export function activityAddressProblem(c: { ACTIVITY_IP_MODE?: string; ACTIVITY_HASH_KEY?: string }): string | null {
  if (c.ACTIVITY_IP_MODE !== 'hash') return null;
  if ((c.ACTIVITY_HASH_KEY ?? '').length >= ACTIVITY_HASH_KEY_MIN) return null;
  return `ACTIVITY_HASH_KEY: required when ACTIVITY_IP_MODE=hash, at least ${ACTIVITY_HASH_KEY_MIN} characters (any long random string; without it the hashed addresses could be reversed by trying every address), or set ACTIVITY_IP_MODE=truncate`;
}
