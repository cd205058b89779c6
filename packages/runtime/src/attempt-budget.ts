import type { RedisConnection } from './redis.ts';

/** One fixed-window counter: at most `max` attempts per `windowMs` under `key`. */
export interface AttemptWindow {
  key: string;
  max: number;
  windowMs: number;
}

/** A reserved attempt: counted until given back. */
export interface ReservedAttempt {
  /** The attempt turned out not to be a failure (right password, or never verified): it no longer counts. */
  giveBack(): Promise<void>;
}

/** Which window refused the attempt (0 or 1) and how long until it opens again. */
export interface SpentBudget {
  spent: 0 | 1;
  retryAfterSeconds: number;
}

/**
 * KEYS[1], KEYS[2]: the two counters; ARGV: max and window (ms) of each. Checks both, then counts on both, in
 * ONE step (Redis runs a script atomically). Returns {0, 0} when reserved, {i, pttl} when window i is spent.
 */
const RESERVE_SCRIPT = `
local function spent(key, max, window)
  if tonumber(redis.call('GET', key) or '0') < tonumber(max) then return nil end
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then redis.call('PEXPIRE', key, window); ttl = tonumber(window) end
  return ttl
end
local ttl = spent(KEYS[1], ARGV[1], ARGV[2])
if ttl then return {1, ttl} end
ttl = spent(KEYS[2], ARGV[3], ARGV[4])
if ttl then return {2, ttl} end
redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
redis.call('INCR', KEYS[2])
if redis.call('PTTL', KEYS[2]) < 0 then redis.call('PEXPIRE', KEYS[2], ARGV[4]) end
return {0, 0}
`;

/** Gives a reserved attempt back (never below zero, the windows' expiry untouched). */
const GIVE_BACK_SCRIPT = `
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
`;

/**
 * Failure budgets shared by every replica (docs/spec.md §14 "limits are atomic"): two fixed windows in Redis —
 * typically one per subject and client, one per subject — checked and counted in one atomic step BEFORE the
 * expensive check (a password hash) runs, so at most `max` checks happen per window whatever the concurrency
 * (checking first and counting failures afterwards lets a burst of concurrent guesses all through). The caller
 * gives an attempt back when it was not a failure. Used by the gateway's link unlocks and links-api's logins.
 *
 * On Redis Cluster both keys must share a slot: give them one hash tag (`{subject}`).
 */
export class AttemptBudget {
  readonly #redis: RedisConnection;

  constructor(redis: RedisConnection) {
    this.#redis = redis;
  }

  /** Reserves one attempt on both windows, or says which one is spent (and counts nothing). */
  async reserve(windows: readonly [AttemptWindow, AttemptWindow]): Promise<ReservedAttempt | SpentBudget> {
    const [a, b] = windows;
    const keys = [a.key, b.key] as const;
    const [outcome, ttlMs] = (await this.#redis.eval(
      RESERVE_SCRIPT,
      2,
      ...keys,
      a.max,
      a.windowMs,
      b.max,
      b.windowMs,
    )) as [number, number];
    if (outcome === 1 || outcome === 2) {
      return { spent: outcome === 1 ? 0 : 1, retryAfterSeconds: Math.max(1, Math.ceil(Number(ttlMs) / 1000)) };
    }
    return {
      giveBack: async () => {
        await this.#redis.eval(GIVE_BACK_SCRIPT, 2, ...keys);
      },
    };
  }
}

export const isSpent = (r: ReservedAttempt | SpentBudget): r is SpentBudget => 'spent' in r;
