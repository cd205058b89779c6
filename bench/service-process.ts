/**
 * A service started as its own process the way `npm start` and production start it (`node apps/<app>/src/main.ts`,
 * default configuration, logging on), for the ingest and event benchmarks (issue 17 items 4 and 5): its CPU from
 * /proc and its event-loop delay from its internal metrics port.
 *
 * Kept small and separate so that it can give way to the shared harness in bench/support.ts once that lands.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

export interface ServiceProcess {
  name: string;
  pid: number;
  /** the internal port's base URL (`/metrics`, `/health/ready`) */
  opsUrl: string;
  /** user + system CPU seconds the process has used so far (/proc/<pid>/stat) */
  cpuSeconds(): number;
  /** SIGTERM, and waits for the exit (a CPU profile, when asked for, is written then) */
  stop(): Promise<void>;
}

export interface StartServiceOptions {
  /** the app's folder under apps/ (its entry point is apps/<app>/src/main.ts) */
  app: string;
  /** another entry point instead, relative to the repository (a bench's own service process) */
  entry?: string;
  /** arguments after the entry point */
  args?: string[];
  /** the variables this run needs (DATABASE_URL, ports…); everything else keeps its default */
  env: Record<string, string>;
  /** the internal port (the app's *_METRICS_PORT in `env`) */
  opsPort: number;
  /** where the service's stdout/stderr (its JSON log lines) go */
  logFile: string;
  /** write a V8 CPU profile (`--cpu-prof`) into this folder when the process exits */
  cpuProfDir?: string;
  /** extra node flags before the entry point (a preload, for instance) */
  nodeArgs?: string[];
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux for every common architecture). */
const USER_HZ = 100;

export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

export async function startService(opts: StartServiceOptions): Promise<ServiceProcess> {
  const log = openSync(opts.logFile, 'a');
  const args = [
    ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    ...(opts.nodeArgs ?? []),
    opts.entry ?? join('apps', opts.app, 'src', 'main.ts'),
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const opsUrl = `http://127.0.0.1:${opts.opsPort}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${opts.app} exited with ${child.exitCode} while starting (log: ${opts.logFile})`);
    }
    const ok = await fetch(`${opsUrl}/health/ready`, { signal: AbortSignal.timeout(2000) })
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.app} did not become ready within 60 s (log: ${opts.logFile})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid as number;
  return {
    name: opts.app,
    pid,
    opsUrl,
    cpuSeconds: () => procCpuSeconds(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    },
  };
}

/**
 * The event-loop delay the service measured since the previous call (prom-client's default metrics read
 * `perf_hooks.monitorEventLoopDelay` and reset it on every scrape): call once before the load to start the window,
 * once after to read it. Milliseconds.
 */
export async function eventLoopDelay(opsUrl: string): Promise<{ p50: number; p99: number; max: number }> {
  const text = await (await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const read = (name: string) => {
    const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) * 1000 : Number.NaN;
  };
  return {
    p50: read('nodejs_eventloop_lag_p50_seconds'),
    p99: read('nodejs_eventloop_lag_p99_seconds'),
    max: read('nodejs_eventloop_lag_max_seconds'),
  };
}

/**
 * A histogram's running sum and count as the service's metrics port reports them (summed over every label set whose
 * labels include `labels`, e.g. `queue="ingest"`): read before and after a load, the difference gives the mean.
 */
export async function histogramTotals(
  opsUrl: string,
  name: string,
  labels: string,
): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${opsUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const total = (suffix: string) => {
    let n = 0;
    for (const m of text.matchAll(new RegExp(`^${name}_${suffix}\\{([^}]*)\\} ([0-9.eE+-]+)$`, 'gm'))) {
      if ((m[1] ?? '').includes(labels)) n += Number(m[2]);
    }
    return n;
  };
  return { sum: total('sum'), count: total('count') };
}
