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
 * BENCH_DURATION_S (default 10) sets the measured seconds; BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=…"
 * profiles the links-api process.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { createApiKey, createUser } from '@immish/domain';
import { cpuSeconds, machineNote, runWrk, type ServiceProcess, startBacking, startLinksApi } from './support.ts';

const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ASSETS = 200;

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

const wrkScript = (apiKey: string, assetIds: readonly string[]) => `
local ids = { ${assetIds.map((id) => `"${id}"`).join(', ')} }
local n = 0
request = function()
  n = n + 1
  local body = '{"type":"INDIVIDUAL","assetIds":["' .. ids[(n % #ids) + 1] .. '"]}'
  return wrk.format("POST", "/api/shared-links", { ["content-type"] = "application/json", ["x-api-key"] = "${apiKey}" }, body)
end
`;

const backing = await startBacking('link-create');
const work = mkdtempSync(join(tmpdir(), 'immish-link-create-'));
let service: ServiceProcess | undefined;
try {
  const { apiKey, assetIds } = await seed(backing.databaseUrl);
  service = await startLinksApi(backing, join(work, 'storage'));
  const script = join(work, 'create.lua');
  writeFileSync(script, wrkScript(apiKey, assetIds));
  const base = service.url;
  const load = (path: string, seconds: number, lua?: string) =>
    runWrk(`${base}${path}`, { seconds, connections: CONNECTIONS, ...(lua ? { script: lua } : {}) });

  await load('/api/shared-links', 3, script); // warm-up: JIT, pool, API-key cache
  const baseline = await load('/health/live', Math.min(DURATION_S, 5));

  const linksBefore = await countLinks(backing.databaseUrl);
  const cpuBefore = cpuSeconds(service.pid);
  const create = await load('/api/shared-links', DURATION_S, script);
  const cpuUsed = cpuSeconds(service.pid) - cpuBefore;
  const created = (await countLinks(backing.databaseUrl)) - linksBefore;
  const cpuPerLinkMs = created > 0 ? (cpuUsed * 1000) / created : Number.NaN;

  const f = (n: number, d = 1) => n.toFixed(d);
  console.log(
    [
      `link creation: links-api process (default configuration, logging on), wrk 1 thread ${CONNECTIONS} connections, ${DURATION_S} s after a 3 s warm-up; ${backing.note}`,
      `machine: ${machineNote()} (wrk, PostgreSQL and the service share it)`,
      '',
      '| scenario | req/s | p50 ms | p90 ms | p99 ms | failed |',
      '|---|---|---|---|---|---|',
      `| POST /api/shared-links | ${f(create.perSecond, 0)} | ${f(create.latencyMs['50'])} | ${f(create.latencyMs['90'])} | ${f(create.latencyMs['99'])} | ${create.failed} |`,
      `| baseline: GET /health/live | ${f(baseline.perSecond, 0)} | ${f(baseline.latencyMs['50'])} | ${f(baseline.latencyMs['90'])} | ${f(baseline.latencyMs['99'])} | ${baseline.failed} |`,
      '',
      `links created: ${created} (${f(created / DURATION_S, 0)}/s); service CPU ${f(cpuUsed, 2)} s → ${f(cpuPerLinkMs, 3)} ms per link (goal ≤ 0.3 ms)`,
      `p99 ${f(create.latencyMs['99'])} ms (goal ≤ 30 ms); ratio to the baseline's p99: ${f(create.latencyMs['99'] / baseline.latencyMs['99'], 1)}×`,
    ].join('\n'),
  );
} finally {
  await service?.stop();
  rmSync(work, { recursive: true, force: true });
  await backing.stop();
}
