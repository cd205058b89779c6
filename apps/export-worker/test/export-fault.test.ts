import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createUser, requestExport } from '@immish/domain';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, freePort, serviceEnv, type TestDatabase, testRedis } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValidZip, listFiles, type SeededAsset, seedAsset } from './export-helpers.ts';

/**
 * docs/spec.md §7 / issue 5 item 4: a worker process killed with SIGKILL mid-archive; a second worker process
 * takes the export over (BullMQ stalled-job recovery after EXPORT_LOCK_DURATION_MS) and completes it;
 * the archive is valid and nothing partial stays in storage.
 */

const repoRoot = resolve(import.meta.dirname, '../../..');
const MiB = 1024 * 1024;

let tdb: TestDatabase;
let store: BlobStore;
let storageRoot: string;
let env: Record<string, string>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  const { url: redisUrl, prefix } = testRedis();
  storageRoot = mkdtempSync(join(tmpdir(), 'immish-export-fault-'));
  store = createBlobStore({ driver: 'fs', root: storageRoot });
  env = serviceEnv(
    { databaseUrl: tdb.url, redisUrl, queuePrefix: prefix, storageRoot },
    {
      EXPORT_METRICS_PORT: '0',
      EXPORT_LOCK_DURATION_MS: '2000',
      // ~2.5 s per attempt for 80 MiB: long enough to be killed mid-archive on any machine.
      EXPORT_READ_BYTES_PER_SECOND: String(32 * MiB),
    },
  );
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await store?.close();
  await tdb?.drop();
  if (storageRoot) rmSync(storageRoot, { recursive: true, force: true });
});

function startWorker(output: string[], extraEnv: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['apps/export-worker/src/main.ts'], {
    cwd: repoRoot,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
    else child.once('exit', (code) => done(code));
  });

async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('export worker killed mid-archive', () => {
  it('should be completed by a second worker process, valid and with no temp file left', async () => {
    const user = await createUser(tdb.db, { email: 'fault@immish.test', name: 'fault', password: 'pw' });
    const assets: SeededAsset[] = [];
    for (let i = 0; i < 5; i++) {
      assets.push(
        await seedAsset(tdb.db, store, {
          ownerId: user.id,
          fileName: `video-${i}.mp4`,
          size: 16 * MiB,
          createdAt: new Date(Date.parse('2024-03-01T00:00:00Z') + i * 1000),
        }),
      );
    }
    const { export: requested } = await requestExport(tdb.db, {
      requester: { userId: user.id },
      assetIds: assets.map((a) => a.id),
    });
    const row = () => tdb.db.selectFrom('exports').selectAll().where('id', '=', requested.id).executeTakeFirstOrThrow();

    const firstOutput: string[] = [];
    const first = startWorker(firstOutput);
    const midway = await waitUntil('the first worker to make progress', 30_000, async () => {
      if (first.exitCode !== null) throw new Error(`worker exited early: ${firstOutput.join('')}`);
      const r = await row();
      return r.status === 'running' && Number(r.bytes_done) > 0 ? r : undefined;
    });
    first.kill('SIGKILL');
    await exited(first);
    expect(Number(midway.bytes_done)).toBeLessThan(Number(midway.bytes_total));
    // Killed mid-write: the in-flight temp file of the part is there, no part is published.
    const leftover = await listFiles(join(storageRoot, 'exports', requested.id));
    expect(leftover.some((f) => f.includes('~tmp~'))).toBe(true);
    expect(leftover).not.toContain('part-1.zip');
    expect((await row()).status).toBe('running');

    const secondOutput: string[] = [];
    const metricsPort = await freePort();
    const second = startWorker(secondOutput, { EXPORT_METRICS_PORT: String(metricsPort) });
    const done = await waitUntil('the second worker to complete the export', 60_000, async () => {
      if (second.exitCode !== null) throw new Error(`worker exited early: ${secondOutput.join('')}`);
      const r = await row();
      if (r.status === 'failed') throw new Error(`export failed: ${r.error}`);
      return r.status === 'ready' ? r : undefined;
    });
    expect(done.attempts).toBe(2);
    expect(done.parts).toHaveLength(1);

    const files = await listFiles(join(storageRoot, 'exports'));
    expect(files).toEqual([`${requested.id}/part-1.zip`]);
    expect((await listFiles(storageRoot)).filter((f) => f.includes('~tmp~'))).toEqual([]);
    await expectValidZip(
      join(storageRoot, 'exports', requested.id, 'part-1.zip'),
      assets.map((a) => ({ name: a.fileName, size: a.size, crc: a.crc })),
    );

    // The operator's view of the surviving worker: ready, and the job in its metrics.
    const ready = await fetch(`http://127.0.0.1:${metricsPort}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', checks: { postgres: 'ok', redis: 'ok', storage: 'ok' } });
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/job_duration_seconds_count\{[^}]*queue="exports"[^}]*outcome="completed"[^}]*\} 1/);
    expect(metrics).toMatch(/job_wait_seconds_count\{[^}]*queue="exports"[^}]*\} 1/);
    expect(metrics).toMatch(/queue_jobs\{[^}]*queue="exports"/);
    expect(metrics).toMatch(/outbox_lag_seconds/);

    // SIGTERM: a clean exit.
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
  });
});
