import { utimesSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runInFreshNode } from '@immish/testkit';
import { describe, expect, it } from 'vitest';
import { freePort, RESERVATION_MS, reservationDir, reserve } from '../src/wait.ts';

const waitModule = resolve(import.meta.dirname, '../src/wait.ts');

// A port from freePort is listened on only later (a child process starts in seconds): until then it is free
// to anyone who checks. These tests hold ports without listening on them, as the stack's start-up does.
describe('freePort', () => {
  it('should never hand out the same port twice while its server has not started listening yet', async () => {
    const ports: number[] = [];
    // 400 draws among the ~12,700 ports below the ephemeral range: a plain "is it free now?" check repeats one
    // with near certainty (birthday bound: ~6 expected repeats)
    for (let i = 0; i < 400; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('should not hand out to this process a port another process holds unlistened, and vice versa', async () => {
    const script = `
      const { freePort } = await import(process.argv[1]);
      const ports = [];
      for (let i = 0; i < 300; i++) ports.push(await freePort());
      console.log(JSON.stringify(ports));
    `;
    const [theirs, ours] = await Promise.all([
      runInFreshNode<number[]>(script, { cwd: import.meta.dirname, args: [waitModule] }),
      (async () => {
        const mine: number[] = [];
        for (let i = 0; i < 300; i++) mine.push(await freePort());
        return mine;
      })(),
    ]);
    expect(theirs).toHaveLength(300);
    expect(theirs.filter((p) => ours.includes(p))).toEqual([]);
  });

  it('should keep a port reserved for RESERVATION_MS, then let it be taken again', async () => {
    const port = await freePort();
    expect(reserve(port)).toBe(false);
    expect(reserve(port, Date.now() + RESERVATION_MS - 1_000)).toBe(false);
    // the reservation's file aged past RESERVATION_MS (a process that died, or a server long since stopped)
    const old = (Date.now() - RESERVATION_MS - 1_000) / 1000;
    utimesSync(join(reservationDir(), String(port)), old, old);
    expect(reserve(port)).toBe(true);
    expect(reserve(port)).toBe(false);
  });
});
