import { randomUUID } from 'node:crypto';
import type { RedisConnection } from './redis.ts';

/** One fixed-window counter: at most `max` attempts per `windowMs` under `key`. */
export interface AttemptWindow {
  key: string;
  max: number;
  windowMs: number;
}

/** A reserved attempt: counted until given back. */
export interface ReservedAttempt {
  /**
   * The attempt turned out not to be a failure (right password, or never verified): it no longer counts. Gives
   * back this reservation only, once, however often it is called; one that fails is tried again in the background.
   */
  giveBack(): Promise<void>;
}

/** Which window refused the attempt (0 or 1) and how long until it opens again. */
export interface SpentBudget {
  spent: 0 | 1;
  retryAfterSeconds: number;
}

/**
 * KEYS[1], KEYS[2]: the two counters; KEYS[3]: this reservation's marker; ARGV: max and window (ms) of each. Checks
 * both, then counts on both and marks the reservation, in ONE step (Redis runs a script atomically). Returns {0, 0}
 * when reserved, {i, pttl} when window i is spent (nothing counted, no marker).
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
redis.call('SET', KEYS[3], '1', 'PX', math.max(tonumber(ARGV[2]), tonumber(ARGV[4])))
return {0, 0}
`;

/**
 * Gives one reservation back: only if its marker (KEYS[3]) is still there, which it removes — so twice is once,
 * and a reservation that never ran gives nothing back. The counters never go below zero, their expiry untouched.
 */
const GIVE_BACK_SCRIPT = `
if redis.call('DEL', KEYS[3]) == 0 then return 0 end
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1
`;

/** How often a give-back is tried again in the background */
const SETTLE_RETRY_MS = 1000;
/** how long a give-back that failed is tried again (then the reservation counts until its window ends) */
const SETTLE_FOR_MS = 60_000;
/**
 * how long a reservation that had no answer is looked for (its marker): one that runs late runs when its
 * connection recovers — a failover takes seconds — and one that never ran leaves nothing to find
 */
const UNANSWERED_FOR_MS = 15_000;
/** give-backs waiting to be tried again, at most: beyond it they are dropped (and count until their window ends) */
const SETTLE_MAX_PENDING = 1000;

/**
 * Failure budgets shared by every replica (docs/spec.md §14 "limits are atomic"): two fixed windows in Redis —
 * typically one per subject and client, one per subject — checked and counted in one atomic step BEFORE the
 * expensive check (a password hash) runs, so at most `max` checks happen per window whatever the concurrency
 * (checking first and counting failures afterwards lets a burst of concurrent guesses all through). The caller
 * gives an attempt back when it was not a failure. Used by the gateway's link unlocks and links-api's logins.
 *
 * On Redis Cluster both keys must share a slot: give them one hash tag (`{subject}`).
 *
 * Each reservation carries a marker of its own (a key beside the counters, with the longer window's expiry), and
 * giving back removes it: one reservation is given back once, whoever asks and however often. Why (the Redis
 * Cluster failover test, 2026-12-07): a reservation that timed out on the client while its primary was failing
 * over still ran later — the client library keeps a timed-out command queued and sends it when the connection
 * recovers — and a recipient with the right password was then locked out for the window by attempts that had
 * all succeeded. Now a reservation whose answer never came is given back in the background (after it, on the
 * same connection; a marker that is not there, because the reservation never ran, gives nothing back; looked for
 * every second for 15 s), and a give-back that failed is tried again every second for a minute. Nothing can be
 * banked this way: what is given back is only ever a reservation the same request made.
 */
export class AttemptBudget {
  readonly #redis: RedisConnection;
  #pending = 0;

  constructor(redis: RedisConnection) {
    this.#redis = redis;
  }

  /** Reserves one attempt on both windows, or says which one is spent (and counts nothing). */
  async reserve(windows: readonly [AttemptWindow, AttemptWindow]): Promise<ReservedAttempt | SpentBudget> {
    const [a, b] = windows;
    // the marker shares the counters' hash tag (the first {…} of a key decides its Cluster slot)
    const keys = [a.key, b.key, `${b.key}:held:${randomUUID()}`] as const;
    let outcome: number;
    let ttlMs: number;
    try {
      [outcome, ttlMs] = (await this.#redis.eval(RESERVE_SCRIPT, 3, ...keys, a.max, a.windowMs, b.max, b.windowMs)) as [
        number,
        number,
      ];
    } catch (err) {
      // no answer: it may have run, or run later; give back what it reserved if it did
      this.#settleLater(keys, UNANSWERED_FOR_MS, true);
      throw err;
    }
    if (outcome === 1 || outcome === 2) {
      return { spent: outcome === 1 ? 0 : 1, retryAfterSeconds: Math.max(1, Math.ceil(Number(ttlMs) / 1000)) };
    }
    return {
      giveBack: async () => {
        try {
          await this.#giveBack(keys);
        } catch (err) {
          this.#settleLater(keys, SETTLE_FOR_MS, false);
          throw err;
        }
      },
    };
  }

  /** true when the reservation was there (and is given back now), false when its marker is not there */
  async #giveBack(keys: readonly [string, string, string]): Promise<boolean> {
    return Number(await this.#redis.eval(GIVE_BACK_SCRIPT, 3, ...keys)) === 1;
  }

  /**
   * Tries a give-back in the background every SETTLE_RETRY_MS for `forMs`: until Redis answers it, or — for a
   * reservation that had no answer (`untilFound`) — until its marker was there to remove.
   */
  #settleLater(keys: readonly [string, string, string], forMs: number, untilFound: boolean): void {
    if (this.#pending >= SETTLE_MAX_PENDING) return;
    this.#pending++;
    const until = Date.now() + forMs;
    const again = () => {
      if (Date.now() < until) setTimeout(attempt, SETTLE_RETRY_MS).unref();
      else this.#pending--;
    };
    const attempt = () => {
      this.#giveBack(keys).then((found) => {
        if (found || !untilFound) this.#pending--;
        else again();
      }, again);
    };
    // the first right away: on the same connection it follows the command that had no answer
    attempt();
  }
}

export const isSpent = (r: ReservedAttempt | SpentBudget): r is SpentBudget => 'spent' in r;
