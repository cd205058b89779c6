import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createDb, createPool } from '@immish/db';
import { freePort, waitFor } from '@immish/devstack';
import { ensureAdmin } from '@immish/domain';
import { createTestDatabase, serviceEnv, type TestDatabase, testRedis } from '@immish/testkit';

export interface StackProcess {
  name: string;
  /** the service's port: public HTTP for links-api and the gateway, health/metrics for the workers */
  port: number;
  /** the internal port of metrics and detailed health (the workers' only port, so `port` again for them) */
  opsPort: number;
  child: ChildProcess;
  output: string[];
}

export interface Stack {
  tdb: TestDatabase;
  env: Record<string, string>;
  adminKey: string;
  linksUrl: string;
  gatewayUrl: string;
  storageRoot: string;
  procs: Map<string, StackProcess>;
  start(name: ServiceName, extraEnv?: Record<string, string>): Promise<StackProcess>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** a migrated database of the caller's own (e.g. on a private server a fault test stops); default: a fresh test DB */
  databaseUrl?: string;
  /** the caller's own Redis; default: the run's Redis with a private prefix */
  redisUrl?: string;
  /** extra environment for every service */
  env?: Record<string, string>;
  /** how many output chunks each process keeps (default 200) */
  outputLimit?: number;
  /** the fs storage root (e.g. a small disk the caller mounted; the caller removes it); default: a temp dir */
  storageRoot?: string;
  /** the checkout the services run from (e.g. a production install in a fresh clone); default: this repository */
  root?: string;
}

export type ServiceName = 'links-api' | 'share-gateway' | 'export-worker' | 'ingest-worker' | 'webhook-worker';
const entry: Record<ServiceName, string> = {
  'links-api': 'apps/links-api/src/main.ts',
  'share-gateway': 'apps/share-gateway/src/main.ts',
  'export-worker': 'apps/export-worker/src/main.ts',
  'ingest-worker': 'apps/ingest-worker/src/main.ts',
  'webhook-worker': 'apps/webhook-worker/src/main.ts',
};
const portVar: Record<ServiceName, string> = {
  'links-api': 'LINKS_API_PORT',
  'share-gateway': 'GATEWAY_PORT',
  'export-worker': 'EXPORT_METRICS_PORT',
  'ingest-worker': 'INGEST_METRICS_PORT',
  'webhook-worker': 'WEBHOOK_METRICS_PORT',
};
/** what startStack runs when not told: the four services every end-to-end test needs (webhook-worker on request) */
const defaultServices: ServiceName[] = ['links-api', 'share-gateway', 'export-worker', 'ingest-worker'];
/** the HTTP services' internal metrics/health port (the workers serve only that one, on `portVar`) */
const opsPortVar: Partial<Record<ServiceName, string>> = {
  'links-api': 'LINKS_API_METRICS_PORT',
  'share-gateway': 'GATEWAY_METRICS_PORT',
};

/**
 * The four services as real processes (`node apps/<x>/src/main.ts`, exactly what `npm start` runs) on a fresh
 * database, the run's Redis with a private prefix, and a temp fs storage root. End-to-end tests drive them over HTTP.
 */
export async function startStack(services: ServiceName[] = defaultServices, opts: StackOptions = {}): Promise<Stack> {
  const root = opts.root ?? resolve(import.meta.dirname, '../..');
  const tdb = opts.databaseUrl ? externalDatabase(opts.databaseUrl) : await createTestDatabase();
  const { url: testRedisUrl, prefix } = testRedis();
  const redisUrl = opts.redisUrl ?? testRedisUrl;
  const outputLimit = opts.outputLimit ?? 200;
  const storageRoot = opts.storageRoot ?? mkdtempSync(join(tmpdir(), 'immish-stack-'));
  const gatewayPort = await freePort();
  const env: Record<string, string> = serviceEnv(
    { databaseUrl: tdb.url, redisUrl, queuePrefix: prefix, storageRoot },
    {
      UNLOCK_SECRET: randomBytes(32).toString('base64url'),
      WEBHOOK_SECRET_KEY: randomBytes(32).toString('base64url'),
      PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
      HOST: '127.0.0.1',
      GATEWAY_PORT: String(gatewayPort),
      INGEST_CONCURRENCY: '2',
      ...opts.env,
    },
  );
  const { secret } = await ensureAdmin(tdb.db, 'admin@stack.test');
  const procs = new Map<string, StackProcess>();
  const stack: Stack = {
    tdb,
    env,
    adminKey: secret,
    linksUrl: '',
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    storageRoot,
    procs,
    async start(name, extraEnv = {}) {
      // the first gateway gets PUBLIC_URL's port; more gateways (scale-out) get ports of their own
      const firstGateway = name === 'share-gateway' && ![...procs.values()].some((p) => p.name === name);
      const port = firstGateway ? gatewayPort : await freePort();
      const opsVar = opsPortVar[name];
      const opsPort = opsVar ? await freePort() : port;
      const child = spawn(process.execPath, [entry[name]], {
        cwd: root,
        env: { ...env, [portVar[name]]: String(port), ...(opsVar ? { [opsVar]: String(opsPort) } : {}), ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      const keep = (b: Buffer) => {
        output.push(b.toString());
        if (output.length > outputLimit) output.shift();
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const proc = { name, port, opsPort, child, output };
      procs.set(`${name}:${port}`, proc);
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${output.join('')}`);
          return (await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2000) })).ok;
        },
        { timeoutMs: 60_000, what: `${name} to become ready`, intervalMs: 200, fatal: () => child.exitCode !== null },
      );
      if (name === 'links-api' && !stack.linksUrl) stack.linksUrl = `http://127.0.0.1:${port}`;
      return proc;
    },
    async stop() {
      await Promise.all(
        [...procs.values()].map(
          ({ child }) =>
            new Promise<void>((res) => {
              if (child.exitCode !== null || child.signalCode !== null) return res();
              const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
              child.once('exit', () => {
                clearTimeout(t);
                res();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      await tdb.drop();
      if (!opts.storageRoot) rmSync(storageRoot, { recursive: true, force: true });
    },
  };
  try {
    for (const s of services) await stack.start(s);
  } catch (e) {
    // the caller never gets the stack to stop: stop what did start (no service outlives a failed start-up)
    await stack.stop().catch(() => {});
    throw e;
  }
  return stack;
}

/** The caller's database (it owns the server and the data): drop() only closes this pool. */
function externalDatabase(url: string): TestDatabase {
  const pool = createPool({ connectionString: url, max: 4 });
  const db = createDb(pool);
  return { name: new URL(url).pathname.slice(1), url, pool, db, drop: () => db.destroy().catch(() => {}) };
}
