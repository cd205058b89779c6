import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * EXPORT_READ_BYTES_PER_SECOND: paces reading originals for one job (all its sources share the
 * budget), so an export does not starve the rest of the machine of disk or network bandwidth.
 * Backpressure stays end to end: the wrapped stream is pulled only as fast as the budget allows.
 */
export class ReadThrottle {
  readonly #bytesPerSecond: number;
  readonly #started = Date.now();
  #bytes = 0;

  constructor(bytesPerSecond: number) {
    this.#bytesPerSecond = bytesPerSecond;
  }

  wrap(source: Readable): Readable {
    const pace = async function* (this: ReadThrottle) {
      try {
        for await (const chunk of source as AsyncIterable<Buffer>) {
          this.#bytes += chunk.length;
          const due = this.#started + (this.#bytes / this.#bytesPerSecond) * 1000;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait);
          yield chunk;
        }
      } finally {
        source.destroy();
      }
    }.call(this);
    return Readable.from(pace, { objectMode: false });
  }
}
