/**
 * Coalesces concurrent calls into one database statement per batch ("group commit"). Under load, the shared
 * links created at the same moment go to PostgreSQL as ONE statement instead of one each: each statement and
 * transaction has a fixed cost (executor start-up for the three tables, their ten indexes, foreign-key checks,
 * commit) that a multi-row statement pays once — per link it cost about a third. Alone (no concurrency), a
 * call runs at once (after the current event-loop turn) as a batch of one, so nothing waits for company.
 *
 * - At most `maxInFlight` batches run at a time; calls arriving meanwhile queue and form the next batch. That
 *   bounds the connections this takes from the pool and makes batches larger exactly when it pays.
 * - A batch holds at most `maxItems` calls and `maxWeight` weight (a call heavier than that runs alone).
 * - `run` gets the batch's inputs and returns one output per input, in order. If it fails with an error that
 *   `isolate` says belongs to one input (a unique or foreign-key violation), every input of the batch is
 *   re-run alone, so each caller gets the outcome it would have had alone; any other error (database down)
 *   rejects the whole batch at once.
 *
 * Whatever `run` writes for one input must be all-or-nothing with the rest of that input's writes (one
 * statement, or one transaction): a failed batch wrote nothing, a successful one wrote everything.
 */
export interface BatcherOptions<I, O> {
  run(inputs: readonly I[]): Promise<O[]>;
  isolate(err: unknown): boolean;
  weight?(input: I): number;
  maxItems?: number;
  maxWeight?: number;
  maxInFlight?: number;
}

interface Pending<I, O> {
  input: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

export class Batcher<I, O> {
  readonly #opts: Required<BatcherOptions<I, O>>;
  readonly #queue: Pending<I, O>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(opts: BatcherOptions<I, O>) {
    this.#opts = { weight: () => 1, maxItems: 100, maxWeight: 1000, maxInFlight: 4, ...opts };
  }

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ input, resolve, reject });
      if (!this.#scheduled && this.#inFlight < this.#opts.maxInFlight) {
        this.#scheduled = true;
        // after the current turn's I/O callbacks: the calls their requests make join this batch
        setImmediate(() => {
          this.#scheduled = false;
          this.#flush();
        });
      }
    });
  }

  #flush(): void {
    while (this.#inFlight < this.#opts.maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      this.#inFlight++;
      void this.#execute(batch).finally(() => {
        this.#inFlight--;
        this.#flush();
      });
    }
  }

  /** The next batch from the queue's head: at least one call, then as many as the limits allow. */
  #take(): Pending<I, O>[] {
    const { maxItems, maxWeight, weight } = this.#opts;
    let n = 1;
    let total = weight((this.#queue[0] as Pending<I, O>).input);
    while (n < this.#queue.length && n < maxItems) {
      const w = weight((this.#queue[n] as Pending<I, O>).input);
      if (total + w > maxWeight) break;
      total += w;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  async #execute(batch: Pending<I, O>[]): Promise<void> {
    try {
      const outs = await this.#opts.run(batch.map((p) => p.input));
      for (const [i, p] of batch.entries()) p.resolve(outs[i] as O);
    } catch (err) {
      if (batch.length === 1 || !this.#opts.isolate(err)) {
        for (const p of batch) p.reject(err);
        return;
      }
      // one input's error must not fail the others: each on its own, one after the other (the failed batch
      // wrote nothing; this slot's one connection at a time)
      for (const p of batch) {
        try {
          p.resolve((await this.#opts.run([p.input]))[0] as O);
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }
}
