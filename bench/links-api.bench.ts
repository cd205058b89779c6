/**
 * links-api benchmark (issue 3): the shared-link routes under load against a bare fastify route doing one
 * indexed SELECT on the same pg pool, measured in the same run.
 *
 *   node bench/links-api.bench.ts
 *
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database is created on that server and dropped after),
 * else starts a private PostgreSQL and Redis (@immish/devstack) in a temp dir. The servers (links-api and
 * the bare route, sharing one pool) run in a child process so that autocannon (50 connections) does not
 * share their event loop. Figures are printed, never asserted. Targets: POST and GET ?id= ≥ 0.5× the bare
 * route's req/s; listing a user's links with 10,000 links in the table: p99 ≤ 30 ms.
 *
 * Besides req/s and latency (which follow whatever else the machine is doing), each scenario reports the
 * server process's CPU time per request — a figure that does not depend on the machine's load — and
 * `GET /api/users/me` as the floor every authenticated route pays (API-key lookup, fastify, serialization).
 * BENCH_DURATION_S (default 10) sets the seconds per scenario; BENCH_SERVER_NODE_FLAGS passes flags such as
 * --cpu-prof to the server process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinksApiConfig } from '@immish/contracts';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { createApiKey, createSharedLinkStore, createUser } from '@immish/domain';
import { loadConfig } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { type Autocannon, type AutocannonResult, autocannon, startBacking } from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const TABLE_LINKS = 10_000;
const LIST_USER_LINKS = 100;
const POOL_MAX = 10;

// ── child: the servers ──────────────────────────────────────────────────────────────────────────────

async function serve(): Promise<void> {
  const { buildApp } = await import('../apps/links-api/src/app.ts');
  const env = process.env as Record<string, string>;
  const storageRoot = mkdtempSync(join(tmpdir(), 'immish-bench-storage-'));
  const config = loadConfig(LinksApiConfig, {
    DATABASE_URL: env.BENCH_DATABASE_URL as string,
    REDIS_URL: env.BENCH_REDIS_URL as string,
    QUEUE_PREFIX: 'bench',
    STORAGE_FS_ROOT: storageRoot,
    PUBLIC_URL: 'http://share.bench',
    DATABASE_POOL_MAX: String(POOL_MAX),
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
  });
  const pool = createPool({ connectionString: config.DATABASE_URL, max: POOL_MAX });
  const db = createDb(pool);
  const redis = new Redis(config.REDIS_URL);
  const storage = createBlobStore({ driver: 'fs', root: storageRoot });
  const app = await buildApp({
    config,
    db,
    linkStore: createSharedLinkStore(db, { batching: true }),
    storage,
    redis,
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });

  // The baseline: a bare fastify route, one indexed SELECT (primary key), same pool.
  const bare = Fastify({ logger: false });
  bare.get<{ Params: { id: string } }>('/bare/links/:id', async (req) => {
    const { rows } = await pool.query('SELECT id, owner_id, key, slug, expires_at FROM shared_links WHERE id = $1', [
      req.params.id,
    ]);
    return rows[0] ?? null;
  });
  // CPU time the server process has used (µs): the load-independent cost of a request is its delta / requests.
  bare.get('/bare/cpu', async () => {
    const u = process.cpuUsage();
    return { micros: u.user + u.system };
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });

  const port = (a: ReturnType<typeof app.server.address>) => (a as { port: number }).port;
  process.stdout.write(`READY ${port(app.server.address())} ${port(bare.server.address())}\n`);
  process.on('SIGTERM', async () => {
    await Promise.allSettled([app.close(), bare.close()]);
    redis.disconnect();
    await db.destroy();
    rmSync(storageRoot, { recursive: true, force: true });
    process.exit(0);
  });
}

// ── parent: setup, seeding, load ────────────────────────────────────────────────────────────────────

interface Seed {
  key: string;
  assetId: string;
  sampleLinkId: string;
  listKey: string;
}

/** 10,000 links in the table: the list user owns LIST_USER_LINKS of them (each with one asset), 99 others the rest. */
async function seed(databaseUrl: string): Promise<Seed> {
  const pool = createPool({ connectionString: databaseUrl, max: 4 });
  const db = createDb(pool);
  try {
    await migrateToLatest(db as never);
    const makeUser = async (name: string) => {
      const u = await createUser(db, { email: `${name}@bench.test`, name, password: 'bench' });
      const { secret } = await createApiKey(db, u.id, 'bench');
      return { id: u.id, key: secret };
    };
    const poster = await makeUser('poster');
    const lister = await makeUser('lister');
    const others = await db
      .insertInto('users')
      .values(
        Array.from({ length: 99 }, (_, i) => ({
          email: `other${i}@bench.test`,
          name: `other${i}`,
          password_hash: null,
        })),
      )
      .returning('id')
      .execute();
    const newAsset = (ownerId: string) => ({
      id: randomUUID(),
      owner_id: ownerId,
      type: 'IMAGE' as const,
      original_file_name: 'IMG_0001.jpg',
      mime_type: 'image/jpeg',
      size: 2_000_000,
      checksum: randomBytes(20),
      original_key: `originals/${ownerId}/${randomUUID()}.jpg`,
      width: 4000,
      height: 3000,
      status: 'ready' as const,
    });
    const posterAsset = newAsset(poster.id);
    const listerAssets = Array.from({ length: LIST_USER_LINKS }, () => newAsset(lister.id));
    await db
      .insertInto('assets')
      .values([posterAsset, ...listerAssets] as never)
      .execute();
    const links = (ownerId: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        owner_id: ownerId,
        type: 'INDIVIDUAL' as const,
        key: randomBytes(32).toString('base64url'),
        description: `link ${i}`,
        created_at: new Date(Date.now() - i * 1000),
      }));
    const listerLinks = await db
      .insertInto('shared_links')
      .values(links(lister.id, LIST_USER_LINKS))
      .returning('id')
      .execute();
    await db
      .insertInto('shared_link_assets')
      .values(listerLinks.map((l, i) => ({ link_id: l.id, asset_id: (listerAssets[i] as { id: string }).id })))
      .execute();
    const perOther = Math.ceil((TABLE_LINKS - LIST_USER_LINKS) / others.length);
    let remaining = TABLE_LINKS - LIST_USER_LINKS;
    for (const o of others) {
      const n = Math.min(perOther, remaining);
      remaining -= n;
      if (n > 0) await db.insertInto('shared_links').values(links(o.id, n)).execute();
    }
    await sql`ANALYZE`.execute(db);
    const total = await db
      .selectFrom('shared_links')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    if (Number(total.n) !== TABLE_LINKS) throw new Error(`seeded ${total.n} links, wanted ${TABLE_LINKS}`);
    return {
      key: poster.key,
      assetId: posterAsset.id,
      sampleLinkId: (listerLinks[0] as { id: string }).id,
      listKey: lister.key,
    };
  } finally {
    await db.destroy();
  }
}

function startServers(
  databaseUrl: string,
  redisUrl: string,
): Promise<{ child: ChildProcess; api: string; bare: string }> {
  return new Promise((resolve, reject) => {
    const nodeFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
    const child = spawn(process.execPath, [...nodeFlags, THIS_FILE, '--serve'], {
      env: { ...process.env, BENCH_DATABASE_URL: databaseUrl, BENCH_REDIS_URL: redisUrl },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) resolve({ child, api: `http://127.0.0.1:${m[1]}`, bare: `http://127.0.0.1:${m[2]}` });
    });
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
}

interface Row {
  name: string;
  result: AutocannonResult;
  connections: number;
  /** server-process CPU per request (ms): independent of how busy the machine is */
  cpuMsPerRequest: number;
}

let cpuUrl = '';
const serverCpuMicros = async (): Promise<number> =>
  ((await (await fetch(cpuUrl)).json()) as { micros: number }).micros;

async function load(name: string, opts: Parameters<Autocannon>[0]): Promise<Row> {
  await autocannon({ ...opts, duration: 2 }); // warm-up (JIT, pool, caches)
  const cpuBefore = await serverCpuMicros();
  const result = await autocannon({ ...opts, duration: DURATION_S });
  const cpuMsPerRequest = (await serverCpuMicros()) - cpuBefore;
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) process.stderr.write(`[bench] ${name}: ${bad} failed requests (non-2xx/errors/timeouts)\n`);
  return {
    name,
    result,
    connections: opts.connections,
    cpuMsPerRequest: cpuMsPerRequest / 1000 / Math.max(1, result.requests.total),
  };
}

export async function runLinksApiBench(): Promise<{ markdown: string }> {
  const loadStart = loadavg()[0] ?? 0;
  const backing = await startBacking('links-api');
  let child: ChildProcess | undefined;
  try {
    const s = await seed(backing.databaseUrl);
    const servers = await startServers(backing.databaseUrl, backing.redisUrl);
    child = servers.child;
    cpuUrl = `${servers.bare}/bare/cpu`;
    const auth = { 'x-api-key': s.key, 'content-type': 'application/json' };
    const listAuth = { 'x-api-key': s.listKey };
    const c = CONNECTIONS;

    // BENCH_ONLY=post (or me, get, list) measures only those scenarios besides the baseline (profiling)
    const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
    const maybe = (id: string, run: () => Promise<Row>) =>
      only.length === 0 || only.includes(id) ? run() : Promise.resolve(undefined);
    const bare = await load('bare fastify route, 1 indexed SELECT (baseline)', {
      url: `${servers.bare}/bare/links/${s.sampleLinkId}`,
      connections: c,
      duration: DURATION_S,
    });
    // The floor of any authenticated links-api route: API-key lookup + fastify + a tiny body.
    const me = await maybe('me', () =>
      load('GET /api/users/me (authenticated floor, for reference)', {
        url: `${servers.api}/api/users/me`,
        headers: listAuth,
        connections: c,
        duration: DURATION_S,
      }),
    );
    const getById = await maybe('get', () =>
      load('GET /api/shared-links?id=', {
        url: `${servers.api}/api/shared-links?id=${s.sampleLinkId}`,
        headers: listAuth,
        connections: c,
        duration: DURATION_S,
      }),
    );
    const listUrl = `${servers.api}/api/shared-links`;
    const list50 = await maybe('list', () =>
      load(`GET /api/shared-links (${LIST_USER_LINKS} of ${TABLE_LINKS} links)`, {
        url: listUrl,
        headers: listAuth,
        connections: c,
        duration: DURATION_S,
      }),
    );
    const list1 = await maybe('list', () =>
      load(`GET /api/shared-links (${LIST_USER_LINKS} of ${TABLE_LINKS} links), 1 connection`, {
        url: listUrl,
        headers: listAuth,
        connections: 1,
        duration: DURATION_S,
      }),
    );
    // POST last: it adds links to the table, which must hold exactly 10,000 while the list is measured.
    const post = await maybe('post', () =>
      load('POST /api/shared-links (INDIVIDUAL, 1 asset)', {
        url: `${servers.api}/api/shared-links`,
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ type: 'INDIVIDUAL', assetIds: [s.assetId], description: 'bench' }),
        connections: c,
        duration: DURATION_S,
      }),
    );

    const base = bare.result.requests.average;
    const line = (r: Row | undefined, ratio: boolean, target = '') =>
      r &&
      `| ${r.name} | ${r.connections} | ${r.result.requests.average.toFixed(0)} | ${ratio ? `${(r.result.requests.average / base).toFixed(2)}×` : '—'} | ${r.result.latency.p50.toFixed(1)} | ${r.result.latency.p99.toFixed(1)} | ${r.cpuMsPerRequest.toFixed(3)} | ${ratio ? `${(bare.cpuMsPerRequest / r.cpuMsPerRequest).toFixed(2)}×` : '—'} | ${r.result.non2xx + r.result.errors + r.result.timeouts} | ${target} |`;
    const rows = [
      '| scenario | conns | req/s | vs bare | p50 ms | p99 ms | server CPU ms/req | CPU-cost ratio (bare/this) | failed | target |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      line(bare, true, 'baseline'),
      line(me, true, 'reference'),
      line(post, true, '≥ 0.5× bare'),
      line(getById, true, '≥ 0.5× bare'),
      line(list50, true, 'p99 (throughput-bound at 50 conns)'),
      line(list1, true, 'p99 ≤ 30 ms'),
    ].filter((l) => l !== undefined);
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const ratioOf = (r: Row | undefined) => (r ? r.result.requests.average / base : Number.NaN);
    const postRatio = ratioOf(post);
    const getRatio = ratioOf(getById);
    const markdown = [
      `links-api vs a bare fastify route (1 indexed SELECT, same pg pool of ${POOL_MAX}), autocannon, ${DURATION_S} s per scenario after a 2 s warm-up; table: ${TABLE_LINKS} shared links, the listing user owns ${LIST_USER_LINKS} (1 asset each).`,
      '',
      ...rows,
      '',
      `- Machine: ${cpus().length} cores; 1-minute load average ${loadStart.toFixed(1)} at the start, ${loadavg()[0]?.toFixed(1)} at the end (PostgreSQL, Redis, autocannon and the server share these cores). Wall-clock figures follow that load; the server-CPU-per-request column does not. Database: ${backing.note}.`,
      `- POST ratio ${postRatio.toFixed(2)}× (${verdict(postRatio >= 0.5)}), GET ?id= ratio ${getRatio.toFixed(2)}× (${verdict(getRatio >= 0.5)}), list p99 at 1 connection ${list1?.result.latency.p99.toFixed(1)} ms (${verdict((list1?.result.latency.p99 ?? Number.NaN) <= 30)}).`,
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
  const { markdown } = await runLinksApiBench();
  console.log(markdown);
}
