import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What a statement leaves alive (pool.ts `deadlineClient`; docs/benchmarks.md "Garbage the young generation
 * kept"). With pg's own `query_timeout`, or with the deadline written as an override that spreads its arguments,
 * V8's scavenges found megabytes of each young generation still alive — every statement's garbage promoted to the
 * old generation until a full collection — and links-api spent 7–15% of its time collecting under load. The load
 * runs in a child process traced with `--trace-gc-nvp`, whose `new_space_survived` is what a scavenge found alive.
 * No timing is asserted: the bytes are a property of the heap, 0.46–0.49 MB here against 4.5–4.6 MB before the change
 * (2026-12-07, both forms).
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/pool-garbage.ts', import.meta.url));
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});

/** The mean bytes the scavenges of the child's load found alive (its first three, during start-up, left out). */
function survivedPerScavenge(via: 'pg' | 'kysely'): { mean: number; scavenges: number } {
  const child = spawnSync(process.execPath, ['--trace-gc-nvp', FIXTURE], {
    env: { ...process.env, DATABASE_URL: tdb.url, VIA: via },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 120_000,
  });
  expect(child.status, child.stderr).toBe(0);
  const survived = [...child.stdout.matchAll(/gc=s .*?new_space_survived=(\d+)/g)].map((m) => Number(m[1]));
  const load = survived.slice(3);
  return { mean: load.reduce((a, b) => a + b, 0) / Math.max(1, load.length), scavenges: load.length };
}

describe('a statement through the pool leaves nothing alive after its answer', () => {
  for (const via of ['pg', 'kysely'] as const) {
    it(`should leave scavenges little to keep, through ${via === 'pg' ? "pg-pool's query" : 'kysely'}`, () => {
      const { mean, scavenges } = survivedPerScavenge(via);
      expect(scavenges).toBeGreaterThan(3);
      expect(mean).toBeLessThan(1_500_000);
    });
  }
});
