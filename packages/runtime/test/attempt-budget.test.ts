import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type PrivateRedis, startRedis } from '@immish/devstack';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttemptBudget, type AttemptWindow, isSpent, type ReservedAttempt } from '../src/attempt-budget.ts';

/**
 * The failure budgets of unlocks and logins (src/attempt-budget.ts), on the real Redis: what is given back is one
 * reservation, once, and a reservation whose answer the caller never saw is given back when it runs.
 */
// a Redis of this file's own: one test pauses it, which must not hold up other files' commands
const dir = mkdtempSync(join(tmpdir(), 'immish-budget-'));
const prefix = 'budget';
let server: PrivateRedis;
let url: string;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis({ dataDir: dir, port: await freePort() });
  url = server.url;
  redis = new Redis(url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const windowsOf = (): [AttemptWindow, AttemptWindow] => {
  const subject = `${prefix}:budget-test:{${++n}}`;
  return [
    { key: `${subject}:ip`, max: 3, windowMs: 60_000 },
    { key: subject, max: 10, windowMs: 60_000 },
  ];
};
const counts = async ([a, b]: [AttemptWindow, AttemptWindow]) =>
  [Number((await redis.get(a.key)) ?? 0), Number((await redis.get(b.key)) ?? 0)] as const;
const reserved = async (budget: AttemptBudget, windows: [AttemptWindow, AttemptWindow]) => {
  const r = await budget.reserve(windows);
  if (isSpent(r)) throw new Error('spent');
  return r as ReservedAttempt;
};

describe('AttemptBudget', () => {
  it('should give back nothing for reservations that never reached Redis, so failures cannot be saved up', async () => {
    // a guesser's requests while the connection drops: each reservation is refused before it runs, and the
    // background give-back after it reaches Redis; it must not take back the failures already counted
    const windows = windowsOf();
    const counted = new AttemptBudget(redis);
    await reserved(counted, windows);
    await reserved(counted, windows);
    // the reservations are refused before they run; the give-backs that follow them do reach Redis
    const flaky = {
      eval: (script: string, ...args: (string | number)[]) =>
        script.includes('INCR')
          ? Promise.reject(new Error('Connection is closed.'))
          : (redis.eval as (s: string, ...a: (string | number)[]) => Promise<unknown>).call(redis, script, ...args),
    } as unknown as Redis;
    const guesser = new AttemptBudget(flaky);
    for (let i = 0; i < 10; i++) await expect(guesser.reserve(windows)).rejects.toThrow(/closed/);
    await new Promise((r) => setTimeout(r, 200));
    expect(await counts(windows)).toEqual([2, 2]);
    await reserved(counted, windows);
    expect(isSpent(await counted.reserve(windows))).toBe(true);
  });

  it('should give one reservation back once, however often it is asked, leaving the others counted', async () => {
    const budget = new AttemptBudget(redis);
    const windows = windowsOf();
    const first = await reserved(budget, windows);
    await reserved(budget, windows); // a wrong password's: it stays counted
    expect(await counts(windows)).toEqual([2, 2]);
    await first.giveBack();
    await first.giveBack();
    await first.giveBack();
    expect(await counts(windows)).toEqual([1, 1]);
  });

  it('should give back a reservation that ran after its caller stopped waiting for it', async () => {
    // a client that gives up after 100 ms, and a server that runs nothing for 600 ms (as during a failover): the
    // reservation times out for its caller, then runs; it must not stay counted
    const impatient = new Redis(url, { commandTimeout: 100 });
    const pauser = new Redis(url);
    try {
      const budget = new AttemptBudget(impatient);
      const windows = windowsOf();
      await pauser.call('CLIENT', 'PAUSE', '600', 'ALL');
      await expect(budget.reserve(windows)).rejects.toThrow(/timed out/i);
      // once the server runs again: the reservation ran, and was given back after it
      await expect.poll(() => counts(windows), { timeout: 5000, interval: 100 }).toEqual([0, 0]);
      // and a budget of 3 is still 3
      for (let i = 0; i < 3; i++) await reserved(new AttemptBudget(redis), windows);
      expect(isSpent(await new AttemptBudget(redis).reserve(windows))).toBe(true);
    } finally {
      impatient.disconnect();
      pauser.disconnect();
    }
  });
});
