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
 *
 * Handing over without Redis: a slot released while a waiter of this process sleeps goes to that waiter as it is
 * (its member and lease in Redis unchanged: the endpoint's count there never changes, so the 1–4 across workers
 * holds), with no Redis call at all, as long as the lease has at least `handOverMs` left (the longest a holder
 * keeps it: an attempt's timeout and a margin). A slot whose lease is older is released in Redis and the waiter
 * acquires it anew (a new lease), which is also when other workers' waiters get their chance at it. Decision: at
 * 200 deliveries/s to one endpoint, two Redis round trips per attempt were a large share of the worker's CPU.
 * Newcomers skip Redis too while this process already holds, or is asking for, all the endpoint's slots (the
 * try would fail): they join the line.
 *
 * Lingering: a young slot released while nobody here waits is kept idle for `lingerMs` (the worker: 100 ms), and
 * the next attempt to the endpoint in this process takes it without Redis; unused by then, it is released in
 * Redis. Decision: at a steady 200/s to a fast endpoint no line forms, and each attempt cost an acquire and a
 * release round trip; the price is that another worker may wait up to `lingerMs` longer for a slot this process
 * is not using (its waiters poll; SLOT_WAIT_MS is 250 ms). `close()` gives idle slots back at once.
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
  /** a slot handed over by a release in this process: the waiter holds it on waking */
  handed: Lease | null;
}

/** A slot held in Redis: its member in the endpoint's set, and when its lease ends. */
interface Lease {
  member: string;
  endsAt: number;
}

/** How much a slot's hold time counts in an endpoint's running average (expectedWaitMs). */
const HOLD_WEIGHT = 0.2;

export class EndpointSlots {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #leaseMs: number;
  readonly #handOverMs: number;
  /** slots of each endpoint this process holds now */
  readonly #held = new Map<string, number>();
  /** the lease each holder of this process holds, and since when */
  readonly #leases = new Map<string, Lease & { since: number }>();
  readonly #lingerMs: number;
  /** released slots kept idle for the next attempt here (lingering), each with the timer that gives it back */
  readonly #idle = new Map<string, { lease: Lease; timer: NodeJS.Timeout }[]>();
  /** newcomers of each endpoint asking Redis for a slot right now */
  readonly #trying = new Map<string, number>();
  /** running average of how long a slot of each endpoint is held here (ms), for expectedWaitMs */
  readonly #holdMs = new Map<string, number>();
  /** this process's waiters of each endpoint, first come first */
  readonly #lines = new Map<string, Waiter[]>();

  /** `handOverMs`: the least lease left for a slot to be handed over within this process (default leaseMs / 2) */
  constructor(opts: {
    redis: RedisConnection;
    prefix: string;
    leaseMs: number;
    handOverMs?: number;
    lingerMs?: number;
  }) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#leaseMs = opts.leaseMs;
    this.#handOverMs = opts.handOverMs ?? opts.leaseMs / 2;
    this.#lingerMs = opts.lingerMs ?? 0;
  }

  /** an idle slot of the endpoint kept here, taken by `holder` (none if this process holds `limit` already) */
  #takeIdle(endpointId: string, limit: number, holder: string): boolean {
    const idle = this.#idle.get(endpointId);
    if (!idle || (this.#held.get(endpointId) ?? 0) >= limit) return false;
    const kept = idle.pop();
    if (idle.length === 0) this.#idle.delete(endpointId);
    if (!kept) return false;
    clearTimeout(kept.timer);
    this.#hold(endpointId, holder, kept.lease);
    return true;
  }

  #park(endpointId: string, lease: Lease) {
    let idle = this.#idle.get(endpointId);
    if (!idle) {
      idle = [];
      this.#idle.set(endpointId, idle);
    }
    const entry = {
      lease,
      timer: setTimeout(() => {
        const list = this.#idle.get(endpointId);
        if (!list) return;
        list.splice(list.indexOf(entry), 1);
        if (list.length === 0) this.#idle.delete(endpointId);
        this.#redis.zrem(this.#key(endpointId), lease.member).catch(() => {});
      }, this.#lingerMs),
    };
    entry.timer.unref();
    idle.push(entry);
  }

  /** gives every idle slot back (the worker's shutdown), so other workers need not wait for their leases to end */
  async close(): Promise<void> {
    const all = [...this.#idle].flatMap(([endpointId, list]) => list.map((e) => ({ endpointId, ...e })));
    this.#idle.clear();
    for (const e of all) clearTimeout(e.timer);
    await Promise.all(all.map((e) => this.#redis.zrem(this.#key(e.endpointId), e.lease.member).catch(() => {})));
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
    this.#hold(endpointId, holder, { member: holder, endsAt: now + this.#leaseMs });
    return true;
  }

  #hold(endpointId: string, holder: string, lease: Lease) {
    this.#held.set(endpointId, (this.#held.get(endpointId) ?? 0) + 1);
    this.#leases.set(holder, { ...lease, since: Date.now() });
  }

  /** a slot of the endpoint is held here or being asked for: its release (or its failed try) wakes a waiter */
  #busyHere(endpointId: string): boolean {
    return (this.#held.get(endpointId) ?? 0) + (this.#trying.get(endpointId) ?? 0) > 0;
  }

  /** this process's waiters for the endpoint's slots */
  waiting(endpointId: string): number {
    return this.#lines.get(endpointId)?.length ?? 0;
  }

  /**
   * About how long a newcomer would wait here for one of the endpoint's `limit` slots: the waiters ahead of it
   * (and itself) share the slots, each holding one for the endpoint's running average hold time. An endpoint not
   * seen yet counts `unknownMs` per turn.
   */
  expectedWaitMs(endpointId: string, limit: number, unknownMs: number): number {
    const ahead = this.waiting(endpointId) + ((this.#held.get(endpointId) ?? 0) >= limit ? 1 : 0);
    if (ahead === 0) return 0;
    return (ahead / limit) * (this.#holdMs.get(endpointId) ?? unknownMs);
  }

  /**
   * A slot within `ms`, in turn behind this process's earlier waiters (a newcomer tries at once only when nobody
   * here waits); false when none came in time.
   */
  async wait(endpointId: string, limit: number, holder: string, ms: number): Promise<boolean> {
    if (this.waiting(endpointId) === 0 && this.#takeIdle(endpointId, limit, holder)) return true;
    const mine = (this.#held.get(endpointId) ?? 0) + (this.#trying.get(endpointId) ?? 0);
    if (this.waiting(endpointId) === 0 && mine < limit) {
      this.#trying.set(endpointId, (this.#trying.get(endpointId) ?? 0) + 1);
      try {
        if (await this.acquire(endpointId, limit, holder)) return true;
      } finally {
        const left = (this.#trying.get(endpointId) ?? 1) - 1;
        if (left > 0) this.#trying.set(endpointId, left);
        else this.#trying.delete(endpointId);
      }
      // nothing held or asked for here after all (another worker has the slots): the first asleep polls instead
      if (!this.#busyHere(endpointId))
        this.#lines
          .get(endpointId)
          ?.find((w) => w.wake)
          ?.wake?.();
    }
    const deadline = Date.now() + ms;
    let line = this.#lines.get(endpointId);
    if (!line) {
      line = [];
      this.#lines.set(endpointId, line);
    }
    const me: Waiter = { wake: null, handed: null };
    line.push(me);
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) return false;
        // a slot held or being asked for here will wake us; with none, poll Redis (another worker's release)
        const heldHere = this.#busyHere(endpointId);
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
        if (me.handed) {
          // the endpoint's concurrency lowered meanwhile (PATCH): a slot over the new limit goes back to Redis
          if ((this.#held.get(endpointId) ?? 0) < limit) {
            this.#hold(endpointId, holder, me.handed);
            return true;
          }
          await this.#redis.zrem(this.#key(endpointId), me.handed.member).catch(() => {});
          me.handed = null;
          continue;
        }
        if (this.#takeIdle(endpointId, limit, holder)) return true;
        if (await this.acquire(endpointId, limit, holder)) return true;
      }
    } finally {
      line.splice(line.indexOf(me), 1);
      if (line.length === 0 && this.#lines.get(endpointId) === line) this.#lines.delete(endpointId);
    }
  }

  async release(endpointId: string, holder: string): Promise<void> {
    const lease = this.#leases.get(holder);
    this.#leases.delete(holder);
    const now = Date.now();
    if (lease) {
      const avg = this.#holdMs.get(endpointId);
      const took = now - lease.since;
      this.#holdMs.set(endpointId, avg === undefined ? took : avg + HOLD_WEIGHT * (took - avg));
    }
    const held = (this.#held.get(endpointId) ?? 1) - 1;
    if (held > 0) this.#held.set(endpointId, held);
    else this.#held.delete(endpointId);
    // the turn goes to the first waiter asleep (one awake is already trying)
    const next = this.#lines.get(endpointId)?.find((w) => w.wake);
    if (lease && lease.endsAt - now >= this.#handOverMs) {
      const young = { member: lease.member, endsAt: lease.endsAt };
      if (next) {
        next.handed = young;
        next.wake?.();
        return;
      }
      if (this.#lingerMs > 0) {
        this.#park(endpointId, young);
        return;
      }
    }
    try {
      await this.#redis.zrem(this.#key(endpointId), lease?.member ?? holder);
    } finally {
      next?.wake?.();
    }
  }
}
