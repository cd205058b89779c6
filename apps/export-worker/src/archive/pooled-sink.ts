import type { Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ArchiveError } from './errors.ts';

/**
 * Positional reads into the caller's buffer (a stored object opened for reading, `BlobStore.openReader`):
 * the archive's file data is read straight into the output buffers below, no buffer allocated per read.
 */
export interface EntryReader {
  /** Bytes of the version opened. */
  readonly size: number;
  /** Reads up to `length` bytes from `position` into `into` at `offset`; resolves with the count (0 at the end). */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

const POOL_BUFFERS = 4;
const POOL_BUFFER_BYTES = 1024 * 1024;

/**
 * The output of `writeZip({ reuseBuffers: true })`: everything (headers, file data, directory) is gathered
 * into a few fixed 1 MiB buffers, each handed to `out.write` when full and used again only once that write's
 * callback has run. Memory is constant (4 MiB) and nothing is left for the garbage collector, which was the
 * largest cost of an export (a fresh buffer per read chunk, profiled in bench/export-ready.ts).
 *
 * Only for an `out` that is done with a chunk when its write callback runs (a file stream: the bytes are in
 * the file). A stream that keeps the chunk after calling back (a PassThrough feeding an upload) would see a
 * buffer rewritten under it: the caller says which (`BlobWriter.releasesChunks`). A buffer is taken back in
 * exactly one place, that callback; until then no code here touches it.
 */
export class PooledSink {
  readonly #out: Writable;
  readonly #signal: AbortSignal | undefined;
  readonly #free: Buffer[] = [];
  #allocated = 0;
  #current: Buffer | undefined;
  #used = 0;
  #failure: unknown;
  #wake: (() => void) | undefined;
  bytesWritten = 0;

  constructor(out: Writable, signal: AbortSignal | undefined) {
    this.#out = out;
    this.#signal = signal;
    out.on('error', this.#onError);
    out.on('close', this.#onWake);
    signal?.addEventListener('abort', this.#onWake);
  }

  #onError = (error: unknown): void => {
    this.#failure ??= error;
    this.#onWake();
  };

  #onWake = (): void => {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  };

  detach(): void {
    this.#out.off('error', this.#onError);
    this.#out.off('close', this.#onWake);
    this.#signal?.removeEventListener('abort', this.#onWake);
  }

  #check(): void {
    this.#signal?.throwIfAborted();
    const cause = this.#failure ?? this.#out.errored ?? undefined;
    if (cause !== undefined) throw cause;
    if (this.#out.destroyed) throw new ArchiveError('the output stream was closed before the archive was complete');
  }

  /** The buffer being filled, with room left; waits for a write to complete when all of them are in flight. */
  async #buffer(): Promise<Buffer> {
    for (;;) {
      this.#check();
      if (this.#current) return this.#current;
      const free = this.#free.pop();
      if (free) {
        this.#current = free;
        return free;
      }
      if (this.#allocated < POOL_BUFFERS) {
        this.#allocated++;
        this.#current = Buffer.allocUnsafeSlow(POOL_BUFFER_BYTES);
        return this.#current;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Hands the current buffer to `out`; it comes back to the pool only in the write's callback. */
  #flush(): void {
    const buffer = this.#current;
    if (!buffer || this.#used === 0) return;
    this.#current = undefined;
    const chunk = buffer.subarray(0, this.#used);
    this.#used = 0;
    this.#out.write(chunk, (error) => {
      if (error) this.#failure ??= error;
      this.#free.push(buffer);
      this.#onWake();
    });
  }

  #advance(bytes: number, buffer: Buffer): void {
    this.#used += bytes;
    this.bytesWritten += bytes;
    if (this.#used === buffer.length) this.#flush();
  }

  /** Copies `chunk` into the output (headers, the directory, entries read from a stream). */
  async write(chunk: Uint8Array): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      const buffer = await this.#buffer();
      const n = Math.min(chunk.length - at, buffer.length - this.#used);
      buffer.set(chunk.subarray(at, at + n), this.#used);
      at += n;
      this.#advance(n, buffer);
    }
    if (chunk.length === 0) this.#check();
  }

  /**
   * Reads `size` bytes of `reader` straight into the output, computing their CRC-32. Resolves with the bytes
   * actually read: fewer than `size` when the reader ends early (the caller reports the mismatch).
   */
  async fill(
    reader: EntryReader,
    size: number,
    onChunk: (bytes: number) => void,
  ): Promise<{ crc: number; received: number }> {
    let crc = 0;
    let received = 0;
    while (received < size) {
      const buffer = await this.#buffer();
      const at = this.#used;
      const got = await reader.read(buffer, at, Math.min(size - received, buffer.length - at), received);
      this.#check();
      if (got === 0) break;
      crc = crc32(buffer.subarray(at, at + got), crc);
      received += got;
      this.#advance(got, buffer);
      onChunk(got);
    }
    return { crc, received };
  }

  /** Writes out what is gathered, ends `out` and waits for `finish`. */
  async finish(): Promise<void> {
    this.#check();
    this.#flush();
    this.#out.end();
    while (!this.#out.writableFinished) {
      this.#check();
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#out.once('finish', resolve);
      });
    }
  }
}
