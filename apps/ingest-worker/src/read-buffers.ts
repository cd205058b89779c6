/**
 * Read buffers for checksums, reused: no garbage per file, so no collector work for a few MiB per photo. One pool
 * per worker process, built where the process is composed (main.ts → `startIngestWorker`) and passed to the
 * processor through its deps: never module state. At most one buffer per concurrent job is ever held.
 */
export class ReadBufferPool {
  readonly #free: Buffer[] = [];
  readonly bufferBytes: number;

  constructor(bufferBytes = 1024 * 1024) {
    this.bufferBytes = bufferBytes;
  }

  /** A buffer of `bufferBytes`: a returned one when there is one, else a new one. */
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** Gives a buffer taken from this pool back (its bytes are overwritten by the next reader). */
  give(buffer: Buffer): void {
    this.#free.push(buffer);
  }
}
