import { unavailable } from './errors.ts';

export interface ConcurrencyGateOptions {
  /** what is limited, for the refusal's message ("password verifications") */
  name: string;
  /** how many run at once */
  slots: number;
  /** how many may wait for a slot; beyond that `run` refuses at once */
  queue: number;
  /** the refusal's Retry-After (default 1 s: a slot frees within one job's time) */
  retryAfterSeconds?: number;
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
  #active = 0;

  constructor(opts: ConcurrencyGateOptions) {
    if (!Number.isInteger(opts.slots) || opts.slots < 1) throw new RangeError('slots must be an integer ≥ 1');
    if (!Number.isInteger(opts.queue) || opts.queue < 0) throw new RangeError('queue must be an integer ≥ 0');
    this.#opts = { retryAfterSeconds: 1, ...opts };
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
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
