/**
 * Link creation as users run it (issue 13): the links-api in its own process, started like production
 * (`node apps/links-api/src/main.ts`, default configuration: only the URLs, the storage directory and free ports
 * are given), loaded by `wrk` at 50 connections doing `POST /api/shared-links` (an INDIVIDUAL link of one of the
 * owner's assets, through an API key).
 *
 *   node bench/link-create.bench.ts          # or: npm run bench link-create
 *
 * Prints the latency percentiles (goal: p99 ≤ 30 ms) and the service's CPU time per created link (goal ≤ 0.3 ms),
 * read from /proc/<pid>/stat around the measured run and divided by the links the database gained: a figure that
 * does not follow what else the machine is doing, unlike the latency. The baseline measured alongside is
 * `GET /health/live` on the same process and connections (fastify and the HTTP stack, nothing of the route).
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database on that server), else a private PostgreSQL and Redis.
 * BENCH_DURATION_S (default 10) sets the measured seconds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { freePort } from '@immish/devstack';
import { createApiKey, createUser } from '@immish/domain';
import { ensureWrk, startBacking } from './support.ts';

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ASSETS = 200;
/** clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux) */
const USER_HZ = 100;

interface Seed {
  apiKey: string;
  assetIds: string[];
}

async function seed(databaseUrl: string): Promise<Seed> {
  const pool = createPool({ connectionString: databaseUrl, max: 2 });
  const db = createDb(pool);
  try {
    await migrateToLatest(db as never);
    const owner = await createUser(db, { email: 'owner@bench.test', name: 'owner', password: 'bench' });
    const { secret } = await createApiKey(db, owner.id, 'bench');
    const assets = Array.from({ length: ASSETS }, (_, i) => ({
      id: randomUUID(),
      owner_id: owner.id,
      type: 'IMAGE' as const,
      original_file_name: `IMG_${i}.jpg`,
      mime_type: 'image/jpeg',
      size: 2_000_000,
      checksum: randomBytes(20),
      original_key: `originals/${owner.id}/${randomUUID()}.jpg`,
      width: 4000,
      height: 3000,
      status: 'ready' as const,
    }));
    await db
      .insertInto('assets')
      .values(assets as never)
      .execute();
    return { apiKey: secret, assetIds: assets.map((a) => a.id) };
  } finally {
    await db.destroy();
  }
}

async function countLinks(databaseUrl: string): Promise<number> {
  const pool = createPool({ connectionString: databaseUrl, max: 1 });
  try {
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM shared_links');
    return (rows[0] as { n: number }).n;
  } finally {
    await pool.end();
  }
}

/** user + system CPU seconds the process has used so far (/proc/<pid>/stat fields 14 and 15) */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

async function startService(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['apps/links-api/src/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${env.LINKS_API_PORT}/health/ready`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`links-api exited with ${child.exitCode}`);
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('links-api did not become ready');
}

interface WrkResult {
  requests: number;
  non2xx: number;
  perSecond: number;
  latencyMs: Record<'50' | '90' | '99', number>;
}

const toMs = (value: string): number => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
};

function runWrk(wrk: string, url: string, seconds: number, script?: string): Promise<WrkResult> {
  const args = ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  return new Promise((resolve, reject) => {
    const child = spawn(wrk, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited with ${code}:\n${out}`));
      const pct = (p: string) => toMs(new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
      resolve({
        requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
        non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
        perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
        latencyMs: { '50': pct('50'), '90': pct('90'), '99': pct('99') },
      });
    });
  });
}

const wrkScript = (apiKey: string, assetIds: readonly string[]) => `
local ids = { ${assetIds.map((id) => `"${id}"`).join(', ')} }
local n = 0
request = function()
  n = n + 1
  local body = '{"type":"INDIVIDUAL","assetIds":["' .. ids[(n % #ids) + 1] .. '"]}'
  return wrk.format("POST", "/api/shared-links", { ["content-type"] = "application/json", ["x-api-key"] = "${apiKey}" }, body)
end
`;

const wrk = ensureWrk();
const backing = await startBacking('link-create');
const work = mkdtempSync(join(tmpdir(), 'immish-link-create-'));
let service: ChildProcess | undefined;
try {
  const { apiKey, assetIds } = await seed(backing.databaseUrl);
  const port = await freePort();
  service = await startService({
    DATABASE_URL: backing.databaseUrl,
    REDIS_URL: backing.redisUrl,
    STORAGE_FS_ROOT: join(work, 'storage'),
    PUBLIC_URL: 'http://share.bench',
    LINKS_API_PORT: String(port),
    LINKS_API_METRICS_PORT: String(await freePort()),
    NODE_ENV: 'production',
  });
  const pid = service.pid as number;
  const script = join(work, 'create.lua');
  writeFileSync(script, wrkScript(apiKey, assetIds));
  const base = `http://127.0.0.1:${port}`;

  await runWrk(wrk, `${base}/api/shared-links`, 3, script); // warm-up: JIT, pool, API-key cache
  const baseline = await runWrk(wrk, `${base}/health/live`, Math.min(DURATION_S, 5));

  const linksBefore = await countLinks(backing.databaseUrl);
  const cpuBefore = cpuSeconds(pid);
  const create = await runWrk(wrk, `${base}/api/shared-links`, DURATION_S, script);
  const cpuUsed = cpuSeconds(pid) - cpuBefore;
  const created = (await countLinks(backing.databaseUrl)) - linksBefore;
  const cpuPerLinkMs = created > 0 ? (cpuUsed * 1000) / created : Number.NaN;

  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(
    [
      `link creation: links-api process (default configuration), wrk ${CONNECTIONS} connections, ${DURATION_S} s after a 3 s warm-up; ${backing.note}`,
      `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (wrk, PostgreSQL and the service share it)`,
      '',
      '| scenario | req/s | p50 ms | p90 ms | p99 ms | non-2xx |',
      '|---|---|---|---|---|---|',
      `| POST /api/shared-links | ${f(create.perSecond, 0)} | ${f(create.latencyMs['50'])} | ${f(create.latencyMs['90'])} | ${f(create.latencyMs['99'])} | ${create.non2xx} |`,
      `| baseline: GET /health/live | ${f(baseline.perSecond, 0)} | ${f(baseline.latencyMs['50'])} | ${f(baseline.latencyMs['90'])} | ${f(baseline.latencyMs['99'])} | ${baseline.non2xx} |`,
      '',
      `links created: ${created} (${f(created / DURATION_S, 0)}/s); service CPU ${f(cpuUsed, 2)} s → ${f(cpuPerLinkMs, 3)} ms per link (goal ≤ 0.3 ms)`,
      `p99 ${f(create.latencyMs['99'])} ms (goal ≤ 30 ms); ratio to the baseline's p99: ${f(create.latencyMs['99'] / baseline.latencyMs['99'], 1)}×`,
    ].join('\n'),
  );
} finally {
  if (service && service.exitCode === null) {
    const exited = new Promise((r) => service?.once('exit', r));
    service.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
  await backing.stop();
}
