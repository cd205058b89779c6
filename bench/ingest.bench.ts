/**
 * Ingest benchmark (issue 4), not a test: figures are printed, never asserted.
 *
 *   node bench/ingest.bench.ts
 *   (INGEST_BENCH_PHOTOS: photos, default 300, 0 = only the bulk check;
 *    INGEST_BENCH_CONCURRENCY: jobs/ops in parallel, default the number of cores)
 *
 * 1. Ingest throughput: N generated 12-megapixel JPEGs with EXIF are uploaded (not timed), then one ingest
 *    worker (concurrency = CPU cores) processes them through the real pipeline (outbox relay → BullMQ →
 *    download + SHA-1 verify → probe/EXIF → thumbnail + preview + thumbhash → storage → one transaction).
 *    Baseline, same run, same files, same concurrency: a bare sharp script doing decode + preview (JPEG,
 *    1440 px) + thumbnail (WebP, 250 px). Target: ≥ 0.8× the baseline's photos/s.
 * 2. `POST /api/assets/bulk-upload-check` with 5,000 checksums (half known) for an owner of 50,000 assets,
 *    over HTTP against the real links-api: p50/p99 of 100 requests. Target: p99 ≤ 200 ms.
 *
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database is created there and dropped after), else starts
 * a private PostgreSQL and Redis (@immish/devstack) in a temp dir.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LinksApiConfig, Queues } from '@immish/contracts';
import { BullEventPublisher, createDb, createPool, type Db, migrateToLatest, OutboxRelay } from '@immish/db';
import { createApiKey, createUser, receiveUpload } from '@immish/domain';
import { createLogger, createRedis, loadConfig } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import sharp from 'sharp';
import { startIngestWorker } from '../apps/ingest-worker/src/worker.ts';
import { buildApp } from '../apps/links-api/src/app.ts';
import { startBacking } from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const PHOTOS = Number(process.env.INGEST_BENCH_PHOTOS ?? 300);
const BASES = 6; // distinct pixel contents; the rest differ by a JPEG comment (unique checksums)
const WIDTH = 4000;
const HEIGHT = 3000;
const CHECK_ASSETS = 50_000;
const CHECK_BATCH = 5_000;
const CHECK_REQUESTS = 100;
const ROUNDS = 6;

const EXIF = {
  IFD0: { Make: 'BenchCam', Model: 'B-12', ImageDescription: 'generated bench photo' },
  IFD2: { DateTimeOriginal: '2024:06:01 10:11:12', ExposureTime: '1/125', FNumber: '4/1', ISOSpeedRatings: '200' },
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 8/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '11/1 34/1 0/1' },
};

/** A photo-like 12 MP image: smooth gradients plus fine texture (≈ the size of a real camera JPEG). */
async function basePhoto(seed: number): Promise<Buffer> {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  let state = (seed * 2654435761) >>> 0;
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      state = (state * 1664525 + 1013904223) >>> 0;
      const noise = (state >>> 28) - 8;
      const i = (y * WIDTH + x) * 3;
      pixels[i] = (((x * 255) / WIDTH + seed * 40) & 0xff) + noise;
      pixels[i + 1] = (((y * 255) / HEIGHT + seed * 70) & 0xff) + noise;
      pixels[i + 2] = ((((x + y) * 128) / WIDTH + seed * 20) & 0xff) + noise;
    }
  }
  return sharp(pixels, { raw: { width: WIDTH, height: HEIGHT, channels: 3 } })
    .withExif(EXIF)
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Same pixels, different bytes: a COM segment right after SOI. */
function withComment(jpeg: Buffer, text: string): Buffer {
  const payload = Buffer.from(text);
  const seg = Buffer.alloc(4 + payload.length);
  seg[0] = 0xff;
  seg[1] = 0xfe;
  seg.writeUInt16BE(payload.length + 2, 2);
  payload.copy(seg, 4);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

async function generatePhotos(dir: string): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const bases: Buffer[] = [];
  for (let b = 0; b < BASES; b++) bases.push(await basePhoto(b + 1));
  const files: string[] = [];
  for (let i = 0; i < PHOTOS; i++) {
    const path = join(dir, `IMG_${String(i).padStart(4, '0')}.jpg`);
    writeFileSync(path, withComment(bases[i % BASES] as Buffer, `immish bench photo ${i}`));
    files.push(path);
  }
  return files;
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await work(item);
      }
    }),
  );
}

/** The baseline: what sharp alone needs for the same derivatives. */
async function bareSharp(files: readonly string[], concurrency: number): Promise<number> {
  const started = performance.now();
  await pool(files, concurrency, async (file) => {
    const preview = await sharp(file)
      .rotate()
      .resize(1440, 1440, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer();
    await sharp(preview).resize(250, 250, { fit: 'inside' }).webp({ quality: 80 }).toBuffer();
  });
  return (performance.now() - started) / 1000;
}

/**
 * Interleaved rounds (baseline chunk, then ingest chunk of the same files) so both see the same machine
 * load: on a shared machine, two long phases one after the other would mostly measure the load change.
 * Per ingest round: the chunk is uploaded and queued with the worker paused (not timed), then the clock runs
 * from the worker's resume until every asset of the chunk is ready or failed.
 */
async function interleavedRuns(
  db: Db,
  databaseUrl: string,
  redisUrl: string,
  storageRoot: string,
  files: readonly string[],
  concurrency: number,
  rounds: number,
): Promise<{ baselineSeconds: number; ingestSeconds: number; ready: number; failed: number }> {
  const storage = createBlobStore({ driver: 'fs', root: storageRoot });
  const owner = await createUser(db, { email: 'ingest@bench.test', name: 'Ingest', password: 'bench' });
  const prefix = `ingestbench${randomBytes(3).toString('hex')}`;
  const publisher = new BullEventPublisher({ connection: createRedis({ REDIS_URL: redisUrl }, 'producer'), prefix });
  const worker = startIngestWorker({
    config: {
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      INGEST_CONCURRENCY: concurrency,
      INGEST_MAX_PIXELS: 100_000_000,
      INGEST_KEEP_FAILED_ORIGINALS: true,
    },
    db,
    storage,
    logger: createLogger({ service: 'ingest-bench', level: 'silent' }),
  });
  await worker.pause();
  const finishedJobs = new JobCounter(new QueueEvents(Queues.ingest, { connection: { url: redisUrl }, prefix }));
  await finishedJobs.ready();
  const relay = new OutboxRelay({ db, databaseUrl, publisher, pollIntervalMs: 50, batchSize: 500 });
  relay.start();
  let baselineSeconds = 0;
  let ingestSeconds = 0;
  let counts = { ready: 0, failed: 0 };
  const size = Math.ceil(files.length / rounds);
  for (let r = 0; r < rounds; r++) {
    const chunk = files.slice(r * size, (r + 1) * size);
    if (chunk.length === 0) break;
    baselineSeconds += await bareSharp(chunk, concurrency);

    for (const file of chunk) {
      await receiveUpload(
        { db, storage },
        {
          ownerId: owner.id,
          actor: { type: 'user', id: owner.id },
          file: createReadStream(file),
          metadata: {
            fileName: file.split('/').at(-1) ?? 'x.jpg',
            fileCreatedAt: new Date(),
            fileModifiedAt: new Date(),
          },
          maxFileBytes: 100 * 1024 * 1024,
        },
      );
    }
    const target = r * size + chunk.length;
    finishedJobs.reset();
    // every job of the chunk is in the queue before the clock starts
    while (
      Number(
        (
          await db
            .selectFrom('outbox_events')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('published_at', 'is', null)
            .executeTakeFirstOrThrow()
        ).n,
      ) > 0
    ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const started = performance.now();
    worker.resume();
    while (counts.ready + counts.failed < target) {
      // woken by the queue's job events (a blocking Redis read), not by a fast polling loop: polling the
      // database 40 times a second competed with the worker for the same 2 cores
      await finishedJobs.waitFor(chunk.length, 1000);
      const rows = await db
        .selectFrom('assets')
        .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
        .where('owner_id', '=', owner.id)
        .groupBy('status')
        .execute();
      const n = (s: string) => Number(rows.find((row) => row.status === s)?.n ?? 0);
      counts = { ready: n('ready'), failed: n('failed') };
    }
    ingestSeconds += (performance.now() - started) / 1000;
    await worker.pause();
    console.error(
      `round ${r + 1}/${rounds}: baseline ${baselineSeconds.toFixed(1)} s, ingest ${ingestSeconds.toFixed(1)} s`,
    );
  }
  await relay.stop();
  await finishedJobs.close();
  await worker.close();
  await publisher.close();
  await storage.close();
  return { baselineSeconds, ingestSeconds, ...counts };
}

/** Counts the ingest queue's finished jobs (completed or failed) and wakes a waiter when enough have. */
class JobCounter {
  readonly #events: QueueEvents;
  #count = 0;
  #wake: (() => void) | undefined;

  constructor(events: QueueEvents) {
    this.#events = events;
    const bump = () => {
      this.#count++;
      this.#wake?.();
    };
    events.on('completed', bump);
    events.on('failed', bump);
  }

  ready(): Promise<void> {
    return this.#events.waitUntilReady().then(() => undefined);
  }

  reset(): void {
    this.#count = 0;
  }

  /** Resolves once `n` jobs finished since the last reset, or after `timeoutMs` (the caller checks the database). */
  waitFor(n: number, timeoutMs: number): Promise<void> {
    if (this.#count >= n) return new Promise((resolve) => setTimeout(resolve, 100)); // a retried failure counted twice
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = () => {
        if (this.#count >= n) done();
      };
    });
  }

  close(): Promise<void> {
    return this.#events.close();
  }
}

const checksumOf = (i: number) =>
  createHash('md5').update(`bench${i}`).digest('hex') + createHash('md5').update(`x${i}`).digest('hex').slice(0, 8);

async function bulkCheckRun(db: Db, databaseUrl: string, redisUrl: string, storageRoot: string) {
  const owner = await createUser(db, { email: 'check@bench.test', name: 'Check', password: 'bench' });
  await sql`
    INSERT INTO assets (owner_id, type, original_file_name, checksum, original_key, status)
    SELECT ${owner.id}::uuid, 'IMAGE', 'IMG_' || i || '.jpg',
           decode(md5('bench' || i) || substr(md5('x' || i), 1, 8), 'hex'),
           'assets/bench/' || i || '/original.jpg', 'ready'
    FROM generate_series(1, ${CHECK_ASSETS}) AS i`.execute(db);
  await sql`ANALYZE assets`.execute(db);
  const { secret } = await createApiKey(db, owner.id, 'bench');

  // The links-api runs in a child process so that the client's JSON work (300 KB out, 5,000 results in)
  // does not share the server's event loop and get counted as server latency.
  const server = spawn(process.execPath, [THIS_FILE, '--serve-links-api'], {
    env: {
      ...process.env,
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_REDIS_URL: redisUrl,
      BENCH_STORAGE_ROOT: storageRoot,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.once('exit', (code) => reject(new Error(`links-api child exited ${code}`)));
  });
  const url = `http://127.0.0.1:${port}/api/assets/bulk-upload-check`;

  const latencies: number[] = [];
  let rejected = 0;
  for (let r = 0; r < CHECK_REQUESTS + 5; r++) {
    const assets = Array.from({ length: CHECK_BATCH }, (_, k) => {
      // half known (spread over the table), half new
      const i = k % 2 === 0 ? 1 + ((r * 7919 + k * 104729) % CHECK_ASSETS) : CHECK_ASSETS + 1 + r * CHECK_BATCH + k;
      return { id: `/photos/${r}/${k}.jpg`, checksum: checksumOf(i) };
    });
    const body = JSON.stringify({ assets });
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': secret },
      body,
    });
    const json = (await res.json()) as { results: { action: string }[] };
    const ms = performance.now() - started;
    if (res.status !== 200) throw new Error(`bulk-upload-check answered ${res.status}`);
    if (r >= 5) {
      latencies.push(ms); // the first 5 warm up
      rejected += json.results.filter((x) => x.action === 'reject').length;
    }
  }
  server.kill('SIGTERM');
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? 0;
  return { p50: pct(50), p99: pct(99), max: latencies.at(-1) ?? 0, rejected, requests: latencies.length };
}

export async function runIngestBench(): Promise<{ markdown: string }> {
  const backing = await startBacking('ingest');
  const dir = backing.dir;
  const pgPool = createPool({ connectionString: backing.databaseUrl, max: 10 });
  const db = createDb(pgPool);
  try {
    await migrateToLatest(db as never);
    const cores = Number(process.env.INGEST_BENCH_CONCURRENCY) || availableParallelism();
    const lines: string[] = [];
    if (PHOTOS > 0) {
      const genStarted = performance.now();
      const files = await generatePhotos(join(dir, 'photos'));
      console.error(`generated ${files.length} photos in ${((performance.now() - genStarted) / 1000).toFixed(0)} s`);
      const runs = await interleavedRuns(
        db,
        backing.databaseUrl,
        backing.redisUrl,
        join(dir, 'storage'),
        files,
        cores,
        ROUNDS,
      );
      const baselineRate = files.length / runs.baselineSeconds;
      const ingestRate = files.length / runs.ingestSeconds;
      lines.push(
        `Ingest of ${files.length} generated ${WIDTH}×${HEIGHT} (12 MP) JPEGs with EXIF, concurrency ${cores} (= cores), in ${ROUNDS} interleaved rounds (a baseline chunk, then an ingest chunk of the same files); 1-min load average at the end: ${(loadavg()[0] ?? 0).toFixed(1)}:`,
        '',
        '| run | seconds | photos/s |',
        '|---|---:|---:|',
        `| bare sharp (decode + 1440 px JPEG preview + 250 px WebP thumbnail) | ${runs.baselineSeconds.toFixed(1)} | ${baselineRate.toFixed(2)} |`,
        `| ingest worker (relay → BullMQ → verify SHA-1, EXIF, derivatives, thumbhash, storage, DB) | ${runs.ingestSeconds.toFixed(1)} | ${ingestRate.toFixed(2)} |`,
        '',
        `Ratio ingest / bare sharp: **${(ingestRate / baselineRate).toFixed(2)}×** (target ≥ 0.8×); ${runs.ready} ready, ${runs.failed} failed.`,
        '',
      );
    }
    const check = await bulkCheckRun(db, backing.databaseUrl, backing.redisUrl, join(dir, 'storage-check'));
    lines.push(
      `bulk-upload-check: ${CHECK_BATCH} checksums (half known) against an owner of ${CHECK_ASSETS} assets, ${check.requests} requests over HTTP:`,
      `p50 ${check.p50.toFixed(1)} ms, **p99 ${check.p99.toFixed(1)} ms** (target ≤ 200 ms), max ${check.max.toFixed(1)} ms; ${check.rejected / check.requests} duplicates found per request; 1-min load average ${(loadavg()[0] ?? 0).toFixed(1)}.`,
    );
    return { markdown: lines.join('\n') };
  } finally {
    await db.destroy().catch(() => {});
    await backing.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Child process: the real links-api on the bench database, announcing its port on stdout. */
async function serveLinksApi(): Promise<void> {
  const env = process.env as Record<string, string>;
  const config = loadConfig(LinksApiConfig, {
    DATABASE_URL: env.BENCH_DATABASE_URL as string,
    REDIS_URL: env.BENCH_REDIS_URL as string,
    STORAGE_FS_ROOT: env.BENCH_STORAGE_ROOT as string,
    LOG_LEVEL: 'silent',
    BODY_LIMIT_BYTES: String(4 * 1024 * 1024),
  });
  const pool = createPool({ connectionString: config.DATABASE_URL, max: 10 });
  const app = await buildApp({
    config,
    db: createDb(pool),
    storage: createBlobStore({ driver: 'fs', root: config.STORAGE_FS_ROOT }),
    redis: new Redis(config.REDIS_URL),
    logger: false,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  console.log(`PORT ${(app.server.address() as { port: number }).port}`);
  process.once('SIGTERM', () => process.exit(0));
}

if (process.argv.includes('--serve-links-api')) {
  await serveLinksApi();
} else if (process.argv[1] === THIS_FILE) {
  const { markdown } = await runIngestBench();
  console.log(markdown);
  process.exit(0);
}
