// Shared by the benchmarks: the load generator and the backing services they run against.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startPostgres, startRedis } from '@immish/devstack';
import pg from 'pg';

export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  throughput: { average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
export type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}) => Promise<AutocannonResult>;
/** autocannon is CommonJS without types. */
const autocannonRaw = createRequire(import.meta.url)('autocannon') as (
  opts: Parameters<Autocannon>[0] & { setupClient?: (client: AutocannonClient) => void },
) => Promise<AutocannonResult>;
interface AutocannonClient {
  pipelinedRequests: { addBody(data: Buffer): void };
}

/**
 * autocannon, with response bodies counted but not decoded. autocannon 9 appends every response body to a JS
 * string (`req.body += chunk`, for `expectBody`/`verifyBody`, which the benches do not use): a UTF-8 decode
 * of each body on the load generator's single thread. For binary bodies that is slow (~1 ms per 85 KB
 * Brotli body here, against ~0.02 ms of server CPU to send it), so the load generator, not the server, set the
 * pace (~1,000 req/s and ~50 ms latency at 50 connections, whatever the server). The bytes still cross the
 * socket and are parsed and counted (`throughput`); only the string is not built.
 */
export const autocannon: Autocannon = (opts) =>
  autocannonRaw({
    ...opts,
    setupClient: (client) => {
      client.pipelinedRequests.addBody = () => {};
    },
  });

export interface Backing {
  databaseUrl: string;
  redisUrl: string;
  /** a scratch directory for the benchmark (storage root, generated files) */
  dir: string;
  /** what the database is, for the report */
  note: string;
  stop(): Promise<void>;
}

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/**
 * PostgreSQL and Redis for a benchmark: DATABASE_URL / REDIS_URL when set, otherwise private instances from
 * the system binaries (PostgreSQL with fsync off); a fresh, empty database either way. `stop()` removes it all.
 */
export async function startBacking(name: string): Promise<Backing> {
  const stops: (() => Promise<void>)[] = [];
  let serverUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;
  const dir = mkdtempSync(join(tmpdir(), `immish-${name}-bench-`));
  chmodSync(dir, 0o755); // initdb/postgres run as the postgres user when we are root
  const note = serverUrl
    ? 'PostgreSQL from DATABASE_URL'
    : 'a private PostgreSQL with fsync off (a durable commit would add the disk flush to every write)';
  if (!serverUrl) {
    const pgi = await startPostgres({ dataDir: join(dir, 'pg'), port: await freePort(), ephemeral: true });
    stops.push(() => pgi.stop());
    serverUrl = pgi.url;
  }
  if (!redisUrl) {
    const r = await startRedis({ dataDir: join(dir, 'redis'), port: await freePort() });
    stops.push(() => r.stop());
    redisUrl = r.url;
  }
  const database = `immish_${name.replace(/\W/g, '_')}_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const adminUrl = serverUrl;
  return {
    databaseUrl: withDatabase(adminUrl, database),
    redisUrl,
    dir,
    note,
    async stop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
      await c.end();
      for (const stop of stops.reverse()) await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The `wrk` load generator (Debian package `wrk`), for benchmarks that load a service the way its users' tools do:
 * from its own process, closed-loop over a fixed number of connections. Installed on first use when this runs as
 * root on Debian (like the rest of the bench's system tools); otherwise the error says how to get it.
 */
export function ensureWrk(): string {
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    process.stdout.write('installing wrk (apt-get install -y wrk)…\n');
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'wrk'], { stdio: 'ignore' });
    if (r.status !== 0) spawnSync('sh', ['-c', 'apt-get update && apt-get install -y --no-install-recommends wrk']);
    const again = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
    if (again) return again;
  }
  throw new Error('this benchmark needs wrk on the PATH (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)');
}
