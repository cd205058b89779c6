/**
 * links-api benchmark (issues 3 and 17), as users run it: the links-api in its own process, started as production
 * and `npm start` start it (`node apps/links-api/src/main.ts`, default configuration: request logging, the outbox
 * relay and metrics in the process), against a bare fastify route doing one indexed SELECT in ANOTHER process (its
 * own pg pool of 10, no logging, no hooks), both loaded by wrk (1 thread, 50 connections) in the same run.
 *
 *   node bench/links-api.bench.ts          # or: npm run bench links-api
 *
 * Scenarios: `GET /api/users/me` (the floor every authenticated route pays: API-key lookup, fastify, a small
 * body), `GET /api/shared-links?id=`, an owner's list of 100 links out of 10,000 in the table (50 connections, and
 * 1 connection for its latency), and `POST /api/shared-links` (last: it adds links). At 50 connections the lists
 * are 50 owners' (each owns 100 links; wrk's script hands their API keys out in turn): the links-api allows one
 * owner at most 4 lists running or waiting (429 beyond), so one key on 50 connections would measure refusals.
 * Each row gives req/s, the ratio to the bare route, wrk's p50/p99, and the server process's CPU per request
 * (from /proc/<pid>/stat around the run: a figure that does not follow what else the machine is doing).
 * Targets: GET ?id= ≥ 0.5× the bare route; the list at 1 connection p99 ≤ 30 ms (POST's ratio was retired by
 * issue 13 for link-create.bench.ts's figures). Figures are printed, never asserted.
 * BENCH_DURATION_S (default 10) measured seconds per scenario after a 2 s warm-up; BENCH_ONLY=me,get,list,post
 * picks scenarios; BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=…" profiles the links-api process.
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database on that server), else a private PostgreSQL and Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { createApiKey, createUser } from '@immish/domain';
import { sql } from 'kysely';
import {
  eventLoopP99Ms,
  type LoopCausesOver,
  loopCauses,
  loopCausesOver,
  machineNote,
  runWrkMeasuring,
  type ServiceProcess,
  startBacking,
  startLinksApi,
  startScriptServer,
  type WrkResult,
} from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const WARMUP_S = 2;
const TABLE_LINKS = 10_000;
const LIST_USER_LINKS = 100;
/** owners whose lists are asked for at once at 50 connections (one per connection, on average) */
const LIST_USERS = CONNECTIONS;
const POOL_MAX = 10;

interface Seed {
  key: string;
  assetId: string;
  sampleLinkId: string;
  /** every listing owner's API key (LIST_USERS of them; the first owns sampleLinkId) */
  listKeys: string[];
}

/**
 * 10,000 links in the table: LIST_USERS listing owners own LIST_USER_LINKS each (each link with one asset of its
 * owner), 99 others the rest.
 */
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
    const listers = [];
    for (let i = 0; i < LIST_USERS; i++) listers.push(await makeUser(`lister${i}`));
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
    await db.insertInto('assets').values(posterAsset).execute();
    const links = (ownerId: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        owner_id: ownerId,
        type: 'INDIVIDUAL' as const,
        key: randomBytes(32).toString('base64url'),
        description: `link ${i}`,
        created_at: new Date(Date.now() - i * 1000),
      }));
    let sampleLinkId = '';
    for (const lister of listers) {
      const listerAssets = Array.from({ length: LIST_USER_LINKS }, () => newAsset(lister.id));
      await db.insertInto('assets').values(listerAssets).execute();
      const listerLinks = await db
        .insertInto('shared_links')
        .values(links(lister.id, LIST_USER_LINKS))
        .returning('id')
        .execute();
      await db
        .insertInto('shared_link_assets')
        .values(listerLinks.map((l, i) => ({ link_id: l.id, asset_id: (listerAssets[i] as { id: string }).id })))
        .execute();
      sampleLinkId ||= (listerLinks[0] as { id: string }).id;
    }
    const perOther = Math.ceil((TABLE_LINKS - LIST_USERS * LIST_USER_LINKS) / others.length);
    let remaining = TABLE_LINKS - LIST_USERS * LIST_USER_LINKS;
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
      sampleLinkId,
      listKeys: listers.map((l) => l.key),
    };
  } finally {
    await db.destroy();
  }
}

/**
 * The baseline in a process of its own: a bare fastify route answering `GET /bare/links/:id` with one indexed
 * SELECT (primary key) on its own pool of POOL_MAX connections. Resolves with its pid and URL.
 */
async function startBareSelect(databaseUrl: string): Promise<{ pid: number; url: string; stop(): Promise<void> }> {
  const script = `
    import Fastify from 'fastify';
    import pg from 'pg';
    const pool = new pg.Pool({ connectionString: ${JSON.stringify(databaseUrl)}, max: ${POOL_MAX} });
    const app = Fastify({ logger: false });
    app.get('/bare/links/:id', async (req) => {
      const { rows } = await pool.query('SELECT id, owner_id, key, slug, expires_at FROM shared_links WHERE id = $1', [req.params.id]);
      return rows[0] ?? null;
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.stdout.write('READY ' + app.server.address().port + '\\n');
    process.on('SIGTERM', () => app.close().then(() => pool.end()).then(() => process.exit(0)));
  `;
  return startScriptServer(script);
}

interface Row {
  name: string;
  connections: number;
  result: WrkResult & { cpuCores: number };
  /** server-process CPU per request (ms): independent of how busy the machine is */
  cpuMsPerRequest: number;
  /** the links-api's event-loop delay p99 over the measured run (NaN for the bare route) */
  loopP99Ms: number;
  /** what could have held its loop over the run (support.ts `loopCauses`; absent for the bare route) */
  causes?: LoopCausesOver;
}

async function load(
  name: string,
  url: string,
  pid: number,
  opts: { connections?: number; headers?: Record<string, string>; script?: string; service?: ServiceProcess } = {},
): Promise<Row> {
  const connections = opts.connections ?? CONNECTIONS;
  await runWrkMeasuring(url, { ...opts, connections, seconds: WARMUP_S }, pid); // JIT, pools, caches
  if (opts.service) await eventLoopP99Ms(opts.service); // resets its histogram: what follows is this run's
  const causes0 = opts.service && (await loopCauses(opts.service));
  const result = await runWrkMeasuring(url, { ...opts, connections, seconds: DURATION_S }, pid);
  const loopP99Ms = opts.service ? await eventLoopP99Ms(opts.service) : Number.NaN;
  const causes = opts.service && causes0 ? loopCausesOver(causes0, await loopCauses(opts.service)) : undefined;
  if (result.failed > 0) process.stderr.write(`[bench] ${name}: ${result.failed} failed requests\n`);
  const seconds = result.requests / Math.max(1e-9, result.perSecond);
  return {
    name,
    connections,
    result,
    cpuMsPerRequest: (result.cpuCores * seconds * 1000) / Math.max(1, result.requests),
    loopP99Ms,
    causes,
  };
}

const postScript = (apiKey: string, assetId: string) => `
wrk.method = "POST"
wrk.body = '{"type":"INDIVIDUAL","assetIds":["${assetId}"],"description":"bench"}'
wrk.headers["content-type"] = "application/json"
wrk.headers["x-api-key"] = "${apiKey}"
`;

/** GET requests that take the listing owners' API keys in turn, so that 50 connections are ~50 owners at once. */
const listScript = (apiKeys: string[]) => `
local keys = { ${apiKeys.map((k) => JSON.stringify(k)).join(', ')} }
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", nil, { ["x-api-key"] = keys[(n % #keys) + 1] })
end
`;

export async function runLinksApiBench(): Promise<{ markdown: string }> {
  const machineAtStart = machineNote();
  const backing = await startBacking('links-api');
  const work = mkdtempSync(join(tmpdir(), 'immish-links-api-bench-'));
  let service: ServiceProcess | undefined;
  let bareServer: Awaited<ReturnType<typeof startBareSelect>> | undefined;
  try {
    const s = await seed(backing.databaseUrl);
    service = await startLinksApi(backing, join(work, 'storage'));
    bareServer = await startBareSelect(backing.databaseUrl);
    const svc = service;
    const api = service.url;
    const apiPid = service.pid;
    const listAuth = { 'x-api-key': s.listKeys[0] as string };
    const script = join(work, 'post.lua');
    writeFileSync(script, postScript(s.key, s.assetId));
    const manyOwners = join(work, 'list.lua');
    writeFileSync(manyOwners, listScript(s.listKeys));

    const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
    const maybe = (id: string, run: () => Promise<Row>) =>
      only.length === 0 || only.includes(id) ? run() : Promise.resolve(undefined);
    const bare = await load(
      'bare fastify route, 1 indexed SELECT (baseline, own process)',
      `${bareServer.url}/bare/links/${s.sampleLinkId}`,
      bareServer.pid,
    );
    const me = await maybe('me', () =>
      load('GET /api/users/me (authenticated floor, for reference)', `${api}/api/users/me`, apiPid, {
        headers: listAuth,
        service: svc,
      }),
    );
    const getById = await maybe('get', () =>
      load('GET /api/shared-links?id=', `${api}/api/shared-links?id=${s.sampleLinkId}`, apiPid, {
        headers: listAuth,
        service: svc,
      }),
    );
    const listName = `GET /api/shared-links (${LIST_USER_LINKS} of ${TABLE_LINKS} links)`;
    const list50 = await maybe('list', () =>
      load(`${listName}, ${LIST_USERS} owners in turn`, `${api}/api/shared-links`, apiPid, {
        script: manyOwners,
        service: svc,
      }),
    );
    const list1 = await maybe('list', () =>
      load(`${listName}, 1 connection`, `${api}/api/shared-links`, apiPid, {
        headers: listAuth,
        connections: 1,
        service: svc,
      }),
    );
    // POST last: it adds links to the table, which must hold exactly 10,000 while the list is measured.
    const post = await maybe('post', () =>
      load('POST /api/shared-links (INDIVIDUAL, 1 asset)', `${api}/api/shared-links`, apiPid, { script, service: svc }),
    );

    const base = bare.result.perSecond;
    const line = (r: Row | undefined, target = '') =>
      r &&
      `| ${r.name} | ${r.connections} | ${r.result.perSecond.toFixed(0)} | ${(r.result.perSecond / base).toFixed(2)}× | ${r.result.latencyMs['50'].toFixed(1)} | ${r.result.latencyMs['99'].toFixed(1)} | ${(r.result.cpuCores * 100).toFixed(0)}% | ${r.cpuMsPerRequest.toFixed(3)} | ${Number.isFinite(r.loopP99Ms) ? r.loopP99Ms.toFixed(1) : '–'} | ${r.result.failed} | ${target} |`;
    const rows = [
      '| scenario | conns | req/s | vs bare | p50 ms | p99 ms | server CPU | server CPU ms/req | event-loop p99 ms | failed | target |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
      line(bare, 'baseline'),
      line(me, 'reference'),
      line(post, 'none (issue 13: link-create bench)'),
      line(getById, '≥ 0.5× bare'),
      line(list50, 'throughput-bound at 50 conns'),
      line(list1, 'p99 ≤ 30 ms'),
    ].filter((l) => l !== undefined);
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const ratioOf = (r: Row | undefined) => (r ? r.result.perSecond / base : Number.NaN);
    const markdown = [
      `links-api process (default configuration, logging on) vs a bare fastify route in another process (1 indexed SELECT, its own pg pool of ${POOL_MAX}); wrk 1 thread, ${CONNECTIONS} connections unless said, ${DURATION_S} s per scenario after a ${WARMUP_S} s warm-up; ${TABLE_LINKS} shared links in the table, ${LIST_USERS} listing owners own ${LIST_USER_LINKS} each (1 asset each; at 50 connections their keys are used in turn, at 1 connection one owner's); ${backing.note}.`,
      `Machine at the start: ${machineAtStart}; at the end: ${machineNote()} (wrk, PostgreSQL, Redis and both servers share it). Server CPU: the server process's user + system time over the run, as a share of one core, and per request.`,
      '',
      ...rows,
      '',
      `- ${[
        getById && `GET ?id= ${ratioOf(getById).toFixed(2)}× (${verdict(ratioOf(getById) >= 0.5)})`,
        list1 &&
          `list p99 at 1 connection ${list1.result.latencyMs['99'].toFixed(1)} ms (${verdict(list1.result.latencyMs['99'] <= 30)})`,
      ]
        .filter(Boolean)
        .join(', ')}.`,
      '',
      "What could hold links-api's loop in each run: its main thread's wait for a core (ms per s, /proc schedstat: another thread or process had it) and involuntary switches per s; its garbage collection (ms per s, major in brackets) and collections over 10 ms.",
      '',
      '| scenario | conns | event-loop p99 ms | wait ms/s | involuntary/s | GC ms/s | GC > 10 ms |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...[me, post, getById, list50, list1].flatMap((r) =>
        r?.causes
          ? [
              `| ${r.name} | ${r.connections} | ${r.loopP99Ms.toFixed(1)} | ${r.causes.waitMsPerS.toFixed(1)} | ${r.causes.involuntaryPerS.toFixed(0)} | ${r.causes.gcMsPerS.toFixed(1)} (${r.causes.gcMajorMsPerS.toFixed(1)}) | ${r.causes.gcOver10ms} |`,
            ]
          : [],
      ),
    ].join('\n');
    return { markdown };
  } finally {
    await service?.stop();
    await bareServer?.stop();
    rmSync(work, { recursive: true, force: true });
    await backing.stop();
  }
}

if (process.argv[1] === THIS_FILE) {
  const { markdown } = await runLinksApiBench();
  console.log(markdown);
}
