/**
 * Export request → ready as users run it (issue 17), for bench/export-zip.bench.ts: the export worker in its own
 * process (`node apps/export-worker/src/main.ts`, default configuration, its own outbox relay, logging on), asked
 * through the same domain call as `POST /api/exports`, against Info-ZIP `zip -0` over the same stored originals
 * followed by an fsync of the archive (the worker fsyncs each part before publishing it).
 *
 * Stable figures on a noisy disk: both run in the same rounds, interleaved and alternating which goes first; before
 * each timed run the page cache's dirty pages are written out (`sync`, untimed), so neither pays for the other's
 * writes; the sources stay cached (read once before the rounds). Reported: the median ratio over the rounds (zip
 * time / export time: ≥ 1 means the export is as fast), its spread (lowest–highest, and the middle half), and the
 * median times. EXPORT_READY_ROUNDS (default 9), EXPORT_READY_FILES (default 200 photos of 2 MiB).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { freePort, waitFor } from '@immish/devstack';
import { createUser, deleteExport, requestExport } from '@immish/domain';
import { createBlobStore } from '@immish/storage';
import { startBacking } from './support.ts';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const REPO = resolve(import.meta.dirname, '..');

export interface ExportReadyReport {
  rounds: number;
  files: number;
  sourceMiB: number;
  /** per round: zip -0 + fsync time over export request → ready time */
  ratios: number[];
  zipMs: number[];
  exportMs: number[];
  /** per round: request → the worker marked it running (what precedes the archive) */
  startMs: number[];
  /** mean time of the export job itself in the worker (its metrics), over the measured rounds */
  jobMs?: number;
  /** the worker process's peak resident set (VmHWM of /proc/<pid>/status, Linux), after all the rounds */
  workerPeakRssMiB?: number;
  /** the worker's event-loop delay p99 over the measured rounds (its metrics; each scrape resets it) */
  workerLoopP99Ms?: number;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
export const quantile = (xs: number[], q: number): number => {
  const s = sorted(xs);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
};

export async function measureExportReady(opts: { compileCacheDir: string }): Promise<ExportReadyReport> {
  const rounds = Number(process.env.EXPORT_READY_ROUNDS ?? 9);
  const files = Number(process.env.EXPORT_READY_FILES ?? 200);
  const size = 2 * MiB;
  const backing = await startBacking('export-ready');
  const pool = createPool({ connectionString: backing.databaseUrl, max: 4 });
  const db = createDb(pool);
  const storageRoot = join(backing.dir, 'storage');
  const storage = createBlobStore({ driver: 'fs', root: storageRoot });
  let worker: ChildProcess | undefined;
  try {
    await migrateToLatest(db as never);
    const owner = await createUser(db, { email: 'owner@bench.test', name: 'owner', password: 'bench' });
    // the originals, stored as uploads are: random (incompressible) content under originals/<owner>/
    const buffer = Buffer.allocUnsafe(size);
    const assetIds: string[] = [];
    for (let i = 0; i < files; i++) {
      randomFillSync(buffer);
      const key = `originals/${owner.id}/${randomBytes(8).toString('hex')}`;
      await storage.put(key, buffer);
      const row = await db
        .insertInto('assets')
        .values({
          owner_id: owner.id,
          type: 'IMAGE',
          original_file_name: `IMG_${String(i).padStart(5, '0')}.jpg`,
          mime_type: 'image/jpeg',
          size,
          checksum: randomBytes(20),
          original_key: key,
          status: 'ready',
          file_created_at: new Date(Date.UTC(2025, 6, 1, 12, 0, i)),
          file_modified_at: new Date('2025-07-01T12:00:00Z'),
          local_date_time: new Date(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      assetIds.push(row.id);
    }
    const originals = join(storageRoot, 'originals', owner.id);
    const zipDir = join(storageRoot, 'bench-zip');
    await mkdir(zipDir, { recursive: true });
    await run('sh', ['-c', `cat "${originals}"/* > /dev/null && sync`]);

    const metricsPort = await freePort();
    /**
     * the worker's own time in export jobs so far (its metrics: job_duration_seconds, completed), and its event-loop
     * delay p99 since the previous scrape (prom-client resets that histogram at each scrape)
     */
    const jobSeconds = async (): Promise<{ sum: number; count: number; loopP99Ms: number }> => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const loop = /^nodejs_eventloop_lag_p99_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1];
      const read = (what: string) =>
        Number(
          new RegExp(
            `^job_duration_seconds_${what}\\{[^}]*queue="exports"[^}]*outcome="completed"[^}]*\\} (\\S+)$`,
            'm',
          ).exec(text)?.[1] ?? Number.NaN,
        );
      return { sum: read('sum'), count: read('count'), loopP99Ms: Number(loop ?? Number.NaN) * 1000 };
    };
    worker = spawn(process.execPath, ['apps/export-worker/src/main.ts'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        NODE_COMPILE_CACHE: opts.compileCacheDir,
        // PROFILE_DIR=<dir>: a CPU profile of the worker (node --cpu-prof)
        ...(process.env.PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.PROFILE_DIR}` } : {}),
        DATABASE_URL: backing.databaseUrl,
        REDIS_URL: backing.redisUrl,
        QUEUE_PREFIX: `bench-export-${randomBytes(4).toString('hex')}`,
        STORAGE_FS_ROOT: storageRoot,
        EXPORT_METRICS_PORT: String(metricsPort),
      },
      // logging on, as run; its output is not what is measured
      stdio: ['ignore', 'ignore', 'inherit'],
    });

    const requester = { userId: owner.id };
    const timeExport = async (): Promise<{ ms: number; startMs: number }> => {
      const t0 = performance.now();
      const { export: row } = await requestExport(db, { requester, assetIds });
      let startMs = Number.NaN;
      await waitFor(
        async () => {
          const r = await db.selectFrom('exports').select('status').where('id', '=', row.id).executeTakeFirstOrThrow();
          if (r.status === 'failed') throw new Error(`export failed: ${row.id}`);
          if (r.status !== 'queued' && Number.isNaN(startMs)) startMs = performance.now() - t0;
          return r.status === 'ready';
        },
        { timeoutMs: 120_000, intervalMs: 5, what: 'the export to be ready' },
      );
      const ms = performance.now() - t0;
      await deleteExport(db, storage, requester, row.id);
      return { ms, startMs };
    };
    const timeZip = async (): Promise<number> => {
      const out = join(zipDir, 'out.zip');
      const t0 = performance.now();
      await run('zip', ['-0', '-r', '-q', out, '.'], { cwd: originals });
      const fh = await open(out, 'r+');
      await fh.sync();
      await fh.close();
      const ms = performance.now() - t0;
      await rm(out, { force: true });
      return ms;
    };

    // warm-up (not counted): the worker's first job, the first zip
    await timeExport();
    await timeZip();
    const jobsBefore = await jobSeconds();
    const report: ExportReadyReport = {
      rounds,
      files,
      sourceMiB: (files * size) / MiB,
      ratios: [],
      zipMs: [],
      exportMs: [],
      startMs: [],
    };
    for (let round = 0; round < rounds; round++) {
      let zipMs = 0;
      let exported = { ms: 0, startMs: 0 };
      for (const which of round % 2 === 0 ? ['zip', 'export'] : ['export', 'zip']) {
        await run('sync');
        if (which === 'zip') zipMs = await timeZip();
        else exported = await timeExport();
      }
      report.zipMs.push(zipMs);
      report.exportMs.push(exported.ms);
      report.startMs.push(exported.startMs);
      report.ratios.push(zipMs / exported.ms);
    }
    const jobsAfter = await jobSeconds();
    report.jobMs = ((jobsAfter.sum - jobsBefore.sum) * 1000) / (jobsAfter.count - jobsBefore.count);
    report.workerLoopP99Ms = jobsAfter.loopP99Ms;
    const status = await readFile(`/proc/${worker.pid}/status`, 'utf8').catch(() => '');
    const hwmKiB = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    if (hwmKiB) report.workerPeakRssMiB = Number(hwmKiB) / 1024;
    return report;
  } finally {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker!.once('exit', r));
    }
    await storage.close();
    await db.destroy();
    await backing.stop();
  }
}

/** The report as a markdown section. */
export function exportReadyMarkdown(r: ExportReadyReport, fixed: (v: number, digits?: number) => string): string[] {
  const med = (xs: number[]) => quantile(xs, 0.5);
  return [
    `### Export request → ready vs \`zip -0\` + fsync, ${r.rounds} interleaved rounds`,
    '',
    `${r.files} photos of 2 MiB (${fixed(r.sourceMiB)} MiB), stored originals in the page cache; the export worker in its own process (default configuration), asked through the domain call of \`POST /api/exports\` and polled until ready; \`zip -0 -r\` over the same files, then an fsync of the archive. Dirty pages written out (\`sync\`, untimed) before every timed run.`,
    '',
    '| | median | lowest | highest |',
    '|---|---:|---:|---:|',
    `| zip -0 + fsync | ${fixed(med(r.zipMs))} ms | ${fixed(Math.min(...r.zipMs))} ms | ${fixed(Math.max(...r.zipMs))} ms |`,
    `| export request → ready | ${fixed(med(r.exportMs))} ms | ${fixed(Math.min(...r.exportMs))} ms | ${fixed(Math.max(...r.exportMs))} ms |`,
    `| of which request → running | ${fixed(med(r.startMs))} ms | ${fixed(Math.min(...r.startMs))} ms | ${fixed(Math.max(...r.startMs))} ms |`,
    `| the export job in the worker (its metrics, mean) | ${r.jobMs === undefined ? '—' : `${fixed(r.jobMs)} ms`} | | |`,
    `| the worker's peak RSS over all rounds | ${r.workerPeakRssMiB === undefined ? '—' : `${fixed(r.workerPeakRssMiB)} MiB`} | | |`,
    `| the worker's event-loop delay p99 over the rounds (target ≤ 10 ms) | ${r.workerLoopP99Ms === undefined ? '—' : `${fixed(r.workerLoopP99Ms, 1)} ms`} | | |`,
    '',
    `Ratio (zip time / export time, per round; target ≥ 0.9×): **median ${fixed(med(r.ratios), 2)}×**, middle half ${fixed(quantile(r.ratios, 0.25), 2)}–${fixed(quantile(r.ratios, 0.75), 2)}×, lowest ${fixed(Math.min(...r.ratios), 2)}×, highest ${fixed(Math.max(...r.ratios), 2)}×.`,
  ];
}
