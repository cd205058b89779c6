/**
 * Link activity log benchmark (issue 18): recording activity must not cost recipients. The same gateway, built
 * twice in one server process on the same database — ACTIVITY_LOG=true (the default) and ACTIVITY_LOG=false —
 * measured in the same run on `GET /api/shared-links/me` (records a visit: client described, 30-minute rule
 * checked, buffered, written in the background) and `GET /share/:key/assets/:id/thumbnail` (records nothing;
 * the recorder's background writes share the process). Target: on ≥ 0.95× off for both.
 *
 *   node bench/activity.bench.ts          # or: npm run bench activity
 *
 * Order ABBA (off, on, on, off) per scenario, each the mean of its two runs, so a machine getting busier or
 * quieter during the run does not favour one side. autocannon, 50 connections, BENCH_DURATION_S (10) per run after
 * a 2 s warm-up. The 1,000-asset password album of bench/gateway.bench.ts. Figures are printed, never asserted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayConfig } from '@immish/contracts';
import { createDb, createPool } from '@immish/db';
import { loadConfig } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import { Redis } from 'ioredis';
import { seed } from './gateway.bench.ts';
import { type AutocannonResult, autocannon, startBacking } from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const POOL_MAX = 10;
const UNLOCK_SECRET = randomBytes(32).toString('base64url');
const BROWSER_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

const configFor = (env: Record<string, string>, activity: boolean) =>
  loadConfig(GatewayConfig, {
    DATABASE_URL: env.BENCH_DATABASE_URL as string,
    REDIS_URL: env.BENCH_REDIS_URL as string,
    QUEUE_PREFIX: 'bench',
    STORAGE_FS_ROOT: env.BENCH_STORAGE_ROOT as string,
    PUBLIC_URL: 'http://share.bench',
    DATABASE_POOL_MAX: String(POOL_MAX),
    UNLOCK_SECRET: env.BENCH_UNLOCK_SECRET as string,
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    ACTIVITY_LOG: String(activity),
  });

// ── child: the two gateways ─────────────────────────────────────────────────────────────────────────

async function serve(): Promise<void> {
  const { buildApp } = await import('../apps/share-gateway/src/app.ts');
  const env = process.env as Record<string, string>;
  const pool = createPool({ connectionString: env.BENCH_DATABASE_URL as string, max: POOL_MAX });
  const db = createDb(pool);
  const redis = new Redis(env.BENCH_REDIS_URL as string);
  const storage = createBlobStore({ driver: 'fs', root: env.BENCH_STORAGE_ROOT as string });
  const on = await buildApp({ config: configFor(env, true), db, storage, redis, logger: false });
  const off = await buildApp({ config: configFor(env, false), db, storage, redis, logger: false });
  await on.listen({ port: 0, host: '127.0.0.1' });
  await off.listen({ port: 0, host: '127.0.0.1' });
  const port = (a: ReturnType<typeof on.server.address>) => (a as { port: number }).port;
  process.stdout.write(`READY ${port(on.server.address())} ${port(off.server.address())}\n`);
  process.on('SIGTERM', async () => {
    await Promise.allSettled([on.close(), off.close()]);
    redis.disconnect();
    await db.destroy();
    process.exit(0);
  });
}

// ── parent ──────────────────────────────────────────────────────────────────────────────────────────

async function measure(url: string, headers: Record<string, string>): Promise<AutocannonResult> {
  await autocannon({ url, headers, connections: CONNECTIONS, duration: 2 }); // warm-up
  const r = await autocannon({ url, headers, connections: CONNECTIONS, duration: DURATION_S });
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) process.stderr.write(`[bench] ${url}: ${bad} failed requests\n`);
  return r;
}

export async function runActivityBench(): Promise<{ markdown: string }> {
  const backing = await startBacking('activity');
  let child: ChildProcess | undefined;
  try {
    const s = await seed(backing);
    const { UnlockTokens, unlockCookieName } = await import('../apps/share-gateway/src/unlock.ts');
    const tokens = new UnlockTokens({ secret: UNLOCK_SECRET, ttlHours: 24 });
    const cookie = `${unlockCookieName(s.linkId)}=${tokens.issue({ id: s.linkId, password_version: s.passwordVersion }).token}`;
    const servers = await new Promise<{ on: string; off: string; child: ChildProcess }>((resolve, reject) => {
      const c = spawn(process.execPath, [THIS_FILE, '--serve'], {
        env: {
          ...process.env,
          BENCH_DATABASE_URL: backing.databaseUrl,
          BENCH_REDIS_URL: backing.redisUrl,
          BENCH_STORAGE_ROOT: join(backing.dir, 'storage'),
          BENCH_UNLOCK_SECRET: UNLOCK_SECRET,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      c.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /READY (\d+) (\d+)/.exec(out);
        if (m) resolve({ on: `http://127.0.0.1:${m[1]}`, off: `http://127.0.0.1:${m[2]}`, child: c });
      });
      c.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
    });
    child = servers.child;
    // what a browser sends: /me then comes Brotli-compressed from the body cache, so the per-request work
    // (where recording a visit would show) is not drowned by sending 1.2 MB
    const headers = { cookie, 'user-agent': BROWSER_UA, 'accept-encoding': 'gzip, deflate, br, zstd' };
    const scenarios = [
      {
        label: 'GET /api/shared-links/me (1,000-asset album, unlocked; records a visit; browser Accept-Encoding → br)',
        path: `/api/shared-links/me?key=${s.key}`,
      },
      {
        label: 'GET /share/:key/assets/:id/thumbnail (unlocked)',
        path: `/share/${s.key}/assets/${s.thumbAssetId}/thumbnail`,
      },
    ];
    const rows: string[] = [];
    const verdicts: string[] = [];
    for (const sc of scenarios) {
      const offA = await measure(`${servers.off}${sc.path}`, headers);
      const onA = await measure(`${servers.on}${sc.path}`, headers);
      const onB = await measure(`${servers.on}${sc.path}`, headers);
      const offB = await measure(`${servers.off}${sc.path}`, headers);
      const mean = (a: AutocannonResult, b: AutocannonResult, f: (r: AutocannonResult) => number) => (f(a) + f(b)) / 2;
      const offRps = mean(offA, offB, (r) => r.requests.average);
      const onRps = mean(onA, onB, (r) => r.requests.average);
      const ratio = onRps / offRps;
      rows.push(
        `| ${sc.label}, activity off | ${offRps.toFixed(0)} | baseline | ${mean(offA, offB, (r) => r.latency.p50).toFixed(1)} | ${mean(offA, offB, (r) => r.latency.p99).toFixed(1)} |`,
        `| ${sc.label}, activity on | ${onRps.toFixed(0)} | ${ratio.toFixed(2)}× | ${mean(onA, onB, (r) => r.latency.p50).toFixed(1)} | ${mean(onA, onB, (r) => r.latency.p99).toFixed(1)} |`,
      );
      verdicts.push(
        `- ${sc.label}: on/off ${ratio.toFixed(2)}× (target ≥ 0.95×: ${ratio >= 0.95 ? 'met' : 'NOT met'}); runs off ${offA.requests.average.toFixed(0)}/${offB.requests.average.toFixed(0)}, on ${onA.requests.average.toFixed(0)}/${onB.requests.average.toFixed(0)} req/s.`,
      );
    }
    const markdown = [
      `share-gateway with the activity log on vs off (ACTIVITY_LOG), two apps in one server process on the same database, autocannon ${CONNECTIONS} connections, ${DURATION_S} s per run after a 2 s warm-up, order off-on-on-off, each figure the mean of its two runs; autocannon and the server share the machine (1-minute load average at the end: ${loadavg()[0]?.toFixed(1)}).`,
      '',
      '| scenario | req/s | on/off | p50 ms | p99 ms |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
      ...verdicts,
    ].join('\n');
    return { markdown };
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await backing.stop();
  }
}

if (process.argv.includes('--serve')) {
  await serve();
} else if (process.argv[1] === THIS_FILE) {
  const { markdown } = await runActivityBench();
  console.log(markdown);
}
