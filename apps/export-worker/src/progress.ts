import type { Db } from '@immish/db';
import { recordExportProgress } from '@immish/domain';
import type { Logger } from 'pino';

export interface ProgressReporterOptions {
  db: Db;
  exportId: string;
  bytesTotal: number;
  /** smallest gap between two `bytes_done` updates (1 s: "progress at least every second" without a write per chunk) */
  intervalMs: number;
  /** smallest gap between two `export.progress` events (5 s: pollers read the row; events are for listeners) */
  eventIntervalMs: number;
  correlationId?: string;
  logger: Logger;
  /** the export is no longer running (deleted by its requester) */
  onGone: () => void;
}

/**
 * Throttled progress of one export attempt. `report()` is called for every chunk; at most one
 * database write is in flight and at most one per `intervalMs` (the first report writes at once, so
 * a poller sees the job start). A failed write is logged and retried with the next report: progress
 * is advisory, it never fails the export.
 */
export class ProgressReporter {
  readonly #opts: ProgressReporterOptions;
  #total: number;
  #latest = 0;
  #lastWrite = 0;
  #lastEvent = 0;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: ProgressReporterOptions) {
    this.#opts = opts;
    this.#total = opts.bytesTotal;
  }

  /** The work turned out to be this much (a metadata-hiding export knows its stripped sizes after sizing). */
  setTotal(bytesTotal: number): void {
    this.#total = bytesTotal;
  }

  report(bytesDone: number): void {
    this.#latest = bytesDone;
    if (this.#stopped || this.#inFlight) return;
    const now = Date.now();
    if (now - this.#lastWrite < this.#opts.intervalMs) return;
    this.#lastWrite = now;
    const emitEvent = now - this.#lastEvent >= this.#opts.eventIntervalMs;
    if (emitEvent) this.#lastEvent = now;
    const o = this.#opts;
    this.#inFlight = recordExportProgress(
      o.db,
      o.exportId,
      { bytesDone: this.#latest, bytesTotal: this.#total },
      { emitEvent, ...(o.correlationId ? { correlationId: o.correlationId } : {}) },
    )
      .then((running) => {
        if (!running && !this.#stopped) o.onGone();
      })
      .catch((err: unknown) => o.logger.warn({ err: (err as Error).message }, 'recording export progress failed'))
      .finally(() => {
        this.#inFlight = undefined;
      });
  }

  /** Stops reporting and waits for the write in flight (the final state is written by the caller). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#inFlight;
  }
}
