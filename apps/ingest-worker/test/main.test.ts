import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createUser, receiveUpload } from '@immish/domain';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, freePort, serviceEnv, type TestDatabase, testRedis } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { largeJpeg } from './fixtures.ts';

const MAIN = resolve(import.meta.dirname, '../src/main.ts');

let tdb: TestDatabase;
let storage: BlobStore;
let root: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  tdb = await createTestDatabase();
  root = mkdtempSync(join(tmpdir(), 'immish-ingest-main-'));
  storage = createBlobStore({ driver: 'fs', root });
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await storage?.close();
  await tdb?.drop();
  rmSync(root, { recursive: true, force: true });
});

/** Each thread of a process and its nice value (field 19 of /proc/…/stat); a thread gone meanwhile is left out. */
function threadNices(pid: number): { name: string; nice: number }[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      return [{ name, nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) }];
    } catch {
      return [];
    }
  });
}

describe('ingest-worker process (src/main.ts)', () => {
  it('should serve health and metrics, ingest a queued upload, and finish it before exiting 0 on SIGTERM', async () => {
    const owner = await createUser(tdb.db, { email: 'main@immish.test', name: 'Main', password: 'pw' });
    // big enough that the job is still running when SIGTERM arrives
    const bytes = await largeJpeg(6000, 4000, 7);
    const { assetId } = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId: owner.id,
        actor: { type: 'user', id: owner.id },
        file: Readable.from(bytes),
        metadata: { fileName: 'big.jpg', fileCreatedAt: new Date(), fileModifiedAt: new Date() },
        maxFileBytes: 100_000_000,
      },
    );
    const { url: redisUrl, prefix } = testRedis();
    const port = await freePort();
    const env = serviceEnv(
      { databaseUrl: tdb.url, redisUrl, queuePrefix: prefix, storageRoot: root },
      { INGEST_METRICS_PORT: String(port), INGEST_CONCURRENCY: '1' },
    );
    // the priority is applied to every thread (checked below); 1, not the default 10, so that a worker beside the
    // suite's own busy processes is not starved past the polls' timeouts (the default: packages/runtime/test/cpu-priority.test.ts)
    env.WORKER_NICE = '1';
    child = spawn(process.execPath, [MAIN], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((done) => child?.once('exit', (code) => done(code)));

    const base = `http://127.0.0.1:${port}`;
    await expect
      .poll(async () => (await fetch(`${base}/health/ready`).catch(() => null))?.status, {
        timeout: 30_000,
        interval: 100,
      })
      .toBe(200);
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const status = async () =>
      (await tdb.db.selectFrom('assets').select('status').where('id', '=', assetId).executeTakeFirstOrThrow()).status;
    await expect.poll(status, { timeout: 30_000, interval: 20 }).not.toBe('uploaded');
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/# HELP/);
    // WORKER_NICE: every thread of the running worker, those started by the job included, yields to the services
    const threads = threadNices(child.pid as number);
    expect(threads.some((t) => t.name.startsWith('libuv-worker'))).toBe(true);
    expect(threads.filter((t) => t.nice !== 1)).toEqual([]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await status(), stderr).toBe('ready');
  });
});
