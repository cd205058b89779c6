/**
 * Footprint: what each service costs a machine before it does any work (issue 17: measured as users run it).
 *
 * Each service is started as `npm start` starts it (`node apps/<name>/src/main.ts`, its own process, the default
 * configuration: fs storage, logging on, Node's compile cache filled) on a private PostgreSQL and Redis, alone, ROUNDS times. Reported per
 * service (medians): the time from the spawn to its first 200 of `/health/ready`, and its memory after IDLE_MS
 * of idling: resident (VmRSS) and private (support.ts `residentMiB`), its child processes' included. The baseline, started the same way in the same run: a bare fastify server in a
 * process of its own (one route, no database) — the least a Node HTTP service costs here.
 *
 * `npx node bench/footprint.bench.ts` (or `npm run bench -- footprint`); FOOTPRINT_ROUNDS (3), FOOTPRINT_IDLE_MS (3000).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import {
  type Backing,
  BENCH_COMPILE_CACHE,
  childPids,
  machineNote,
  residentMiB,
  type ServiceName,
  startBacking,
  startBareServer,
  startService,
} from './support.ts';

const ROUNDS = Number(process.env.FOOTPRINT_ROUNDS ?? 3);
const IDLE_MS = Number(process.env.FOOTPRINT_IDLE_MS ?? 3_000);
const SERVICES: readonly ServiceName[] = [
  'links-api',
  'share-gateway',
  'ingest-worker',
  'export-worker',
  'webhook-worker',
];

interface Sample {
  readyMs: number;
  rssMiB: number;
  privateMiB: number;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bareSample(): Promise<Sample> {
  const started = performance.now();
  const bare = await startBareServer({ ok: { body: Buffer.from('ok'), headers: { 'content-type': 'text/plain' } } });
  const readyMs = performance.now() - started;
  await pause(IDLE_MS);
  const memory = residentMiB(bare.pid);
  await bare.stop();
  return { readyMs, rssMiB: memory.now, privateMiB: memory.private };
}

async function serviceSample(name: ServiceName, backing: Backing): Promise<Sample> {
  const service = await startService(name, {
    DATABASE_URL: backing.databaseUrl,
    REDIS_URL: backing.redisUrl,
    STORAGE_FS_ROOT: join(backing.dir, 'storage'),
    PUBLIC_URL: 'http://share.bench',
    UNLOCK_SECRET: randomBytes(32).toString('base64url'),
  });
  await pause(IDLE_MS);
  const memory = residentMiB(service.pid);
  // what it started and keeps running is its cost too (esbuild's process was, until the builds stopped it)
  const children = childPids(service.pid).map((pid) => residentMiB(pid));
  await service.stop();
  return {
    readyMs: service.readyAfterMs,
    rssMiB: memory.now + children.reduce((sum, c) => sum + c.now, 0),
    privateMiB: memory.private + children.reduce((sum, c) => sum + c.private, 0),
  };
}

const backing = await startBacking('footprint');
try {
  // the compile cache filled first, as the image's build does (scripts/warm-compile-cache.ts): every start then
  // runs the type-stripped modules from it, as a user's second `npm start` does
  execFileSync(process.execPath, ['scripts/warm-compile-cache.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? BENCH_COMPILE_CACHE },
    stdio: 'ignore',
  });
  const pool = createPool({ connectionString: backing.databaseUrl, max: 1 });
  await migrateToLatest(createDb(pool) as never);
  await pool.end();
  const samples = new Map<string, Sample[]>([['bare', []], ...SERVICES.map((s) => [s, []] as [string, Sample[]])]);
  for (let round = 0; round < ROUNDS; round++) {
    samples.get('bare')?.push(await bareSample());
    for (const name of SERVICES) samples.get(name)?.push(await serviceSample(name, backing));
    console.error(`round ${round + 1}/${ROUNDS} done`);
  }
  const bare = samples.get('bare') as Sample[];
  const bareReady = median(bare.map((s) => s.readyMs));
  const barePrivate = median(bare.map((s) => s.privateMiB));
  const row = (label: string, xs: Sample[]) => {
    const ready = median(xs.map((s) => s.readyMs));
    const rss = median(xs.map((s) => s.rssMiB));
    const own = median(xs.map((s) => s.privateMiB));
    return `| ${label} | ${ready.toFixed(0)} | ${(ready / bareReady).toFixed(1)}× | ${rss.toFixed(0)} | ${own.toFixed(0)} | ${(own / barePrivate).toFixed(1)}× |`;
  };
  console.log(
    [
      `Each service started alone as \`npm start\` starts it (its own process, default configuration: fs storage, logging on; Node's compile cache filled first, as the image's build does), ${ROUNDS} times; medians. Memory after ${IDLE_MS / 1000} s idle, child processes included: resident (VmRSS) and private (what this process alone costs the machine; the node binary's code and other shared pages are counted once for all Node processes); ready = spawn → first 200 of /health/ready (polled every 20 ms). Baseline: a bare fastify server (one route, no database) in a process of its own, started the same way in the same run. ${backing.note}.`,
      `Machine: ${machineNote()}.`,
      '',
      '| process | ready after (ms) | vs bare | RSS idle (MiB) | private (MiB) | vs bare |',
      '|---|---:|---:|---:|---:|---:|',
      row('bare fastify server (baseline)', bare),
      ...SERVICES.map((name) => row(name, samples.get(name) as Sample[])),
    ].join('\n'),
  );
} finally {
  await backing.stop();
}
