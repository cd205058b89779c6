/**
 * The deliveries one worker process has in flight (WEBHOOK_CONCURRENCY, issue 18 item 4), counted across both
 * ways an attempt starts: a first attempt made by the fan-out (`tryTake`: now or not at all, then it is queued)
 * and a job of the `webhook-deliveries` queue (`take`: waits its turn). A freed place goes to the longest waiter.
 */
export class DeliveryBudget {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be an integer ≥ 1');
    this.#free = limit;
  }

  tryTake(): boolean {
    if (this.#free === 0) return false;
    this.#free--;
    return true;
  }

  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** hands the place to the next waiter (it stays taken), or frees it */
  give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
