/**
 * Writes of concurrent deliveries gathered into one statement (README "Webhooks and link activity", delivery
 * speed): what arrives while the previous batch is being written (or within the same turn of the event loop) goes
 * out together, so a lone item is written at once (no added wait when the worker keeps up) and a backlog costs one
 * round trip per batch instead of one per delivery. Decision: at 200 deliveries/s the PostgreSQL round trips were
 * the largest share of the worker's CPU (socket writes).
 *
 * Each caller gets its own item's result. If a batch fails, its items are written one by one, so one bad item
 * (its delivery deleted with its endpoint meanwhile, say) fails only its own caller.
 */
export class Batcher<T, R> {
  readonly #write: (items: T[]) => Promise<R[]>;
  readonly #max: number;
  readonly #lingerMs: number;
  #pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #writing = false;

  /**
   * `write` returns one result per item, in order. `lingerMs`: how long the first item of a batch waits for
   * others (0: the same turn of the event loop only) — for writes whose caller can afford to wait that long.
   */
  constructor(write: (items: T[]) => Promise<R[]>, opts: { max?: number; lingerMs?: number } = {}) {
    this.#write = write;
    this.#max = opts.max ?? 200;
    this.#lingerMs = opts.lingerMs ?? 0;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#writing) {
        this.#writing = true;
        if (this.#lingerMs > 0) setTimeout(() => void this.#drain(), this.#lingerMs);
        else setImmediate(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.#max);
      try {
        const results = await this.#write(batch.map((b) => b.item));
        for (const [i, b] of batch.entries()) b.resolve(results[i] as R);
      } catch (err) {
        if (batch.length === 1) batch[0]!.reject(err);
        else
          await Promise.all(
            batch.map((b) =>
              this.#write([b.item]).then(
                ([r]) => b.resolve(r as R),
                (e: unknown) => b.reject(e),
              ),
            ),
          );
      }
    }
    this.#writing = false;
  }
}
