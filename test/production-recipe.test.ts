import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

/**
 * Issue 20 item 5: the production image's recipe, exercised without Docker. The Dockerfile's own WORKDIR/ENV/RUN
 * lines are read and replayed, in order, in a fresh `git clone` of this repository (so the test and the image
 * cannot drift apart); then the four services start from that clone — production dependencies only, the
 * compile cache the recipe filled — and must become ready against the real PostgreSQL and Redis.
 *
 * What cannot be replayed outside an image: `chown … node:node` (the `node` user exists in the node image, not
 * here): checked to name that user, then skipped. COPY is the clone itself (.dockerignore lists only build
 * output and local data). npm reads its local cache first (`prefer-offline`), which changes where packages come
 * from, not which.
 */
const repo = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'immish-recipe-'));
const app = join(work, 'app');
let stack: Stack | undefined;
afterAll(async () => {
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Step {
  kind: 'WORKDIR' | 'ENV' | 'RUN';
  value: string;
}

/** The Dockerfile's instructions that shape the image's files and environment (continuations joined). */
function dockerfileSteps(text: string): Step[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const steps: Step[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    const m = /^(WORKDIR|ENV|RUN)\s+(.*)$/.exec(line);
    if (m) steps.push({ kind: m[1] as Step['kind'], value: m[2]!.trim() });
  }
  return steps;
}

describe('the Dockerfile recipe, replayed in a fresh clone', () => {
  it('should install, build, prune to production dependencies and warm the compile cache', () => {
    execFileSync('git', ['clone', '--quiet', '--no-hardlinks', repo, app]);
    const steps = dockerfileSteps(readFileSync(join(app, 'Dockerfile'), 'utf8'));
    expect(steps.some((s) => s.kind === 'RUN' && /npm ci/.test(s.value))).toBe(true);
    let workdir = '';
    const env: Record<string, string> = {
      // Node 24, as the image's base (the PATH's node may be older here)
      PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
      HOME: process.env.HOME ?? '/root',
      npm_config_prefer_offline: 'true',
      npm_config_update_notifier: 'false',
    };
    const inImage = (s: string) => (workdir ? s.replaceAll(workdir, app) : s);
    for (const step of steps) {
      if (step.kind === 'WORKDIR') workdir = step.value;
      else if (step.kind === 'ENV') {
        const [, name, value] = /^([A-Za-z_][A-Za-z0-9_]*)[= ](.*)$/.exec(step.value)!;
        env[name!] = inImage(value!.replace(/^"|"$/g, ''));
      } else {
        const parts = inImage(step.value)
          .split('&&')
          .map((p) => p.trim())
          .filter((p) => {
            if (!p.startsWith('chown ')) return true;
            expect(p).toMatch(/^chown -R node:node /);
            return false;
          });
        const res = spawnSync('sh', ['-c', parts.join(' && ')], { cwd: app, env, encoding: 'utf8', timeout: 600_000 });
        expect(res.status, `RUN ${step.value}\n${res.stdout}\n${res.stderr}`.slice(-4000)).toBe(0);
      }
    }
    // the build ran (the share page's bundle) and what is left is production dependencies only
    expect(existsSync(join(app, 'apps/share-gateway/public/share.js'))).toBe(true);
    expect(existsSync(join(app, 'node_modules/turbo'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/vitest'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/fastify'))).toBe(true);
    expect(env.NODE_ENV).toBe('production');
    expect(readdirSync(env.NODE_COMPILE_CACHE!).length).toBeGreaterThan(0);
  }, 900_000);

  it('should start the four services from that install, ready against PostgreSQL and Redis', async () => {
    const steps = dockerfileSteps(readFileSync(join(app, 'Dockerfile'), 'utf8'));
    const workdir = steps.filter((s) => s.kind === 'WORKDIR').at(-1)!.value;
    const imageEnv = Object.fromEntries(
      steps
        .filter((s) => s.kind === 'ENV')
        .map((s) => /^([A-Za-z_][A-Za-z0-9_]*)[= ](.*)$/.exec(s.value)!.slice(1, 3))
        .map(([k, v]) => [k!, v!.replaceAll(workdir, app)]),
    );
    stack = await startStack(undefined, { root: app, env: imageEnv });
    for (const p of stack.procs.values()) {
      const ready = await fetch(`http://127.0.0.1:${p.port}/health/ready`);
      expect(ready.status, p.name).toBe(200);
    }
    expect(stack.procs.size).toBe(4);
  }, 180_000);
});
