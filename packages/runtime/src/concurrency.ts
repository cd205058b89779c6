import { rateLimited, unavailable } from './errors.ts';

export interface ConcurrencyGateOptions {
  /** what is limited, for the refusal's message ("password verifications") */
  name: string;
  /** how many run at once */
  slots: number;
  /** how many may wait for a slot; beyond that `run` refuses at once */
  queue: number;
  /** the refusal's Retry-After (default 1 s: a slot frees within one job's time) */
  retryAfterSeconds?: number;
  /**
   * How many of the running and waiting may share one key (`run`'s second argument: a user, a client); beyond that
   * `run` refuses with 429 + Retry-After at once, so that no one caller can fill the slots and the queue for
   * everyone. Default: no bound per key.
   */
  perKey?: number;
}

/**
 * A per-process bound on expensive work (a semaphore with a short FIFO queue), built at the composition root
 * and passed down. `run` starts the work when a slot is free, waits in line while the queue has room, and
 * otherwise throws 503 + Retry-After at once: the process is busy, which is not the client's fault (429 says
 * "you asked too often"), and answering at once beats a queue that grows without bound.
 */
export class ConcurrencyGate {
  readonly #opts: Required<ConcurrencyGateOptions>;
  readonly #waiting: (() => void)[] = [];
  /** running + waiting, by key (only keys with some) */
  readonly #byKey = new Map<string, number>();
  #active = 0;

  constructor(opts: ConcurrencyGateOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new RangeError('slots must be an integer ≥ 1');
    if (!Number.isInteger(opts.queue) || opts.queue < 0) throw new RangeError('queue must be an integer ≥ 0');
    if (opts.perKey !== undefined && (!Number.isInteger(opts.perKey) || opts.perKey < 1))
      throw new RangeError('perKey must be an integer ≥ 1');
    this.#opts = { retryAfterSeconds: 1, perKey: Number.POSITIVE_INFINITY, ...opts };
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `work` in a slot; `key` (see `perKey`) names whose work it is. */
  async run<T>(work: () => Promise<T>, key?: string): Promise<T> {
    if (key === undefined) return this.#run(work);
    const mine = this.#byKey.get(key) ?? 0;
    if (mine >= this.#opts.perKey) {
      throw rateLimited(
        `Too many ${this.#opts.name} of yours in progress; retry in a moment`,
        this.#opts.retryAfterSeconds,
      );
    }
    this.#byKey.set(key, mine + 1);
    try {
      return await this.#run(work);
    } finally {
      const left = (this.#byKey.get(key) ?? 1) - 1;
      if (left > 0) this.#byKey.set(key, left);
      else this.#byKey.delete(key);
    }
  }

  async #run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#opts.slots) {
      if (this.#waiting.length >= this.#opts.queue) {
        throw unavailable(
          `Too many ${this.#opts.name} in progress on this server; retry in a moment`,
          this.#opts.retryAfterSeconds,
        );
      }
      // the slot is handed over by the finishing run (#active stays counted), so no newcomer can take it first
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await work();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
