import { join } from 'node:path';
import { runInFreshNode } from '@immish/testkit';
import { describe, expect, it } from 'vitest';

/**
 * links-api builds its browser code with esbuild at start-up, which runs in a child process of its own that
 * esbuild keeps alive until told to stop (19 MiB for the service's whole life). Checked in a fresh Node process,
 * as a service starts: the builds it runs at start-up, at once, then its own children (ps), then the same again.
 */
const CHILD = `
import { execFileSync } from 'node:child_process';
import { buildConsoleBundle } from './src/console/bundle.ts';
import { buildPwaBundle } from './src/console/pwa/bundle.ts';
const liveChildren = () =>
  execFileSync('ps', ['--ppid', String(process.pid), '-o', 'stat=,args='], { encoding: 'utf8' })
    .split('\\n')
    .filter((line) => line.includes('esbuild') && !line.trim().startsWith('Z'));
const rounds = [];
for (let round = 0; round < 2; round++) {
  const [bundle, pwa] = await Promise.all([buildConsoleBundle(), buildPwaBundle(['/a.css', '/a.js'])]);
  rounds.push({ js: bundle.js.body.length, sw: pwa.serviceWorker.body.length, esbuild: liveChildren() });
}
process.stdout.write(JSON.stringify(rounds));
`;

describe('the console bundle built at start-up', () => {
  it('should leave no esbuild process running once built, however many builds ran at once, and build again', async () => {
    const rounds = await runInFreshNode<{ js: number; sw: number; esbuild: string[] }[]>(CHILD, {
      cwd: join(import.meta.dirname, '..'),
    });
    expect(rounds).toHaveLength(2);
    for (const round of rounds) {
      expect(round.js).toBeGreaterThan(1000);
      expect(round.sw).toBeGreaterThan(100);
      expect(round.esbuild).toEqual([]);
    }
  });
});
