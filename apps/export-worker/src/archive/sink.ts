import type { Writable } from 'node:stream';
import { ArchiveError } from './errors.ts';

/** Writes to `out` honouring backpressure and noticing errors, premature close and abort at every wait. */
export class Sink {
  readonly #out: Writable;
  readonly #signal: AbortSignal | undefined;
  #failure: unknown;
  bytesWritten = 0;

  constructor(out: Writable, signal: AbortSignal | undefined) {
    this.#out = out;
    this.#signal = signal;
    out.on('error', this.#onError);
  }

  #onError = (error: unknown): void => {
    this.#failure ??= error;
  };

  detach(): void {
    this.#out.off('error', this.#onError);
  }

  /**
   * The first failure of `out`. `errored` is set the moment the stream is destroyed with an error, while its
   * 'error' event waits until the file is closed: in between, a write must still report the real cause (a full
   * disk, say), not a bare "closed".
   */
  #cause(): unknown {
    return this.#failure ?? this.#out.errored ?? undefined;
  }

  #check(): void {
    this.#signal?.throwIfAborted();
    const cause = this.#cause();
    if (cause !== undefined) throw cause;
    if (this.#out.destroyed) throw new ArchiveError('the output stream was closed before the archive was complete');
  }

  /** Returns a promise only when `out` asks to wait (so the common path allocates nothing). */
  write(chunk: Uint8Array): Promise<void> | undefined {
    this.#check();
    this.bytesWritten += chunk.length;
    if (this.#out.write(chunk)) return undefined;
    return this.#wait('drain');
  }

  async finish(): Promise<void> {
    this.#check();
    this.#out.end();
    if (!this.#out.writableFinished) await this.#wait('finish');
  }

  #wait(event: 'drain' | 'finish'): Promise<void> {
    const out = this.#out;
    const signal = this.#signal;
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        out.off(event, onDone);
        out.off('error', onError);
        out.off('close', onClose);
        signal?.removeEventListener('abort', onAbort);
      };
      const onDone = (): void => {
        cleanup();
        resolve();
      };
      const onError = (error: unknown): void => {
        cleanup();
        reject(error);
      };
      const onClose = (): void => {
        cleanup();
        reject(this.#cause() ?? new ArchiveError('the output stream was closed before the archive was complete'));
      };
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason);
      };
      out.on(event, onDone);
      out.on('error', onError);
      out.on('close', onClose);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
