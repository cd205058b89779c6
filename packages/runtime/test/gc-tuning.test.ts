import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MARKING_TRIGGERS } from '../src/gc-tuning.ts';

/**
 * The garbage collector's marking triggers (gc-tuning.ts; docs/architecture.md "Garbage collection"): every service
 * applies them once it has started, and a trigger the operator gave node on its command line wins. Each case runs in a node
 * process of its own, started with the flags under test, so `process.execArgv` is the real one and this test
 * runner's own V8 is left as it is. What the triggers save is measured by bench/ingest.bench.ts, not asserted here.
 */
const MODULE = fileURLToPath(new URL('../src/gc-tuning.ts', import.meta.url));

function appliedIn(nodeFlags: string[]): string[] {
  const script = `import { tuneGarbageCollection } from ${JSON.stringify(MODULE)};
    process.stdout.write(JSON.stringify(tuneGarbageCollection()));`;
  const child = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout) as string[];
}

describe('tuneGarbageCollection', () => {
  it('should apply both marking triggers when node was started without either', () => {
    expect(appliedIn([])).toEqual([...MARKING_TRIGGERS]);
    expect(MARKING_TRIGGERS).toEqual([
      '--incremental-marking-soft-trigger=80',
      '--incremental-marking-hard-trigger=95',
    ]);
  });

  it("should leave a trigger the operator set on node's command line, in either spelling", () => {
    expect(appliedIn(['--incremental-marking-soft-trigger=50'])).toEqual(['--incremental-marking-hard-trigger=95']);
    expect(appliedIn(['--incremental_marking_hard_trigger=90'])).toEqual(['--incremental-marking-soft-trigger=80']);
    expect(appliedIn(['--incremental-marking-soft-trigger=0', '--incremental-marking-hard-trigger=0'])).toEqual([]);
  });

  it('should not mistake another flag that shares the prefix for a trigger', () => {
    expect(appliedIn(['--incremental-marking'])).toEqual([...MARKING_TRIGGERS]);
  });
});
