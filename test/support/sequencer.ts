import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The suite's order: its slowest files first, then vitest's own order (by project, then the last run's durations
 * when it has them, else the larger file first).
 *
 * Why: the suite is CPU-bound (3 workers on 2 cores) and CI runs it from a clean clone, where vitest knows no
 * durations and orders each project's files by size, projects one after the other. That started the repository
 * project's Dockerfile replay (~80 s) 14 minutes into a 15.5-minute run, with little left to run beside it. The
 * longest-first order keeps the workers busy to the end (the classic longest-processing-time rule).
 *
 * The list: the files that took 30 s or more in the full run of 2026-12-06 22:08 UTC (vitest's JSON report,
 * `endTime - startTime`), slowest first. A file missing from it only runs later; the order never changes what runs.
 */
const SLOWEST_FIRST = [
  'apps/export-worker/test/archive-zip64.test.ts',
  'apps/links-api/test/console-screens.test.ts',
  'test/production-recipe.test.ts',
  'apps/share-gateway/test/share-page-layout.test.ts',
  'apps/links-api/test/console-nojs.test.ts',
  'apps/links-api/test/console-links.test.ts',
  'apps/links-api/test/console-limits.test.ts',
  'apps/share-gateway/test/browser.test.ts',
  'apps/links-api/test/console-webhooks.test.ts',
  'test/faults-sigterm.test.ts',
  'apps/links-api/test/console-activity.test.ts',
  'apps/export-worker/test/archive-zip.test.ts',
  'apps/links-api/test/console-browser.test.ts',
  'apps/share-gateway/test/share-page-share-sheet.test.ts',
];

function rank(spec: TestSpecification): number {
  const path = spec.moduleId.replaceAll('\\', '/');
  const i = SLOWEST_FIRST.findIndex((file) => path.endsWith(`/${file}`));
  return i === -1 ? SLOWEST_FIRST.length : i;
}

export default class SlowestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const theirs = await super.sort(files);
    return theirs
      .map((spec, i) => ({ spec, i, r: rank(spec) }))
      .sort((a, b) => a.r - b.r || a.i - b.i)
      .map(({ spec }) => spec);
  }
}
