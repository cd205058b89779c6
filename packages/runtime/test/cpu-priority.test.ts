import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ExportWorkerConfig, IngestWorkerConfig, WebhookWorkerConfig } from '@immish/contracts';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';

/**
 * WORKER_NICE (cpu-priority.ts; docs/architecture.md "CPU priority"): a background worker lowers every one of its
 * threads, those that exist when it starts and those made after (libuv's pool, worker threads), and the processes
 * it runs. Linux keeps the value per thread, so lowering only the calling thread would leave V8's helpers and
 * any thread started before at full priority. Run in a child process: lowering cannot be undone without privileges.
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/cpu-priority-child.ts', import.meta.url));

interface ChildReport {
  first: { nice: number; threads: number; failed: number };
  second: { nice: number; threads: number; failed: number };
  threads: { name: string; nice: number }[];
  childNice: number;
}

function run(nice: number, thenAsk: number): ChildReport {
  const child = spawnSync(process.execPath, [FIXTURE, String(nice), String(thenAsk)], { encoding: 'utf8' });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as ChildReport;
}

describe.runIf(process.platform === 'linux')('lowerCpuPriority (Linux: a nice value per thread)', () => {
  it('should lower every thread, those started later and the processes it runs, and never raise one back', () => {
    const report = run(10, 3);
    // V8's helper threads exist before any JavaScript runs: more than the main thread was lowered
    expect(report.first.threads).toBeGreaterThan(1);
    expect(report.first.failed).toBe(0);
    // a second, smaller value leaves the threads where they are
    expect(report.second.failed).toBe(0);
    const names = report.threads.map((t) => t.name);
    expect(names.some((n) => n.startsWith('libuv-worker'))).toBe(true);
    expect(report.threads.length).toBeGreaterThan(report.first.threads);
    expect(report.threads.filter((t) => t.nice !== 10)).toEqual([]);
    expect(report.childNice).toBe(10);
  });
});

describe('WORKER_NICE', () => {
  const env = { DATABASE_URL: 'postgres://x@127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1:6379' };
  it('should default to 10 in every worker and refuse a value outside 0–19', () => {
    for (const schema of [IngestWorkerConfig, ExportWorkerConfig, WebhookWorkerConfig]) {
      expect(loadConfig(schema, env).WORKER_NICE).toBe(10);
      expect(loadConfig(schema, { ...env, WORKER_NICE: '0' }).WORKER_NICE).toBe(0);
      expect(() => loadConfig(schema, { ...env, WORKER_NICE: '20' })).toThrow(/WORKER_NICE/);
      expect(() => loadConfig(schema, { ...env, WORKER_NICE: '-5' })).toThrow(/WORKER_NICE/);
    }
  });
});
