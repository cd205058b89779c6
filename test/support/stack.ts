import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, waitFor } from '@immish/devstack';
import { ensureAdmin } from '@immish/domain';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';

export interface StackProcess {
  name: string;
  port: number;
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

export type ServiceName = 'links-api' | 'share-gateway' | 'export-worker' | 'ingest-worker';
const entry: Record<ServiceName, string> = {
  'links-api': 'apps/links-api/src/main.ts',
  'share-gateway': 'apps/share-gateway/src/main.ts',
  'export-worker': 'apps/export-worker/src/main.ts',
  'ingest-worker': 'apps/ingest-worker/src/main.ts',
};
const portVar: Record<ServiceName, string> = {
  'links-api': 'LINKS_API_PORT',
  'share-gateway': 'GATEWAY_PORT',
  'export-worker': 'EXPORT_METRICS_PORT',
  'ingest-worker': 'INGEST_METRICS_PORT',
};

/**
 * The four services as real processes (`node apps/<x>/src/main.ts`, exactly what `npm start` runs) on a fresh
 * database, the run's Redis with a private prefix, and a temp fs storage root. End-to-end tests drive them over HTTP.
 */
export async function startStack(services: ServiceName[] = Object.keys(entry) as ServiceName[]): Promise<Stack> {
  const root = resolve(import.meta.dirname, '../..');
  const tdb = await createTestDatabase();
  const { url: redisUrl, prefix } = testRedis();
  const storageRoot = mkdtempSync(join(tmpdir(), 'immish-stack-'));
  const gatewayPort = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATABASE_URL: tdb.url,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    STORAGE_FS_ROOT: storageRoot,
    UNLOCK_SECRET: randomBytes(32).toString('base64url'),
    PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
    HOST: '127.0.0.1',
    GATEWAY_PORT: String(gatewayPort),
    INGEST_CONCURRENCY: '2',
  };
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
      const port = name === 'share-gateway' && !procs.has(name) ? gatewayPort : await freePort();
      const child = spawn(process.execPath, [entry[name]], {
        cwd: root,
        env: { ...env, [portVar[name]]: String(port), ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      const keep = (b: Buffer) => {
        output.push(b.toString());
        if (output.length > 200) output.shift();
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      const proc = { name, port, child, output };
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
      rmSync(storageRoot, { recursive: true, force: true });
    },
  };
  for (const s of services) await stack.start(s);
  return stack;
}
