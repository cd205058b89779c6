import { defineConfig } from 'vitest/config';

// One vitest run covers the whole monorepo (`npm test`): a single global setup provides PostgreSQL,
// Redis and the S3 emulator to every project, and a single JSON report gives CI its pass/fail count.
const workspaces = [
  'packages/contracts',
  'packages/db',
  'packages/storage',
  'packages/media',
  'packages/runtime',
  'packages/testkit',
  'packages/devstack',
  'packages/domain',
  'apps/links-api',
  'apps/share-gateway',
  'apps/export-worker',
  'apps/ingest-worker',
  'apps/webhook-worker',
];

export default defineConfig({
  test: {
    globalSetup: ['packages/testkit/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    maxWorkers: 3,
    // Each worker process runs its files one after another in one module graph instead of a fresh process per
    // file. Measured on 2026-12-06 (full runs, CPU busy 97-98% throughout on 2 cores): 938-980 s isolated,
    // 790 s shared, importing the services' modules going from 16% of the files' time to 3%. What a file needs
    // alone stays its own: its database (createTestDatabase clones the template per call), its Redis key prefix
    // (testRedis), its ports, its temp dirs, its app instances; fakes (vi.useFakeTimers, vi.spyOn) are undone
    // in `finally`/afterEach by the files that use them.
    isolate: false,
    // expect.poll waits for something a browser or a worker does next; its default (1 s) is shorter than one
    // Chromium frame under the suite's own load on 2 cores, which made polls that were right fail as timeouts
    expect: { poll: { timeout: 10_000 } },
    projects: [
      ...workspaces.map((dir) => ({
        extends: true as const,
        test: { name: `@immish/${dir.split('/')[1]}`, root: dir, include: ['test/**/*.test.ts'] },
      })),
      // the cross-service tests (fault injection, the stack in processes, the Dockerfile replay) keep a fresh
      // worker per file: they host emulators (s3rver) and relays in the worker and time recoveries, and their
      // imports are small next to the processes they start
      {
        extends: true as const,
        test: {
          name: 'repo',
          root: '.',
          include: ['test/**/*.test.ts'],
          exclude: ['test/production-recipe.test.ts'],
          isolate: true,
        },
      },
      // the Dockerfile replay (npm ci, build and prune in a fresh clone, then the four services) runs last and
      // alone: it is the suite's heaviest CPU and disk load, and beside it the stack tests' requests ran past their
      // 2 s deadline (scale-out's DELETE answered 503 in the clean-clone run at 00:10)
      {
        extends: true as const,
        test: {
          name: 'recipe',
          root: '.',
          include: ['test/production-recipe.test.ts'],
          isolate: true,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
