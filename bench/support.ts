// Shared by the benchmarks: the load generator and the backing services they run against.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort, startPostgres, startRedis } from '@immish/devstack';
import pg from 'pg';

/** the repository's root: services are started from there, as `npm start` does */
const REPO_ROOT = resolve(import.meta.dirname, '..');

export interface Backing {
  databaseUrl: string;
  redisUrl: string;
  /** a scratch directory for the benchmark (storage root, generated files) */
  dir: string;
  /** what the database is, for the report */
  note: string;
  stop(): Promise<void>;
}

const withDatabase = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

/**
 * PostgreSQL and Redis for a benchmark: DATABASE_URL / REDIS_URL when set, otherwise private instances from
 * the system binaries (PostgreSQL with fsync off); a fresh, empty database either way. `stop()` removes it all.
 */
export async function startBacking(name: string): Promise<Backing> {
  const stops: (() => Promise<void>)[] = [];
  let serverUrl = process.env.DATABASE_URL;
  let redisUrl = process.env.REDIS_URL;
  const dir = mkdtempSync(join(tmpdir(), `immish-${name}-bench-`));
  chmodSync(dir, 0o755); // initdb/postgres run as the postgres user when we are root
  const note = serverUrl
    ? 'PostgreSQL from DATABASE_URL'
    : 'a private PostgreSQL with fsync off (a durable commit would add the disk flush to every write)';
  if (!serverUrl) {
    const pgi = await startPostgres({ dataDir: join(dir, 'pg'), port: await freePort(), ephemeral: true });
    stops.push(() => pgi.stop());
    serverUrl = pgi.url;
  }
  if (!redisUrl) {
    const r = await startRedis({ dataDir: join(dir, 'redis'), port: await freePort() });
    stops.push(() => r.stop());
    redisUrl = r.url;
  }
  const database = `immish_${name.replace(/\W/g, '_')}_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const adminUrl = serverUrl;
  return {
    databaseUrl: withDatabase(adminUrl, database),
    redisUrl,
    dir,
    note,
    async stop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
      await c.end();
      for (const stop of stops.reverse()) await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The `wrk` load generator (Debian package `wrk`), for benchmarks that load a service the way its users' tools do:
 * from its own process, closed-loop over a fixed number of connections. Installed on first use when this runs as
 * root on Debian (like the rest of the bench's system tools); otherwise the error says how to get it.
 */
export function ensureWrk(): string {
  const found = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    process.stdout.write('installing wrk (apt-get install -y wrk)…\n');
    const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'wrk'], { stdio: 'ignore' });
    if (r.status !== 0) spawnSync('sh', ['-c', 'apt-get update && apt-get install -y --no-install-recommends wrk']);
    const again = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
    if (again) return again;
  }
  throw new Error('this benchmark needs wrk on the PATH (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)');
}

// ── services as users run them (issue 17) ───────────────────────────────────────────────────────────────────────

/** clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux) */
const USER_HZ = 100;

/** User and system CPU seconds a process (all its threads) has used so far (/proc/<pid>/stat fields 14 and 15; Linux). */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / USER_HZ, system: Number(fields[12]) / USER_HZ };
}

/** User + system CPU seconds a process (all its threads) has used so far (`cpuTimes`). */
export function cpuSeconds(pid: number): number {
  const { user, system } = cpuTimes(pid);
  return user + system;
}

/**
 * The whole machine's CPU so far, in seconds summed over its cores (/proc/stat's first line; Linux): busy (user,
 * nice, system, interrupts, steal) and idle (idle, I/O wait). Over an interval it counts what no single process
 * shows: PostgreSQL's backends, Redis, the kernel's own threads (writeback), and the cores left idle.
 */
export function machineCpuSeconds(): { busy: number; idle: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] as string;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return {
    busy: ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / USER_HZ,
    idle: ((idle ?? 0) + (iowait ?? 0)) / USER_HZ,
  };
}

/**
 * The services a benchmark starts, and the variables that set their public port (none for a worker) and their
 * internal (metrics, detailed health) port.
 */
const SERVICE_PORTS = {
  'links-api': ['LINKS_API_PORT', 'LINKS_API_METRICS_PORT'],
  'share-gateway': ['GATEWAY_PORT', 'GATEWAY_METRICS_PORT'],
  'ingest-worker': [null, 'INGEST_METRICS_PORT'],
  'export-worker': [null, 'EXPORT_METRICS_PORT'],
  'webhook-worker': [null, 'WEBHOOK_METRICS_PORT'],
} as const;
export type ServiceName = keyof typeof SERVICE_PORTS;

/**
 * The compile cache the benchmarks' services share (`NODE_COMPILE_CACHE`, as `npm start` sets it): Node keys its
 * entries by each file's content, so one directory serves every run and every commit.
 */
export const BENCH_COMPILE_CACHE = join(tmpdir(), 'immish-bench-compile-cache');

/**
 * A process's memory in MiB, from /proc: resident now (VmRSS) and at its peak (VmHWM), and its private part
 * (smaps_rollup's Private_Clean + Private_Dirty: what this process alone costs the machine; the rest of its
 * resident pages, the node binary's code above all, are shared with every other Node process).
 */
export function residentMiB(pid: number): { now: number; peak: number; private: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kib = (text: string, field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    now: kib(status, 'VmRSS') / 1024,
    peak: kib(status, 'VmHWM') / 1024,
    private: (kib(rollup, 'Private_Clean') + kib(rollup, 'Private_Dirty')) / 1024,
  };
}

/** The live child processes of `pid` (from /proc: every process whose parent it is, zombies left out). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(ppid) === pid && state !== 'Z') children.push(Number(entry));
  }
  return children;
}

/**
 * A process of a benchmark's own run the same way (e.g. the outbox relay alone, from the bench file itself):
 * its entry point (relative to the repository) and arguments, and the variable that sets its internal port.
 */
export interface BenchScriptService {
  name: string;
  entry: string;
  args?: readonly string[];
  metricsPortVar: string;
}

export interface ServiceProcess {
  name: string;
  pid: number;
  /** `http://127.0.0.1:<port>`: the public port (the internal one for a service without a public port) */
  url: string;
  /** `http://127.0.0.1:<port>`: the internal port (`/metrics`, detailed health) */
  metricsUrl: string;
  /** where its stdout (the JSON log lines) goes: /dev/null unless a file was asked for */
  logFile: string;
  /** ms from the spawn to the first 200 of `/health/ready` (polled every 20 ms) */
  readyAfterMs: number;
  /** user + system CPU seconds the process has used so far (/proc) */
  cpuSeconds(): number;
  /** SIGTERM, and resolves once it has exited (its shutdown drains what it buffered; a `--cpu-prof` is written) */
  stop(): Promise<void>;
}

/**
 * Starts a service as production and `npm start` do: `node apps/<name>/src/main.ts`, its own process, the default
 * configuration (the caller gives only the URLs, the storage directory, secrets and what the benchmark varies;
 * the ports are free ones chosen here), logging on at the default LOG_LEVEL. Its stdout goes to a file (or
 * /dev/null), never to a pipe this process would have to read: a pipe nobody drains fast enough would stall the
 * service, and reading it would cost this process CPU the load generator needs. stderr is inherited (crashes show).
 * Resolves once `/health/ready` answers 200. `nodeFlags`: e.g. `--cpu-prof --cpu-prof-dir=…` (written when it
 * stops; `cpuProfileFlags`).
 */
export async function startService(
  service: ServiceName | BenchScriptService,
  env: Record<string, string>,
  opts: { nodeFlags?: readonly string[]; logFile?: string } = {},
): Promise<ServiceProcess> {
  const name = typeof service === 'string' ? service : service.name;
  const [portVar, metricsPortVar] =
    typeof service === 'string' ? SERVICE_PORTS[service] : [null, service.metricsPortVar];
  const entry =
    typeof service === 'string' ? [`apps/${service}/src/main.ts`] : [service.entry, ...(service.args ?? [])];
  const port = portVar ? await freePort() : null;
  const metricsPort = await freePort();
  const logFile = opts.logFile ?? '/dev/null';
  const out = openSync(logFile, 'a');
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), ...entry], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      // as `npm start` and the image run them: from Node's compile cache (type-stripped modules kept on disk)
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? BENCH_COMPILE_CACHE,
      ...env,
      ...(portVar ? { [portVar]: String(port) } : {}),
      [metricsPortVar]: String(metricsPort),
      METRICS_HOST: '127.0.0.1',
    },
    stdio: ['ignore', out, 'inherit'],
  });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid as number;
  const metricsUrl = `http://127.0.0.1:${metricsPort}`;
  const started: ServiceProcess = {
    name,
    pid,
    url: port === null ? metricsUrl : `http://127.0.0.1:${port}`,
    metricsUrl,
    logFile,
    readyAfterMs: Number.NaN,
    cpuSeconds: () => cpuSeconds(pid),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(kill);
    },
  };
  while (performance.now() - spawnedAt < 30_000) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} while starting`);
    const ok = await fetch(`${started.url}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { ...started, readyAfterMs: performance.now() - spawnedAt };
    await new Promise((r) => setTimeout(r, 20));
  }
  await started.stop();
  throw new Error(`${name} did not become ready within 30 s`);
}

/** node flags that make a service write a V8 CPU profile into `dir` when it stops (none when `dir` is unset). */
export const cpuProfileFlags = (dir: string | undefined): string[] =>
  dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];

/**
 * The links-api as users run it (`startService`), on `backing`, storing under `storageDir`; BENCH_SERVER_NODE_FLAGS
 * (e.g. `--cpu-prof --cpu-prof-dir=…` or `--trace-gc`) goes to its node, and BENCH_SERVER_LOG_FILE keeps its stdout
 * (the log lines, and what such flags print) instead of dropping it. The link benchmarks' one way to start it.
 */
export function startLinksApi(backing: Backing, storageDir: string): Promise<ServiceProcess> {
  const nodeFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  return startService(
    'links-api',
    {
      DATABASE_URL: backing.databaseUrl,
      REDIS_URL: backing.redisUrl,
      STORAGE_FS_ROOT: storageDir,
      PUBLIC_URL: 'http://share.bench',
    },
    { nodeFlags, logFile: process.env.BENCH_SERVER_LOG_FILE || undefined },
  );
}

/** The bare server's event-loop delay p99 in ms since the last call (startBareServer's `/__loop`), and a reset. */
export async function bareEventLoopP99Ms(bareUrl: string): Promise<number> {
  const { p99Ms } = (await (await fetch(`${bareUrl}/__loop`)).json()) as { p99Ms: number };
  return p99Ms;
}

/**
 * A bare fastify server in a process of its own, answering `GET /<name>` with the given bytes and headers from
 * memory: the baseline a service's route is compared with (the same bytes, nothing else: no logging, no hooks).
 */
export async function startBareServer(
  routes: Record<string, { body: Buffer; headers: Record<string, string> }>,
): Promise<{ pid: number; url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'immish-bare-'));
  const manifest: Record<string, { file: string; headers: Record<string, string> }> = {};
  for (const [route, { body, headers }] of Object.entries(routes)) {
    const file = join(dir, `${route}.bin`);
    writeFileSync(file, body);
    manifest[route] = { file, headers };
  }
  // GET /__loop: the event-loop delay p99 (ms) since the last call, measured as the services measure theirs
  // (monitorEventLoopDelay at 1 ms, runtime metrics.ts), then reset: the floor any server pays at that load
  const script = `
    import { readFileSync } from 'node:fs';
    import { monitorEventLoopDelay } from 'node:perf_hooks';
    import Fastify from 'fastify';
    const manifest = ${JSON.stringify(manifest)};
    const app = Fastify({ logger: false });
    for (const [route, { file, headers }] of Object.entries(manifest)) {
      const body = readFileSync(file);
      app.get('/' + route, (_req, reply) => reply.headers(headers).send(body));
    }
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    app.get('/__loop', async () => {
      const p99Ms = loop.percentile(99) / 1e6;
      loop.reset();
      return { p99Ms };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    process.stdout.write('READY ' + app.server.address().port + '\\n');
    process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
  `;
  const server = await startScriptServer(script);
  return {
    ...server,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A baseline server in a process of its own, from an ES module `script` run from the repository root that listens
 * on loopback, writes `READY <port>` on stdout once listening, and exits on SIGTERM. Resolves with its pid and URL.
 */
export async function startScriptServer(script: string): Promise<{ pid: number; url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
  });
  child.stdout.resume();
  return {
    pid: child.pid as number,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The event-loop delay (ms) a service measured since the last read: its `/metrics` (`nodejs_eventloop_lag_*`,
 * runtime metrics.ts: monitorEventLoopDelay, reset by every read). Read once before a measured run (the reset)
 * and once after it: the delay over that run.
 */
export async function eventLoopDelay(
  service: Pick<ServiceProcess, 'metricsUrl'>,
): Promise<{ p50: number; p99: number; max: number }> {
  const text = await metricsText(service);
  const read = (name: string) => {
    const m = new RegExp(`^nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})? ([\\d.e+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) * 1000 : Number.NaN;
  };
  return { p50: read('p50'), p99: read('p99'), max: read('max') };
}

/**
 * What can hold a service's event loop, read around a measured run to tell why a p99 is high: the main thread's
 * time runnable but not running (`/proc/<pid>/task/<pid>/schedstat`'s second field: another thread or process had
 * the core, which the loop's delay counts too) and its involuntary context switches, against the process's own
 * garbage collection (`nodejs_gc_duration_seconds` from its metrics port: the time and the number of collections
 * over 10 ms). `loopCauses(service)` snapshots; `loopCausesOver` of two snapshots gives the run's figures.
 */
export interface LoopCauses {
  at: number;
  /** the main thread's run-queue wait, ns */
  waitNs: number;
  involuntary: number;
  /** GC seconds and collections by kind (major, minor, incremental, weakcb), and collections over 10 ms */
  gcSeconds: number;
  gcMajorSeconds: number;
  gcOver10ms: number;
}

export async function loopCauses(service: Pick<ServiceProcess, 'metricsUrl' | 'pid'>): Promise<LoopCauses> {
  const text = await metricsText(service);
  const gc = histogramTotalsIn(text, 'nodejs_gc_duration_seconds', '', '0.01');
  const task = `/proc/${service.pid}/task/${service.pid}`;
  const schedstat = readFileSync(`${task}/schedstat`, 'utf8').trim().split(' ');
  const status = readFileSync(`${task}/status`, 'utf8');
  return {
    at: performance.now(),
    waitNs: Number(schedstat[1]),
    involuntary: Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN),
    gcSeconds: gc.sum,
    gcMajorSeconds: histogramTotalsIn(text, 'nodejs_gc_duration_seconds', 'kind="major"').sum,
    gcOver10ms: gc.count - gc.bucket,
  };
}

/** Two `loopCauses` snapshots → per second of the run: run-queue wait and GC in ms, switches; long GCs in all. */
export function loopCausesOver(a: LoopCauses, b: LoopCauses) {
  const s = (b.at - a.at) / 1000;
  return {
    waitMsPerS: (b.waitNs - a.waitNs) / 1e6 / s,
    involuntaryPerS: (b.involuntary - a.involuntary) / s,
    gcMsPerS: ((b.gcSeconds - a.gcSeconds) * 1000) / s,
    gcMajorMsPerS: ((b.gcMajorSeconds - a.gcMajorSeconds) * 1000) / s,
    gcOver10ms: b.gcOver10ms - a.gcOver10ms,
  };
}
export type LoopCausesOver = ReturnType<typeof loopCausesOver>;

/** The event-loop delay p99 (ms) a service measured since the last read (`eventLoopDelay`). */
export async function eventLoopP99Ms(service: Pick<ServiceProcess, 'metricsUrl'>): Promise<number> {
  return (await eventLoopDelay(service)).p99;
}

/**
 * A histogram's running sum and count as a service's metrics port reports them (summed over every label set whose
 * labels include `labels`, e.g. `queue="ingest"`): read before and after a load, the difference gives the mean.
 */
export async function histogramTotals(
  service: Pick<ServiceProcess, 'metricsUrl'>,
  name: string,
  labels: string,
): Promise<{ sum: number; count: number }> {
  return histogramTotalsIn(await metricsText(service), name, labels);
}

/** A service's `/metrics` text, once, for reading several figures of the same moment. */
async function metricsText(service: Pick<ServiceProcess, 'metricsUrl'>): Promise<string> {
  return (await fetch(`${service.metricsUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
}

/** `histogramTotals` of a `/metrics` text already read; `le` (optional) reads that bucket's count instead of `count`. */
function histogramTotalsIn(
  text: string,
  name: string,
  labels: string,
  le?: string,
): { sum: number; count: number; bucket: number } {
  const total = (suffix: string, also = '') => {
    let n = 0;
    for (const m of text.matchAll(new RegExp(`^${name}_${suffix}\\{([^}]*)\\} ([0-9.eE+-]+)$`, 'gm'))) {
      const l = m[1] ?? '';
      if (l.includes(labels) && l.includes(also)) n += Number(m[2]);
    }
    return n;
  };
  return { sum: total('sum'), count: total('count'), bucket: le === undefined ? 0 : total('bucket', `le="${le}"`) };
}

export interface WrkResult {
  requests: number;
  /** responses that were not 2xx/3xx, plus socket errors and timeouts */
  failed: number;
  perSecond: number;
  latencyMs: Record<'50' | '90' | '99', number>;
}

const toMs = (value: string): number => {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
};

/**
 * One wrk run: 1 thread, `connections` (default 50) keep-alive connections, closed loop, `--latency` (wrk's
 * corrected percentiles). Headers go as `-H`; `script` is a wrk Lua file for requests that vary.
 */
export function runWrk(
  url: string,
  opts: { seconds: number; connections?: number; headers?: Record<string, string>; script?: string },
): Promise<WrkResult> {
  const wrk = ensureWrk();
  const args = [
    '-t1',
    `-c${opts.connections ?? 50}`,
    `-d${opts.seconds}s`,
    '--latency',
    ...Object.entries(opts.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    ...(opts.script ? ['-s', opts.script] : []),
    url,
  ];
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
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      resolve({
        requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? 0),
        failed:
          Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) +
          (socketErrors ? socketErrors.slice(1).reduce((a, n) => a + Number(n), 0) : 0),
        perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
        latencyMs: { '50': pct('50'), '90': pct('90'), '99': pct('99') },
      });
    });
  });
}

/** A wrk run with the CPU a process used meanwhile, as a share of one core (1 = one core busy the whole run). */
export async function runWrkMeasuring(
  url: string,
  opts: Parameters<typeof runWrk>[1],
  pid: number,
): Promise<WrkResult & { cpuCores: number }> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const result = await runWrk(url, opts);
  const cpuCores = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
  return { ...result, cpuCores };
}

/** The 1-minute load average and the machine, for a report's first lines. */
export function machineNote(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, 1-minute load average ${loadavg()[0]?.toFixed(1)}`;
}
