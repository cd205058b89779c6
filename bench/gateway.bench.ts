/**
 * share-gateway benchmark (issue 6): what a recipient does most, under load, against a bare fastify route
 * returning the same bytes from memory, measured in the same run.
 *
 *   node bench/gateway.bench.ts
 *
 * Scenarios: `GET /api/shared-links/me` of an unlocked (password) 1,000-asset ALBUM link, and
 * `GET /share/:key/assets/:id/thumbnail` of one of its assets. Each gateway route is compared with a bare
 * fastify route serving the bytes that route answered, from memory. autocannon, 50 connections.
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database is created on that server and dropped after),
 * else starts a private PostgreSQL and Redis (@immish/devstack) in a temp dir. The servers run in a child
 * process so autocannon does not share their event loop. Figures are printed, never asserted.
 * Targets: ≥ 0.5× the bare route's req/s for both, p99 ≤ 50 ms.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayConfig } from '@immish/contracts';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { createUser, hashPassword } from '@immish/domain';
import { loadConfig } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import sharp from 'sharp';
import { type Autocannon, type AutocannonResult, autocannon, type Backing, startBacking } from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const CONNECTIONS = 50;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ALBUM_ASSETS = 1000;
const POOL_MAX = 10;
const UNLOCK_SECRET = randomBytes(32).toString('base64url');
/** what Chromium sends; Immich's mobile app (Dart's HttpClient) sends `gzip` */
const BROWSER_ACCEPT_ENCODING = 'gzip, deflate, br, zstd';

const configFor = (env: Record<string, string>) =>
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
  });

// ── child: the servers ──────────────────────────────────────────────────────────────────────────────

async function serve(): Promise<void> {
  const { buildApp } = await import('../apps/share-gateway/src/app.ts');
  const env = process.env as Record<string, string>;
  const config = configFor(env);
  const pool = createPool({ connectionString: config.DATABASE_URL, max: POOL_MAX });
  const db = createDb(pool);
  const redis = new Redis(config.REDIS_URL);
  const storage = createBlobStore({ driver: 'fs', root: config.STORAGE_FS_ROOT });
  const app = await buildApp({ config, db, storage, redis, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });

  // The baseline: the same bytes the gateway answers, from memory.
  const cookie = env.BENCH_COOKIE as string;
  const me = await app.inject({ url: env.BENCH_ME_PATH as string, headers: { cookie } });
  const meBr = await app.inject({
    url: env.BENCH_ME_PATH as string,
    headers: { cookie, 'accept-encoding': BROWSER_ACCEPT_ENCODING },
  });
  const thumb = await app.inject({ url: env.BENCH_THUMB_PATH as string, headers: { cookie } });
  for (const r of [me, meBr, thumb]) if (r.statusCode !== 200) throw new Error(`setup: ${r.statusCode} ${r.body}`);
  if (meBr.headers['content-encoding'] !== 'br') throw new Error('setup: /me was not compressed');
  const meBytes = me.rawPayload;
  const meBrBytes = meBr.rawPayload;
  const thumbBytes = thumb.rawPayload;
  const bare = Fastify({ logger: false });
  bare.get('/bare/me', (_req, reply) => reply.type('application/json; charset=utf-8').send(meBytes));
  bare.get('/bare/me-br', (_req, reply) =>
    reply.type('application/json; charset=utf-8').header('content-encoding', 'br').send(meBrBytes),
  );
  bare.get('/bare/thumbnail', (_req, reply) => reply.type('image/webp').send(thumbBytes));
  // this process's CPU time (user + system), read between scenarios: CPU per request does not follow the load
  bare.get('/bare/cpu', async () => {
    const u = process.cpuUsage();
    return { micros: u.user + u.system };
  });
  await bare.listen({ port: 0, host: '127.0.0.1' });

  const port = (a: ReturnType<typeof app.server.address>) => (a as { port: number }).port;
  process.stdout.write(
    `READY ${port(app.server.address())} ${port(bare.server.address())} ${meBytes.length} ${thumbBytes.length} ${meBrBytes.length}\n`,
  );
  process.on('SIGTERM', async () => {
    await Promise.allSettled([app.close(), bare.close()]);
    redis.disconnect();
    await db.destroy();
    process.exit(0);
  });
}

// ── parent: setup, seeding, load ────────────────────────────────────────────────────────────────────

export interface Seed {
  key: string;
  linkId: string;
  passwordVersion: number;
  thumbAssetId: string;
}

/** One owner, 1,000 ready assets (with a stored ≈250 px WebP thumbnail each), an album and a password link. */
export async function seed(b: Backing): Promise<Seed> {
  const pool = createPool({ connectionString: b.databaseUrl, max: 4 });
  const db = createDb(pool);
  const storage = createBlobStore({ driver: 'fs', root: join(b.dir, 'storage') });
  try {
    await migrateToLatest(db as never);
    const owner = await createUser(db, { email: 'owner@bench.test', name: 'Owner', password: 'bench' });
    const thumbnail = await sharp({ create: { width: 250, height: 188, channels: 3, background: '#3a6' } })
      .webp({ quality: 80 })
      .toBuffer();
    const assets = Array.from({ length: ALBUM_ASSETS }, (_, i) => {
      const id = randomUUID();
      const prefix = `assets/${owner.id}/${id}`;
      return {
        id,
        owner_id: owner.id,
        type: 'IMAGE' as const,
        original_file_name: `IMG_${String(i).padStart(4, '0')}.jpg`,
        mime_type: 'image/jpeg',
        size: 3_000_000,
        checksum: createHash('sha1').update(id).digest(),
        original_key: `${prefix}/original.jpg`,
        thumbnail_key: `${prefix}/thumbnail.webp`,
        preview_key: `${prefix}/preview.jpg`,
        width: 4000,
        height: 3000,
        thumbhash: randomBytes(24),
        file_created_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
        file_modified_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
        local_date_time: new Date(Date.UTC(2024, 0, 1) + i * 60_000),
        exif_make: 'Camera',
        exif_model: 'Model',
        exif_latitude: 48.85,
        exif_longitude: 2.35,
        status: 'ready' as const,
      };
    });
    for (let i = 0; i < assets.length; i += 200) {
      await db
        .insertInto('assets')
        .values(assets.slice(i, i + 200))
        .execute();
    }
    const thumbAsset = assets[0]!;
    await storage.put(thumbAsset.thumbnail_key, thumbnail);
    const album = await db
      .insertInto('albums')
      .values({ owner_id: owner.id, name: 'Bench album', description: '1,000 photos' })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('album_users').values({ album_id: album.id, user_id: owner.id, role: 'owner' }).execute();
    await db
      .insertInto('album_assets')
      .values(assets.map((a) => ({ album_id: album.id, asset_id: a.id, added_by: owner.id })))
      .execute();
    const link = await db
      .insertInto('shared_links')
      .values({
        owner_id: owner.id,
        type: 'ALBUM',
        album_id: album.id,
        key: randomBytes(32).toString('base64url'),
        password_hash: await hashPassword('bench password'),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await sql`ANALYZE`.execute(db);
    return { key: link.key, linkId: link.id, passwordVersion: link.password_version, thumbAssetId: thumbAsset.id };
  } finally {
    await storage.close();
    await db.destroy();
  }
}

interface Servers {
  child: ChildProcess;
  gateway: string;
  bare: string;
  meBytes: number;
  thumbBytes: number;
  meBrBytes: number;
}

function startServers(b: Backing, env: Record<string, string>): Promise<Servers> {
  return new Promise((resolve, reject) => {
    const nodeFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean); // e.g. --cpu-prof
    const child = spawn(process.execPath, [...nodeFlags, THIS_FILE, '--serve'], {
      env: {
        ...process.env,
        BENCH_DATABASE_URL: b.databaseUrl,
        BENCH_REDIS_URL: b.redisUrl,
        BENCH_STORAGE_ROOT: join(b.dir, 'storage'),
        BENCH_UNLOCK_SECRET: UNLOCK_SECRET,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /READY (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out);
      if (m) {
        resolve({
          child,
          gateway: `http://127.0.0.1:${m[1]}`,
          bare: `http://127.0.0.1:${m[2]}`,
          meBytes: Number(m[3]),
          thumbBytes: Number(m[4]),
          meBrBytes: Number(m[5]),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`server process exited with ${code}`)));
  });
}

interface Row {
  name: string;
  result: AutocannonResult;
  /** the server process's CPU time per request (ms): robust to what else the machine is doing */
  cpuMsPerRequest: number;
}

let cpuUrl = '';
const serverCpuMicros = async () => ((await (await fetch(cpuUrl)).json()) as { micros: number }).micros;

async function load(name: string, opts: Parameters<Autocannon>[0]): Promise<Row> {
  await autocannon({ ...opts, duration: 2 }); // warm-up (JIT, pool, caches)
  const before = await serverCpuMicros();
  const result = await autocannon({ ...opts, duration: DURATION_S });
  const cpuMicros = (await serverCpuMicros()) - before;
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) process.stderr.write(`[bench] ${name}: ${bad} failed requests (non-2xx/errors/timeouts)\n`);
  return { name, result, cpuMsPerRequest: cpuMicros / 1000 / Math.max(1, result.requests.total) };
}

interface Scenario {
  /** BENCH_ONLY selects scenarios by this id */
  id: 'me' | 'me-br' | 'thumbnail';
  label: string;
  bare: { name: string; url: string };
  gateway: { name: string; url: string; headers: Record<string, string> };
}

export async function runGatewayBench(): Promise<{ markdown: string }> {
  const backing = await startBacking('gateway');
  let child: ChildProcess | undefined;
  try {
    const s = await seed(backing);
    // the recipient's unlock cookie, minted with the server's secret (what the login route sets)
    const { UnlockTokens, unlockCookieName } = await import('../apps/share-gateway/src/unlock.ts');
    const tokens = new UnlockTokens({ secret: UNLOCK_SECRET, ttlHours: 24 });
    const cookie = `${unlockCookieName(s.linkId)}=${tokens.issue({ id: s.linkId, password_version: s.passwordVersion }).token}`;
    const mePath = `/api/shared-links/me?key=${s.key}`;
    const thumbPath = `/share/${s.key}/assets/${s.thumbAssetId}/thumbnail`;
    const servers = await startServers(backing, {
      BENCH_COOKIE: cookie,
      BENCH_ME_PATH: mePath,
      BENCH_THUMB_PATH: thumbPath,
    });
    child = servers.child;
    cpuUrl = `${servers.bare}/bare/cpu`;
    const c = CONNECTIONS;

    const scenarios: Scenario[] = [
      {
        id: 'me',
        label: '/me (no Accept-Encoding)',
        bare: { name: `bare route, the same /me bytes from memory (${servers.meBytes} B)`, url: '/bare/me' },
        gateway: {
          name: `GET /api/shared-links/me (${ALBUM_ASSETS}-asset album, unlocked), no Accept-Encoding`,
          url: mePath,
          headers: { cookie },
        },
      },
      {
        id: 'me-br',
        label: '/me (browser Accept-Encoding)',
        bare: {
          name: `bare route, the same Brotli /me bytes from memory (${servers.meBrBytes} B)`,
          url: '/bare/me-br',
        },
        gateway: {
          name: `GET /api/shared-links/me, \`Accept-Encoding: ${BROWSER_ACCEPT_ENCODING}\` (→ br)`,
          url: mePath,
          headers: { cookie, 'accept-encoding': BROWSER_ACCEPT_ENCODING },
        },
      },
      {
        id: 'thumbnail',
        label: 'thumbnail',
        bare: { name: `bare route, the same thumbnail from memory (${servers.thumbBytes} B)`, url: '/bare/thumbnail' },
        gateway: { name: 'GET /share/:key/assets/:id/thumbnail (unlocked)', url: thumbPath, headers: { cookie } },
      },
    ];
    const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean); // e.g. 'thumbnail' (profiling)
    const measured: [Scenario, Row, Row][] = [];
    for (const sc of scenarios) {
      if (only.length > 0 && !only.includes(sc.id)) continue;
      const base = await load(sc.bare.name, {
        url: `${servers.bare}${sc.bare.url}`,
        connections: c,
        duration: DURATION_S,
      });
      const r = await load(sc.gateway.name, {
        url: `${servers.gateway}${sc.gateway.url}`,
        headers: sc.gateway.headers,
        connections: c,
        duration: DURATION_S,
      });
      measured.push([sc, r, base]);
    }

    const line = (r: Row, base: Row | null, target: string) =>
      `| ${r.name} | ${r.result.requests.average.toFixed(0)} | ${base ? `${(r.result.requests.average / base.result.requests.average).toFixed(2)}×` : 'baseline'} | ${r.result.latency.p50.toFixed(1)} | ${r.result.latency.p99.toFixed(1)} | ${r.cpuMsPerRequest.toFixed(3)} | ${r.result.non2xx + r.result.errors + r.result.timeouts} | ${target} |`;
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const markdown = [
      `share-gateway vs bare fastify routes serving the same bytes from memory, autocannon ${c} connections (response bodies counted, not decoded: bench/support.ts), ${DURATION_S} s per scenario after a 2 s warm-up; pg pool ${POOL_MAX}, fs storage, autocannon and the servers share the machine's 2 cores (1-minute load average at the end: ${loadavg()[0]?.toFixed(1)}). Server CPU per request is the server process's user + system time over the requests served: it does not follow the load.`,
      '',
      '| scenario | req/s | vs bare | p50 ms | p99 ms | server CPU ms/req | failed | target |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
      ...measured.flatMap(([, r, base]) => [line(base, null, ''), line(r, base, '≥ 0.5×, p99 ≤ 50 ms')]),
      '',
      ...measured.map(([sc, r, base]) => {
        const ratio = r.result.requests.average / base.result.requests.average;
        return `- ${sc.label}: ${ratio.toFixed(2)}× (${verdict(ratio >= 0.5)}), p99 ${r.result.latency.p99.toFixed(1)} ms (${verdict(r.result.latency.p99 <= 50)}; the bare route's p99: ${base.result.latency.p99.toFixed(1)} ms).`;
      }),
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

// only when this file is the entry point (bench/activity.bench.ts imports its seed)
if (process.argv[1] === THIS_FILE && process.argv.includes('--serve')) {
  await serve();
} else if (process.argv[1] === THIS_FILE) {
  const { markdown } = await runGatewayBench();
  console.log(markdown);
}
