/**
 * Ingest benchmark (issues 4 and 17), not a test: figures are printed, never asserted.
 *
 *   node bench/ingest.bench.ts
 *   (INGEST_BENCH_PHOTOS: photos, default 160, 0 = only the bulk check; INGEST_BENCH_ROUNDS: default 4;
 *    INGEST_BENCH_CHECK=0: no bulk-upload-check (part 2), e.g. while profiling the upload path;
 *    INGEST_BENCH_CPU_PROF=<dir>: the services write a V8 CPU profile there when they stop;
 *    INGEST_BENCH_NODE_FLAGS: more node flags for the three services, e.g. `--trace-gc`, or
 *    `--incremental-marking-soft-trigger=0 --incremental-marking-hard-trigger=0` for V8's own marking triggers
 *    (runtime gc-tuning.ts leaves a trigger given on the command line); INGEST_CONCURRENCY is passed to the worker
 *    when set, else it keeps its default)
 *
 * 1. Ingest end to end, as users run it: links-api and ingest-worker each in their own process, started as
 *    `npm start` starts them (`node apps/<app>/src/main.ts`, default configuration, JSON logging on, the outbox
 *    relay in each service). N generated 12-megapixel JPEGs with EXIF are uploaded over HTTP through the
 *    Immich-compatible `POST /api/assets` (multipart, API key), 2 at a time, like a phone's backup; the uploading
 *    client (the load generator) builds each body before the clock starts and sends it from memory, 2–3 ms of CPU
 *    per photo (it must not be what sets the pace: a phone pays its own CPU). The clock
 *    runs from the first byte of the first upload to the moment the last asset is `ready` (a LISTEN on the
 *    outbox's NOTIFY, which the worker's final transaction fires: no polling). Baseline, same run, same bytes:
 *    a bare sharp script, 2 at a time, decoding each file from memory into a 1440 px JPEG preview and a 250 px
 *    WebP thumbnail. Target: ≥ 0.8× the baseline's photos/s. The ceiling, same run, same bodies: a bare receiver
 *    (`startBareReceiver`: what any upload path that keeps the bytes durably must do, and nothing else) takes the
 *    uploads while bare sharp makes the derivatives, both at once; its ratio is the most any design could reach
 *    here, and the gap between it and the ingest's is what the services add. Also reported: the CPU each process
 *    spent per photo (/proc), the baseline's own (this process while it runs: the figure to compare with on a busy machine,
 *    where wall-clock ratios mostly measure the load), the worker's ingest jobs (mean wait in the queue and mean
 *    processing, from its metrics port: a backlog or a start latency shows there), each service's event-loop
 *    delay p99 during the ingest (its metrics port), what a person waits meanwhile (one request at a time every
 *    20 ms, `personProbe`: the owner at the console on links-api, and a recipient on a share link through a
 *    share-gateway started beside them as `npm start` starts it), and the whole machine's busy and idle time per
 *    photo (/proc/stat: what PostgreSQL, Redis and the kernel add, and how much idle is left to close). WORKER_NICE, when set in this process's
 *    environment, reaches the worker (0 against the default 10 shows what the workers' CPU priority is for).
 *    Quiet figures (2026-12-06 07:11–07:13 UTC, 1-min load 2.4–3.8, two runs of the command above): 0.64× and
 *    0.66× (target not met); CPU per photo links-api 27–28 ms, ingest-worker 108–130 ms, client 2–3 ms, bare sharp
 *    90–106 ms; worker slots busy 96%; event-loop p99 links-api 8–9 ms, ingest-worker 1–2 ms. docs/benchmarks.md
 *    "Ingest end to end" says where the rest goes.
 * 2. `POST /api/assets/bulk-upload-check` with 5,000 checksums (half known) for an owner of 50,000 assets,
 *    over HTTP against the same links-api process: p50/p99 of 100 requests. Target: p99 ≤ 200 ms.
 *
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database is created there and dropped after), else starts
 * a private PostgreSQL and Redis (@immish/devstack) in a temp dir.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, createPool, type Db, migrateToLatest } from '@immish/db';
import { assetKeys, createApiKey, createUser } from '@immish/domain';
import { ingestConcurrency } from '@immish/ingest-worker';
import { createBlobStore } from '@immish/storage';
import { sql } from 'kysely';
import pg from 'pg';
import sharp from 'sharp';
import {
  cpuProfileFlags,
  cpuSeconds,
  cpuTimes,
  eventLoopDelay,
  histogramTotals,
  machineCpuSeconds,
  type ServiceProcess,
  startBacking,
  startScriptServer,
  startService,
} from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const PHOTOS = Number(process.env.INGEST_BENCH_PHOTOS ?? 160);
const ROUNDS = Number(process.env.INGEST_BENCH_ROUNDS ?? 4);
const WARMUP = 4;
const AT_ONCE = 2; // uploads in flight, and the baseline's sharp calls in flight
const BASES = 6; // distinct pixel contents; the rest differ by a JPEG comment (unique checksums)
const WIDTH = 4000;
const HEIGHT = 3000;
const CHECK_ASSETS = 50_000;
const CHECK_BATCH = 5_000;
const CHECK_REQUESTS = 100;
const CHECK = process.env.INGEST_BENCH_CHECK !== '0';

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

async function generatePhotos(dir: string, count: number): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const bases: Buffer[] = [];
  for (let b = 0; b < BASES; b++) bases.push(await basePhoto(b + 1));
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
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

/**
 * The baseline: what sharp alone needs for the same derivatives, from the same bytes already in memory. Returns its
 * wall seconds and the CPU seconds this process spent meanwhile (all its threads: sharp's included), the
 * like-for-like figure for the services' CPU per photo when a shared machine makes wall-clock ratios noisy.
 */
async function bareSharp(
  photos: readonly Buffer[],
): Promise<{ seconds: number; cpuSeconds: number; machine: { busy: number; idle: number } }> {
  const cpu0 = cpuSeconds(process.pid);
  const machine0 = machineCpuSeconds();
  const started = performance.now();
  await pool(photos, AT_ONCE, async (bytes) => {
    const preview = await sharp(bytes)
      .rotate()
      .resize(1440, 1440, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer();
    await sharp(preview).resize(250, 250, { fit: 'inside' }).webp({ quality: 80 }).toBuffer();
  });
  const machine1 = machineCpuSeconds();
  return {
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSeconds(process.pid) - cpu0,
    machine: { busy: machine1.busy - machine0.busy, idle: machine1.idle - machine0.idle },
  };
}

/**
 * The least any design that keeps an upload durably before answering does, in a process of its own: node:http,
 * every byte of the body through SHA-1 and into a new file under `dir` (the services' filesystem), fsync, then a
 * short JSON answer (201). No multipart parsing, authentication, database, event, queue or logging: what is left is
 * reading the socket, hashing, the page-cache write and the flush, which no upload path avoids. Run beside bare
 * sharp on the same photos, it gives the ceiling of the ingest's ratio on this machine (`ceilingRound`).
 */
function startBareReceiver(dir: string) {
  mkdirSync(dir, { recursive: true });
  return startScriptServer(`
    import { createHash } from 'node:crypto';
    import { createWriteStream } from 'node:fs';
    import { open } from 'node:fs/promises';
    import { createServer } from 'node:http';
    import { join } from 'node:path';
    import { pipeline } from 'node:stream/promises';
    let n = 0;
    const server = createServer(async (req, res) => {
      const path = join(${JSON.stringify(dir)}, 'upload-' + n++);
      const hash = createHash('sha1');
      req.on('data', (chunk) => hash.update(chunk));
      await pipeline(req, createWriteStream(path));
      const file = await open(path, 'r');
      await file.sync();
      await file.close();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: hash.digest('hex'), status: 'created' }));
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => process.stdout.write('READY ' + server.address().port + '\\n'));
    process.on('SIGTERM', () => server.close(() => process.exit(0)));
  `);
}

/**
 * The ceiling: the bare receiver takes the round's uploads (the same bodies, the same client) while bare sharp makes
 * the same derivatives from memory, both at once on the same cores. No design with a durable upload and the same
 * image work can do better on this machine, so the wall time here is the least the ingest could take.
 */
async function ceilingRound(
  receiver: { pid: number; url: string },
  bodies: readonly UploadBody[],
  photos: readonly Buffer[],
): Promise<{ seconds: number; receiverCpu: { user: number; system: number }; machineBusy: number }> {
  const cpu0 = cpuTimes(receiver.pid);
  const machine0 = machineCpuSeconds();
  const started = performance.now();
  await Promise.all([pool(bodies, AT_ONCE, (body) => upload(receiver.url, 'none', body)), bareSharp(photos)]);
  const seconds = (performance.now() - started) / 1000;
  const machine1 = machineCpuSeconds();
  const cpu1 = cpuTimes(receiver.pid);
  return {
    seconds,
    receiverCpu: { user: cpu1.user - cpu0.user, system: cpu1.system - cpu0.system },
    machineBusy: machine1.busy - machine0.busy,
  };
}

/** One upload's request body, built before the clock starts: the multipart head, the photo's bytes, the tail. */
interface UploadBody {
  name: string;
  head: Buffer;
  bytes: Buffer;
  tail: Buffer;
}

/** The boundary of every upload body (one per run: the parser finds it the same way, whatever it is). */
const BOUNDARY = `----immishbench${randomBytes(8).toString('hex')}`;
const UPLOAD_TAIL = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);

/** The `POST /api/assets` body for one photo (the fields first, then `assetData`), as a phone app sends it. */
function uploadBody(name: string, bytes: Buffer): UploadBody {
  const now = new Date().toISOString();
  const field = (field: string, value: string) =>
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"\r\n\r\n${value}\r\n`;
  const head = Buffer.from(
    field('deviceAssetId', name) +
      field('deviceId', 'ingest-bench') +
      field('fileCreatedAt', now) +
      field('fileModifiedAt', now) +
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="assetData"; filename="${name}"\r\nContent-Type: image/jpeg\r\n\r\n`,
  );
  return { name, head, bytes, tail: UPLOAD_TAIL };
}

/**
 * One photo through the phone apps' route: `POST /api/assets`, multipart, with node:http over a keep-alive
 * connection. The uploading client is the load generator and must not set the pace (issue 17): a phone spends its
 * own CPU, here the client shares the services' 2 cores. So the body is built before the clock starts and the
 * photo is sent from memory in one write (no file stream, no per-chunk buffers: the client's earlier profile was
 * mostly garbage collection); only the short JSON answer is read. Not fetch + FormData: undici's web streams cost
 * ~35 ms of CPU per 3.5 MB photo here.
 */
async function upload(baseUrl: string, apiKey: string, body: UploadBody): Promise<void> {
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      `${baseUrl}/api/assets`,
      {
        method: 'POST',
        agent: keepAlive,
        headers: {
          'x-api-key': apiKey,
          'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
          'content-length': body.head.length + body.bytes.length + body.tail.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.write(body.head);
    req.write(body.bytes);
    req.end(body.tail);
  });
  if (status !== 201) throw new Error(`upload of ${body.name} answered ${status}: ${text}`);
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: AT_ONCE });

/**
 * Wakes when the owner's finished assets (ready or failed) reach a count: a LISTEN on the outbox channel, which
 * every transaction that writes an event notifies at commit (the worker's last one writes `asset.ingested`), then
 * one count. No polling interval stands between the last commit and the clock stopping.
 */
class FinishedAssets {
  readonly #client: pg.Client;
  readonly #ownerId: string;
  #counts = { ready: 0, failed: 0 };
  #running: Promise<void> | null = null;
  #again = false;
  #waiters: { target: number; resolve: () => void }[] = [];

  private constructor(client: pg.Client, ownerId: string) {
    this.#client = client;
    this.#ownerId = ownerId;
  }

  static async open(databaseUrl: string, ownerId: string): Promise<FinishedAssets> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const watcher = new FinishedAssets(client, ownerId);
    client.on('notification', () => watcher.#check());
    await client.query('LISTEN outbox_events');
    return watcher;
  }

  get counts() {
    return this.#counts;
  }

  #check(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#count().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.#check();
      }
    });
  }

  async #count(): Promise<void> {
    const { rows } = await this.#client.query<{ ready: string; failed: string }>(
      `SELECT count(*) FILTER (WHERE status = 'ready') AS ready, count(*) FILTER (WHERE status = 'failed') AS failed
       FROM assets WHERE owner_id = $1`,
      [this.#ownerId],
    );
    this.#counts = { ready: Number(rows[0]?.ready), failed: Number(rows[0]?.failed) };
    const done = this.#counts.ready + this.#counts.failed;
    this.#waiters = this.#waiters.filter((w) => {
      if (done < w.target) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once ready + failed ≥ target (a fallback check every 2 s only guards against a lost notification). */
  until(target: number): Promise<void> {
    const fallback = setInterval(() => this.#check(), 2000);
    return new Promise<void>((resolve) => {
      this.#waiters.push({ target, resolve });
      this.#check();
    }).finally(() => clearInterval(fallback));
  }

  close(): Promise<void> {
    return this.#client.end();
  }
}

/** The gap between a person's requests during the ingest (one at a time: a person at a screen, not a load). */
const PROBE_GAP_MS = 20;

/**
 * A person using the product while the batch goes in: `GET url` with `headers`, one at a time every PROBE_GAP_MS
 * on a connection of its own, until stopped; resolves with each answer's milliseconds. Two run during the ingest:
 * the owner at the console (links-api `GET /api/users/me`, the uploads' own API key) and a recipient on a share
 * link (a thumbnail through the gateway, as a grid asks while scrolling). What they show is how long a person waits behind the ingest
 * (docs/architecture.md "CPU priority": WORKER_NICE).
 */
function personProbe(url: string, headers: Record<string, string>): { stop(): Promise<number[]> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let running = true;
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const req = request(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`GET ${new URL(url).pathname} answered ${res.statusCode}`));
          else {
            latencies.push(performance.now() - started);
            resolve();
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
  const loop = (async () => {
    while (running) {
      await once();
      await new Promise((r) => setTimeout(r, PROBE_GAP_MS));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      agent.destroy();
      return latencies;
    },
  };
}

/** The nearest-rank percentile `p` (0–100) of `xs`; NaN when there are none. */
const percentile = (xs: readonly number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

interface IngestRun {
  baselineSeconds: number;
  /** CPU seconds the bare sharp baseline spent (this process, all threads) */
  baselineCpuSeconds: number;
  ingestSeconds: number;
  uploadSeconds: number;
  ready: number;
  failed: number;
  /** CPU seconds during the timed ingest: links-api, ingest-worker, this process (the uploading client) */
  cpu: { linksApi: number; worker: number; client: number; gateway: number };
  /** links-api's CPU seconds during the timed ingest, split into user and kernel time */
  linksApiCpu: { user: number; system: number };
  /** the ceiling rounds (`ceilingRound`): wall seconds, and the bare receiver's CPU seconds */
  ceiling: { seconds: number; receiverCpu: { user: number; system: number }; machineBusy: number };
  /** the whole machine's CPU seconds (all cores) during the timed ingest and during the baseline */
  machine: { ingest: { busy: number; idle: number }; baseline: { busy: number; idle: number } };
  /** the worker's ingest jobs during the timed rounds: seconds waited in the queue, seconds processing, jobs */
  jobs: { waitSeconds: number; runSeconds: number; count: number };
  /** each answer of the owner's and the recipient's probes during the timed rounds' ingest, ms */
  ownerRequestMs: number[];
  recipientRequestMs: number[];
  /** per timed round: each service's event-loop delay p99 and max, ms */
  eventLoop: { linksApi: { p99: number; max: number }[]; worker: { p99: number; max: number }[] };
}

/**
 * Interleaved rounds (a baseline chunk, then the ingest of the same files) so both see the same machine load: on a
 * shared machine, two long phases one after the other would mostly measure the load change. A warm-up round first
 * (not counted) lets both services and sharp reach steady state.
 */
async function ingestRuns(
  services: { linksApi: ServiceProcess; worker: ServiceProcess; gateway: ServiceProcess; baseUrl: string },
  receiver: { pid: number; url: string },
  recipientUrl: string,
  apiKey: string,
  finished: FinishedAssets,
  warmup: readonly string[],
  files: readonly string[],
): Promise<IngestRun> {
  const run: IngestRun = {
    baselineSeconds: 0,
    baselineCpuSeconds: 0,
    ingestSeconds: 0,
    uploadSeconds: 0,
    ready: 0,
    failed: 0,
    cpu: { linksApi: 0, worker: 0, client: 0, gateway: 0 },
    linksApiCpu: { user: 0, system: 0 },
    ceiling: { seconds: 0, receiverCpu: { user: 0, system: 0 }, machineBusy: 0 },
    machine: { ingest: { busy: 0, idle: 0 }, baseline: { busy: 0, idle: 0 } },
    jobs: { waitSeconds: 0, runSeconds: 0, count: 0 },
    eventLoop: { linksApi: [], worker: [] },
    ownerRequestMs: [],
    recipientRequestMs: [],
  };
  const jobTotals = async () => {
    const [wait, run] = await Promise.all([
      histogramTotals(services.worker, 'job_wait_seconds', 'queue="ingest"'),
      histogramTotals(services.worker, 'job_duration_seconds', 'queue="ingest"'),
    ]);
    return { wait: wait.sum, run: run.sum, count: run.count };
  };
  let target = 0;
  const round = async (chunk: readonly string[], timed: boolean) => {
    // read once: the baseline's input, and the upload bodies (built before the ingest clock starts)
    const bytes = chunk.map((f) => readFileSync(f));
    const baseline = await bareSharp(bytes);
    const bodies = chunk.map((f, i) => uploadBody(basename(f), bytes[i] as Buffer));
    const ceiling = await ceilingRound(receiver, bodies, bytes);
    await Promise.all([eventLoopDelay(services.linksApi), eventLoopDelay(services.worker)]); // window starts
    const jobs0 = await jobTotals();
    const cpu0 = [
      services.linksApi.cpuSeconds(),
      services.worker.cpuSeconds(),
      cpuSeconds(process.pid),
      services.gateway.cpuSeconds(),
    ];
    const linksApiCpu0 = cpuTimes(services.linksApi.pid);
    const machine0 = machineCpuSeconds();
    target += chunk.length;
    const started = performance.now();
    const owner = personProbe(`${services.baseUrl}/api/users/me`, { 'x-api-key': apiKey });
    const recipient = personProbe(recipientUrl, {});
    await pool(bodies, AT_ONCE, (body) => upload(services.baseUrl, apiKey, body));
    const uploaded = performance.now();
    await finished.until(target);
    const ended = performance.now();
    const ownerMs = await owner.stop();
    const recipientMs = await recipient.stop();
    const machine1 = machineCpuSeconds();
    const linksApiCpu1 = cpuTimes(services.linksApi.pid);
    const cpu1 = [
      services.linksApi.cpuSeconds(),
      services.worker.cpuSeconds(),
      cpuSeconds(process.pid),
      services.gateway.cpuSeconds(),
    ];
    const jobs1 = await jobTotals();
    const [apiLoop, workerLoop] = await Promise.all([
      eventLoopDelay(services.linksApi),
      eventLoopDelay(services.worker),
    ]);
    if (!timed) return;
    run.baselineSeconds += baseline.seconds;
    run.baselineCpuSeconds += baseline.cpuSeconds;
    run.ingestSeconds += (ended - started) / 1000;
    run.uploadSeconds += (uploaded - started) / 1000;
    run.cpu.linksApi += (cpu1[0] as number) - (cpu0[0] as number);
    run.cpu.worker += (cpu1[1] as number) - (cpu0[1] as number);
    run.cpu.client += (cpu1[2] as number) - (cpu0[2] as number);
    run.cpu.gateway += (cpu1[3] as number) - (cpu0[3] as number);
    run.linksApiCpu.user += linksApiCpu1.user - linksApiCpu0.user;
    run.linksApiCpu.system += linksApiCpu1.system - linksApiCpu0.system;
    run.ceiling.seconds += ceiling.seconds;
    run.ceiling.receiverCpu.user += ceiling.receiverCpu.user;
    run.ceiling.receiverCpu.system += ceiling.receiverCpu.system;
    run.ceiling.machineBusy += ceiling.machineBusy;
    run.machine.ingest.busy += machine1.busy - machine0.busy;
    run.machine.ingest.idle += machine1.idle - machine0.idle;
    run.machine.baseline.busy += baseline.machine.busy;
    run.machine.baseline.idle += baseline.machine.idle;
    run.jobs.waitSeconds += jobs1.wait - jobs0.wait;
    run.jobs.runSeconds += jobs1.run - jobs0.run;
    run.jobs.count += jobs1.count - jobs0.count;
    run.eventLoop.linksApi.push({ p99: apiLoop.p99, max: apiLoop.max });
    run.eventLoop.worker.push({ p99: workerLoop.p99, max: workerLoop.max });
    run.ownerRequestMs.push(...ownerMs);
    run.recipientRequestMs.push(...recipientMs);
    console.error(
      `round ${run.eventLoop.worker.length}/${ROUNDS}: baseline ${run.baselineSeconds.toFixed(1)} s, ceiling ${run.ceiling.seconds.toFixed(1)} s, ingest ${run.ingestSeconds.toFixed(1)} s ` +
        `(uploads done after ${((uploaded - started) / 1000).toFixed(1)} s); event-loop p99 links-api ${apiLoop.p99.toFixed(1)} ms, ingest-worker ${workerLoop.p99.toFixed(1)} ms`,
    );
  };
  await round(warmup, false);
  const size = Math.ceil(files.length / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    const chunk = files.slice(r * size, (r + 1) * size);
    if (chunk.length > 0) await round(chunk, true);
  }
  run.ready = finished.counts.ready;
  run.failed = finished.counts.failed;
  return run;
}

/**
 * A share link as recipients get it: another owner's, no password, one ready photo with its stored thumbnail (the
 * recipient's probe asks for that thumbnail, as a grid does while scrolling: no view or visit is recorded for it,
 * so the probe adds little work of its own). Returns the thumbnail's path on the gateway.
 */
async function seedRecipientLink(db: Db, storageRoot: string): Promise<string> {
  const owner = await createUser(db, { email: 'sharer@bench.test', name: 'Sharer', password: 'bench' });
  const id = randomUUID();
  const keys = assetKeys(owner.id, id, 'jpg');
  await db
    .insertInto('assets')
    .values({
      id,
      owner_id: owner.id,
      type: 'IMAGE',
      original_file_name: 'IMG_0001.jpg',
      mime_type: 'image/jpeg',
      size: 3_500_000,
      checksum: createHash('sha1').update(id).digest(),
      original_key: keys.original,
      thumbnail_key: keys.thumbnail,
      preview_key: keys.preview,
      width: 4000,
      height: 3000,
      status: 'ready',
    })
    .execute();
  const link = await db
    .insertInto('shared_links')
    .values({ owner_id: owner.id, type: 'INDIVIDUAL', key: randomBytes(32).toString('base64url') })
    .returning(['id', 'key'])
    .executeTakeFirstOrThrow();
  await db.insertInto('shared_link_assets').values({ link_id: link.id, asset_id: id }).execute();
  const storage = createBlobStore({ driver: 'fs', root: storageRoot });
  try {
    const thumbnail = await sharp({ create: { width: 250, height: 188, channels: 3, background: '#3a6' } })
      .webp({ quality: 80 })
      .toBuffer();
    await storage.put(keys.thumbnail, thumbnail);
  } finally {
    await storage.close();
  }
  return `/share/${link.key}/assets/${id}/thumbnail`;
}

const checksumOf = (i: number) =>
  createHash('md5').update(`bench${i}`).digest('hex') + createHash('md5').update(`x${i}`).digest('hex').slice(0, 8);

async function bulkCheckRun(db: Db, baseUrl: string) {
  const owner = await createUser(db, { email: 'check@bench.test', name: 'Check', password: 'bench' });
  await sql`
    INSERT INTO assets (owner_id, type, original_file_name, checksum, original_key, status)
    SELECT ${owner.id}::uuid, 'IMAGE', 'IMG_' || i || '.jpg',
           decode(md5('bench' || i) || substr(md5('x' || i), 1, 8), 'hex'),
           'assets/bench/' || i || '/original.jpg', 'ready'
    FROM generate_series(1, ${CHECK_ASSETS}) AS i`.execute(db);
  await sql`ANALYZE assets`.execute(db);
  const { secret } = await createApiKey(db, owner.id, 'bench');
  const url = `${baseUrl}/api/assets/bulk-upload-check`;

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
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    rejected,
    requests: latencies.length,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : ((s[(s.length - 1) >> 1] as number) + (s[s.length >> 1] as number)) / 2;
};

export async function runIngestBench(): Promise<{ markdown: string }> {
  const backing = await startBacking('ingest');
  const dir = backing.dir;
  const pgPool = createPool({ connectionString: backing.databaseUrl, max: 4 });
  const db = createDb(pgPool);
  const started: ServiceProcess[] = [];
  /** baseline processes started here (the bare receiver), stopped after the services */
  const stops: (() => Promise<void>)[] = [];
  try {
    await migrateToLatest(db as never);
    const owner = await createUser(db, { email: 'ingest@bench.test', name: 'Ingest', password: 'bench' });
    const { secret } = await createApiKey(db, owner.id, 'ingest bench');
    const nodeFlags = [
      ...cpuProfileFlags(process.env.INGEST_BENCH_CPU_PROF),
      ...(process.env.INGEST_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    ];
    const env = {
      DATABASE_URL: backing.databaseUrl,
      REDIS_URL: backing.redisUrl,
      STORAGE_FS_ROOT: join(dir, 'storage'),
      NODE_COMPILE_CACHE: join(dir, 'compile-cache'),
    };
    const linksApi = await startService(
      'links-api',
      { ...env, HOST: '127.0.0.1' },
      { nodeFlags, logFile: join(dir, 'links-api.log') },
    );
    started.push(linksApi);
    // INGEST_CONCURRENCY, when set in this process's environment, reaches the worker; else it keeps its default
    const worker = await startService('ingest-worker', env, { nodeFlags, logFile: join(dir, 'ingest-worker.log') });
    started.push(worker);
    const baseUrl = linksApi.url;
    // a recipient's share link (another owner's: the ingest's own assets are counted), served by a gateway
    // started as npm start starts it
    const thumbnailPath = await seedRecipientLink(db, env.STORAGE_FS_ROOT);
    const gateway = await startService(
      'share-gateway',
      { ...env, PUBLIC_URL: 'http://share.bench', UNLOCK_SECRET: randomBytes(32).toString('base64url') },
      { nodeFlags, logFile: join(dir, 'share-gateway.log') },
    );
    started.push(gateway);
    const recipientUrl = `${gateway.url}${thumbnailPath}`;
    const receiver = await startBareReceiver(join(dir, 'bare-receiver'));
    stops.push(() => receiver.stop());

    const lines: string[] = [];
    if (PHOTOS > 0) {
      const genStarted = performance.now();
      const all = await generatePhotos(join(dir, 'photos'), WARMUP + PHOTOS);
      const sizeMb = all.slice(0, BASES).reduce((n, f) => n + readFileSync(f).length, 0) / BASES / 1e6;
      console.error(`generated ${all.length} photos in ${((performance.now() - genStarted) / 1000).toFixed(0)} s`);
      const finished = await FinishedAssets.open(backing.databaseUrl, owner.id);
      const files = all.slice(WARMUP);
      const run = await ingestRuns(
        { linksApi, worker, gateway, baseUrl },
        receiver,
        recipientUrl,
        secret,
        finished,
        all.slice(0, WARMUP),
        files,
      ).finally(() => finished.close());
      const baselineRate = files.length / run.baselineSeconds;
      const ingestRate = files.length / run.ingestSeconds;
      const ceilingRate = files.length / run.ceiling.seconds;
      // the worker's job slots, as the worker computes them from the same setting
      const slots = ingestConcurrency(Number(process.env.INGEST_CONCURRENCY ?? 0));
      const perPhoto = (s: number) => `${((s * 1000) / files.length).toFixed(0)} ms`;
      const loop = (xs: { p99: number; max: number }[]) =>
        `p99 ${median(xs.map((x) => x.p99)).toFixed(1)} ms (rounds ${xs.map((x) => x.p99.toFixed(0)).join(', ')}), max ${Math.max(...xs.map((x) => x.max)).toFixed(0)} ms`;
      lines.push(
        `Ingest end to end of ${files.length} generated ${WIDTH}×${HEIGHT} (12 MP, ${sizeMb.toFixed(1)} MB) JPEGs with EXIF, uploaded ${AT_ONCE} at a time over HTTP (\`POST /api/assets\`) to links-api and ingest-worker in their own processes (default configuration, logging on), in ${ROUNDS} interleaved rounds after a ${WARMUP}-photo warm-up; ${backing.note}; 1-min load average at the end: ${(loadavg()[0] ?? 0).toFixed(1)}:`,
        '',
        '| run | seconds | photos/s |',
        '|---|---:|---:|',
        `| bare sharp from memory, ${AT_ONCE} at a time (decode + 1440 px JPEG preview + 250 px WebP thumbnail) | ${run.baselineSeconds.toFixed(1)} | ${baselineRate.toFixed(2)} |`,
        `| first byte of the first upload → last asset ready (upload, SHA-1, storage, outbox, relay, BullMQ, verify, EXIF, derivatives, thumbhash, DB) | ${run.ingestSeconds.toFixed(1)} | ${ingestRate.toFixed(2)} |`,
        `| the ceiling: a bare receiver takes the same uploads (node:http; SHA-1 and a file write of every byte, fsync; no parsing, database, queue or logging) while bare sharp makes the same derivatives, both at once | ${run.ceiling.seconds.toFixed(1)} | ${ceilingRate.toFixed(2)} |`,
        '',
        `Ratio ingest / bare sharp: **${(ingestRate / baselineRate).toFixed(2)}×** (target ≥ 0.8×); ${run.ready} ready, ${run.failed} failed (warm-up included); the uploads themselves were done after ${run.uploadSeconds.toFixed(1)} s.`,
        `The ceiling on this machine (no design that keeps each upload durably before answering, and makes the same derivatives, can beat it): **${(ceilingRate / baselineRate).toFixed(2)}×** bare sharp. The bare receiver spent ${perPhoto(run.ceiling.receiverCpu.user + run.ceiling.receiverCpu.system)} of CPU per upload, ${perPhoto(run.ceiling.receiverCpu.system)} of it in the kernel (socket reads, page-cache writes, the flush); links-api ${perPhoto(run.linksApiCpu.user + run.linksApiCpu.system)}, ${perPhoto(run.linksApiCpu.system)} in the kernel. The machine was busy ${perPhoto(run.ceiling.machineBusy)} per photo for the ceiling and ${perPhoto(run.machine.ingest.busy)} for the ingest: the services add ${perPhoto(run.machine.ingest.busy - run.ceiling.machineBusy)} per photo of work to the least that can be done.`,
        `CPU per photo: links-api ${perPhoto(run.cpu.linksApi)}, ingest-worker ${perPhoto(run.cpu.worker)}, the uploading client ${perPhoto(run.cpu.client)} (wall time per photo ${perPhoto(run.ingestSeconds)} on 2 cores; bare sharp ${perPhoto(run.baselineSeconds)} wall, ${perPhoto(run.baselineCpuSeconds)} CPU; ingest CPU of the three processes / bare sharp CPU: ${((run.cpu.linksApi + run.cpu.worker + run.cpu.client) / run.baselineCpuSeconds).toFixed(2)}×).`,
        `The whole machine per photo (/proc/stat, both cores): during the ingest ${perPhoto(run.machine.ingest.busy)} busy and ${perPhoto(run.machine.ingest.idle)} idle, of which the three processes above ${perPhoto(run.cpu.linksApi + run.cpu.worker + run.cpu.client)}, the gateway answering the recipient ${perPhoto(run.cpu.gateway)} and everything else (PostgreSQL, Redis, the kernel's threads) ${perPhoto(run.machine.ingest.busy - run.cpu.linksApi - run.cpu.worker - run.cpu.client - run.cpu.gateway)}; during bare sharp ${perPhoto(run.machine.baseline.busy)} busy and ${perPhoto(run.machine.baseline.idle)} idle. 0.8× would be ${perPhoto(run.baselineSeconds / 0.8)} of wall time per photo: at most ${perPhoto((cpus().length * run.baselineSeconds) / 0.8)} of the ${cpus().length} cores' time for everything the ingest makes the machine do.`,
        `Ingest jobs (the worker's metrics): ${run.jobs.count} jobs, mean wait in the queue ${((run.jobs.waitSeconds * 1000) / run.jobs.count).toFixed(0)} ms, mean processing ${((run.jobs.runSeconds * 1000) / run.jobs.count).toFixed(0)} ms (${slots} at a time: the worker's job slots were busy ${((100 * run.jobs.runSeconds) / (slots * run.ingestSeconds)).toFixed(0)}% of the ingest time).`,
        `Event-loop delay under this load (each service's metrics port, monitorEventLoopDelay sampled every 1 ms (runtime metrics.ts); median of the rounds): links-api ${loop(run.eventLoop.linksApi)}; ingest-worker ${loop(run.eventLoop.worker)}.`,
        `A person's request during the ingest (one at a time every ${PROBE_GAP_MS} ms on its own connection; the worker at WORKER_NICE=${process.env.WORKER_NICE ?? '10, the default'}): the owner at the console (links-api \`GET /api/users/me\`, ${run.ownerRequestMs.length} answers) p50 ${percentile(run.ownerRequestMs, 50).toFixed(1)} ms, **p99 ${percentile(run.ownerRequestMs, 99).toFixed(1)} ms**, max ${Math.max(...run.ownerRequestMs).toFixed(1)} ms; a recipient scrolling a share link (a thumbnail through the gateway, ${run.recipientRequestMs.length} answers) p50 ${percentile(run.recipientRequestMs, 50).toFixed(1)} ms, **p99 ${percentile(run.recipientRequestMs, 99).toFixed(1)} ms**, max ${Math.max(...run.recipientRequestMs).toFixed(1)} ms.`,
        '',
      );
    }
    if (CHECK) {
      const check = await bulkCheckRun(db, baseUrl);
      lines.push(
        `bulk-upload-check: ${CHECK_BATCH} checksums (half known) against an owner of ${CHECK_ASSETS} assets, ${check.requests} requests over HTTP to the same links-api process:`,
        `p50 ${check.p50.toFixed(1)} ms, **p99 ${check.p99.toFixed(1)} ms** (target ≤ 200 ms), max ${check.max.toFixed(1)} ms; ${check.rejected / check.requests} duplicates found per request; 1-min load average ${(loadavg()[0] ?? 0).toFixed(1)}.`,
      );
    }
    return { markdown: lines.join('\n') };
  } finally {
    for (const s of started.reverse()) await s.stop().catch(() => {});
    for (const stop of stops) await stop().catch(() => {});
    await db.destroy().catch(() => {});
    await backing.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === THIS_FILE) {
  const { markdown } = await runIngestBench();
  console.log(markdown);
  process.exit(0);
}
