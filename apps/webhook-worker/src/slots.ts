import type { RedisConnection } from '@immish/runtime';

/**
 * Per-endpoint concurrency across every webhook worker (issue 18 item 4: a slow endpoint holds at most its own
 * 1–4 slots, never the worker's). A slot is a member of a sorted set scored by when its lease ends, so a worker
 * killed mid-delivery frees its slot when the lease runs out instead of never. A wait for a slot (`released`) is
 * woken at once by a release in this process; one in another process is seen by the waiter's next try.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

export class EndpointSlots {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(opts: { redis: RedisConnection; prefix: string; leaseMs: number }) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#leaseMs = opts.leaseMs;
  }

  #key(endpointId: string) {
    return `${this.#prefix}:webhook-slots:{${endpointId}}`;
  }

  /** true when `holder` got one of the endpoint's `limit` slots */
  async acquire(endpointId: string, limit: number, holder: string): Promise<boolean> {
    const now = Date.now();
    const got = await this.#redis.eval(
      ACQUIRE,
      1,
      this.#key(endpointId),
      now,
      now + this.#leaseMs,
      limit,
      holder,
      this.#leaseMs * 2,
    );
    return Number(got) === 1;
  }

  async release(endpointId: string, holder: string): Promise<void> {
    try {
      await this.#redis.zrem(this.#key(endpointId), holder);
    } finally {
      const waiters = this.#waiters.get(endpointId);
      this.#waiters.delete(endpointId);
      for (const wake of waiters ?? []) wake();
    }
  }

  /** Resolves when this process releases a slot of the endpoint, or after `ms`, whichever comes first. */
  released(endpointId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#waiters.get(endpointId);
      if (!waiters) {
        waiters = new Set();
        this.#waiters.set(endpointId, waiters);
      }
      const set = waiters;
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        set.delete(wake);
        if (set.size === 0 && this.#waiters.get(endpointId) === set) this.#waiters.delete(endpointId);
        resolve();
      }, ms);
      set.add(wake);
    });
  }
}
