// `npm start`: the whole stack on one machine (docs/spec.md §12). Uses DATABASE_URL / REDIS_URL (or REDIS_SENTINELS / REDIS_CLUSTER_NODES) when set; otherwise
// starts private PostgreSQL and Redis from the system binaries with data under .data/. Runs migrations,
// creates the demo admin on first start (key printed and written to .data/admin-api-key, a sign-in password for
// the owner console written to .data/admin-password), starts the five
// services with prefixed logs, prints their URLs, and stops everything cleanly on Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { MissingBinaryError, startPostgres, startRedis, waitFor } from '@immish/devstack';
import { ensureAdmin, hashApiKey, PasswordCheck } from '@immish/domain';
import pg from 'pg';
import { formatLogLine } from './pretty-log.ts';

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
try {
  process.loadEnvFile();
} catch {}

const dataDir = resolve(process.env.IMMISH_DATA_DIR ?? '.data');
mkdirSync(dataDir, { recursive: true });
chmodSync(dataDir, 0o755); // the postgres user (as root) must reach .data/postgres
const env: Record<string, string> = { ...(process.env as Record<string, string>) };
const stops: (() => Promise<void>)[] = [];
const children = new Map<string, ChildProcess>();
let stopping = false;

const say = (msg: string) => process.stdout.write(`[immish] ${msg}\n`);

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  await Promise.all(
    [...children.entries()].map(
      ([name, child]) =>
        new Promise<void>((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          const t = setTimeout(() => {
            say(`${name} did not stop in time; killing it`);
            child.kill('SIGKILL');
          }, 30_000);
          child.once('exit', () => {
            clearTimeout(t);
            res();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
  for (const stop of stops.reverse()) await stop().catch(() => {});
  say('stopped');
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  if (!env.DATABASE_URL) {
    const port = Number(env.DEV_POSTGRES_PORT ?? 54329);
    say(`starting PostgreSQL on 127.0.0.1:${port} (data in .data/postgres)`);
    const pgi = await startPostgres({ dataDir: resolve(dataDir, 'postgres'), port });
    stops.push(() => pgi.stop());
    const c = new pg.Client({ connectionString: pgi.url });
    await c.connect();
    const { rowCount } = await c.query(`SELECT 1 FROM pg_database WHERE datname = 'immish'`);
    if (!rowCount) await c.query('CREATE DATABASE immish');
    await c.end();
    env.DATABASE_URL = `postgres://postgres@127.0.0.1:${port}/immish`;
  }
  // a private Redis only when no topology is configured (REDIS_SENTINELS / REDIS_CLUSTER_NODES count too)
  if (!env.REDIS_URL && !env.REDIS_SENTINELS && !env.REDIS_CLUSTER_NODES) {
    const port = Number(env.DEV_REDIS_PORT ?? 63799);
    say(`starting Redis on 127.0.0.1:${port} (data in .data/redis)`);
    const r = await startRedis({ dataDir: resolve(dataDir, 'redis'), port, persistent: true });
    stops.push(() => r.stop());
    env.REDIS_URL = r.url;
  }
} catch (err) {
  if (err instanceof MissingBinaryError) {
    console.error(`[immish] ${err.message}`);
    await shutdown(1);
  }
  throw err;
}

// Secrets and storage defaults for the one-machine setup.
const secretFile = resolve(dataDir, 'unlock-secret');
if (!env.UNLOCK_SECRET) {
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  env.UNLOCK_SECRET = readFileSync(secretFile, 'utf8').trim();
}
// the key that seals webhook signing secrets (README "Webhooks and link activity"): kept, or the stored secrets are lost
const webhookKeyFile = resolve(dataDir, 'webhook-secret-key');
if (!env.WEBHOOK_SECRET_KEY) {
  if (!existsSync(webhookKeyFile))
    writeFileSync(webhookKeyFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
  env.WEBHOOK_SECRET_KEY = readFileSync(webhookKeyFile, 'utf8').trim();
}
env.STORAGE_FS_ROOT ??= resolve(dataDir, 'storage');
env.NODE_ENV ??= 'development';
// the services' type-stripped modules are cached across starts (less memory per process, faster start)
env.NODE_COMPILE_CACHE ??= resolve(dataDir, 'compile-cache');

const db = createDb(createPool({ connectionString: env.DATABASE_URL!, max: 2, connectionTimeoutMillis: 10_000 }));
const { applied } = await migrateToLatest(db);
say(applied.length ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');

const keyFile = resolve(dataDir, 'admin-api-key');
let adminKey = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
const known =
  adminKey &&
  (await db.selectFrom('api_keys').select('id').where('key_hash', '=', hashApiKey(adminKey)).executeTakeFirst());
if (!known) {
  const { secret, user } = await ensureAdmin(db, env.DEMO_ADMIN_EMAIL ?? 'admin@immish.local', 'Demo Admin');
  adminKey = secret;
  writeFileSync(keyFile, `${secret}\n`, { mode: 0o600 });
  say(`demo admin ${user.email} created; API key written to .data/admin-api-key`);
}
// The console's sign-in (docs/spec.md §14): a generated password, written once beside the key. If the owner has
// changed it since (console or POST /api/auth/change-password), the file is stale and is not printed.
const adminEmail = env.DEMO_ADMIN_EMAIL ?? 'admin@immish.local';
const passwordFile = resolve(dataDir, 'admin-password');
const passwords = new PasswordCheck(db);
const admin = await db
  .selectFrom('users')
  .selectAll()
  .where((eb) => eb(eb.fn('lower', ['email']), '=', adminEmail.toLowerCase()))
  .executeTakeFirst();
let adminPassword: string | null = null;
if (admin && !existsSync(passwordFile)) {
  adminPassword = randomBytes(12).toString('base64url');
  await passwords.setPassword(admin.id, adminPassword);
  writeFileSync(passwordFile, `${adminPassword}\n`, { mode: 0o600 });
  say(`demo admin's sign-in password written to .data/admin-password`);
} else if (admin) {
  const kept = readFileSync(passwordFile, 'utf8').trim();
  adminPassword = (await passwords.verify(admin, kept)) ? kept : null;
  if (!adminPassword) say('.data/admin-password is stale: the demo admin changed the password since');
}
await db.destroy();

// `port`: what clients use (the workers have none: their internal port); `opsPort`: metrics and detailed health
// (METRICS_HOST, loopback unless set), kept off the public ports (issue 12 item 11)
const services = [
  {
    name: 'links-api',
    entry: 'apps/links-api/src/main.ts',
    port: Number(env.LINKS_API_PORT ?? 3001),
    opsPort: Number(env.LINKS_API_METRICS_PORT ?? 9104),
  },
  {
    name: 'share-gateway',
    entry: 'apps/share-gateway/src/main.ts',
    port: Number(env.GATEWAY_PORT ?? 3002),
    opsPort: Number(env.GATEWAY_METRICS_PORT ?? 9103),
  },
  {
    name: 'export-worker',
    entry: 'apps/export-worker/src/main.ts',
    port: null,
    opsPort: Number(env.EXPORT_METRICS_PORT ?? 9101),
  },
  {
    name: 'ingest-worker',
    entry: 'apps/ingest-worker/src/main.ts',
    port: null,
    opsPort: Number(env.INGEST_METRICS_PORT ?? 9102),
  },
  {
    name: 'webhook-worker',
    entry: 'apps/webhook-worker/src/main.ts',
    port: null,
    opsPort: Number(env.WEBHOOK_METRICS_PORT ?? 9105),
  },
];
const opsHost = env.METRICS_HOST && env.METRICS_HOST !== '0.0.0.0' ? env.METRICS_HOST : '127.0.0.1';
const width = Math.max(...services.map((s) => s.name.length));
// people read `npm start`: one coloured line per event (LOG_FORMAT=json keeps the services' JSON lines as they are)
const raw = env.LOG_FORMAT === 'json';
const color = process.stdout.isTTY === true && !env.NO_COLOR;
for (const svc of services) {
  const child = spawn(process.execPath, [svc.entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.set(svc.name, child);
  const label = `${svc.name.padEnd(width)} |`;
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) =>
      process.stdout.write(`${raw ? `${label} ${line}` : formatLogLine(line, label, color)}\n`),
    );
  }
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${svc.name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the stack`);
      void shutdown(1);
    }
  });
}

try {
  await Promise.all(
    services.map((s) =>
      waitFor(
        async () =>
          (await fetch(`http://${opsHost}:${s.opsPort}/health/ready`, { signal: AbortSignal.timeout(2000) })).ok,
        { timeoutMs: 120_000, what: `${s.name} to become ready`, intervalMs: 300 },
      ),
    ),
  );
} catch (err) {
  say((err as Error).message);
  await shutdown(1);
}

say('ready:');
for (const s of services) {
  const internal = `internal: http://${opsHost}:${s.opsPort}/metrics, /health/ready`;
  if (s.port === null) {
    say(`  ${s.name.padEnd(width)}  ${internal}`);
    continue;
  }
  const kind = s.name === 'share-gateway' ? 'share pages + recipient API' : 'owner API (docs: /api/docs)';
  say(`  ${s.name.padEnd(width)}  http://localhost:${s.port}  (${kind}; ${internal})`);
}
say(`demo admin API key: ${adminKey}`);
say(
  adminPassword
    ? `owner console: http://localhost:${services[0]!.port}/  sign in as ${adminEmail} with password ${adminPassword}`
    : `owner console: http://localhost:${services[0]!.port}/  sign in as ${adminEmail}`,
);
say('try: curl -H "x-api-key: $(cat .data/admin-api-key)" http://localhost:3001/api/users/me');
say('Ctrl-C stops everything.');
