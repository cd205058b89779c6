import type { RedisConnection } from '@immish/runtime';

/**
 * Per-endpoint concurrency across every webhook worker (issue 18 item 4: a slow endpoint holds at most its own
 * 1–4 slots, never the worker's). A slot is a member of a sorted set scored by when its lease ends, so a worker
 * killed mid-delivery frees its slot when the lease runs out instead of never.
 *
 * Waiting for a slot (`wait`) costs nothing while nothing changes: the waiters of an endpoint in this process form
 * a line, and each release here hands the turn to the first one asleep (one Redis call per slot freed, not one per
 * waiter every few milliseconds). Only while this process holds none of the endpoint's slots — another worker has
 * them all, and its releases are not heard here — does a waiter ask Redis again every POLL_MS or so.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

const POLL_MS = 20;

interface Waiter {
  /** set while the waiter sleeps: wakes it for another try */
  wake: (() => void) | null;
}

export class EndpointSlots {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #leaseMs: number;
  /** slots of each endpoint this process holds now */
  readonly #held = new Map<string, number>();
  /** this process's waiters of each endpoint, first come first */
  readonly #lines = new Map<string, Waiter[]>();

  constructor(opts: { redis: RedisConnection; prefix: string; leaseMs: number }) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#leaseMs = opts.leaseMs;
  }

  #key(endpointId: string) {
    return `${this.#prefix}:webhook-slots:{${endpointId}}`;
  }

  /** true when `holder` got one of the endpoint's `limit` slots (one try) */
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
    if (Number(got) !== 1) return false;
    this.#held.set(endpointId, (this.#held.get(endpointId) ?? 0) + 1);
    return true;
  }

  /** this process's waiters for the endpoint's slots */
  waiting(endpointId: string): number {
    return this.#lines.get(endpointId)?.length ?? 0;
  }

  /**
   * A slot within `ms`, in turn behind this process's earlier waiters (a newcomer tries at once only when nobody
   * here waits); false when none came in time.
   */
  async wait(endpointId: string, limit: number, holder: string, ms: number): Promise<boolean> {
    if (this.waiting(endpointId) === 0 && (await this.acquire(endpointId, limit, holder))) return true;
    const deadline = Date.now() + ms;
    let line = this.#lines.get(endpointId);
    if (!line) {
      line = [];
      this.#lines.set(endpointId, line);
    }
    const me: Waiter = { wake: null };
    line.push(me);
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        const heldHere = (this.#held.get(endpointId) ?? 0) > 0;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(
            () => {
              me.wake = null;
              resolve();
            },
            heldHere ? left : Math.min(left, POLL_MS / 2 + Math.random() * POLL_MS),
          );
          me.wake = () => {
            clearTimeout(timer);
            me.wake = null;
            resolve();
          };
        });
        if (await this.acquire(endpointId, limit, holder)) return true;
      }
    } finally {
      line.splice(line.indexOf(me), 1);
      if (line.length === 0 && this.#lines.get(endpointId) === line) this.#lines.delete(endpointId);
    }
  }

  async release(endpointId: string, holder: string): Promise<void> {
    try {
      await this.#redis.zrem(this.#key(endpointId), holder);
    } finally {
      const held = (this.#held.get(endpointId) ?? 1) - 1;
      if (held > 0) this.#held.set(endpointId, held);
      else this.#held.delete(endpointId);
      // the turn goes to the first waiter asleep (one awake is already trying)
      this.#lines
        .get(endpointId)
        ?.find((w) => w.wake)
        ?.wake?.();
    }
  }
}
