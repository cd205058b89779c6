import type { Readable, Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { collisionKey, isSafeEntryName } from './names.ts';
import {
  type CentralRecord,
  centralHeaderLength,
  dataDescriptor,
  dosDateTime,
  endRecords,
  localHeader,
  needsZip64End,
  unixSeconds,
  writeCentralHeader,
  ZIP32_MAX,
} from './zip-format.ts';

/** One file of the archive. `size` is the exact byte count `open()` will deliver (from the database). */
export interface ArchiveEntrySource {
  /** Entry name, already made safe and unique (see `toEntryNames`); anything else is refused. */
  name: string;
  size: number;
  modifiedAt: Date;
  /** Opens the content; called once, when the entry's turn comes (never earlier), and destroyed after. */
  open(): Promise<Readable>;
}

export interface ArchiveResult {
  /** Bytes of the archive written to `out`; equals `predictZipSize` of the same names and sizes. */
  bytesWritten: number;
  entryCount: number;
  /** Whether any ZIP64 structure was needed (an entry ≥ 4 GiB, an offset ≥ 4 GiB or ≥ 65,535 entries). */
  zip64: boolean;
}

export interface WriteZipOptions {
  /** Called after every chunk with the total source bytes written so far (throttle it yourself). */
  onProgress?: (sourceBytesDone: number) => void;
  /** Aborting destroys the current source and `out`, and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Whether to end `out` once the archive is complete (default true): `writeZip` then resolves only
   * after `out` has emitted `finish`, i.e. every byte has been handed to the underlying sink.
   * With `false`, it resolves once the last byte is accepted by `out.write` and the caller ends `out`.
   */
  end?: boolean;
}

/** The archive cannot be produced as declared; `out` has been destroyed with this error. */
export class ArchiveError extends Error {
  override readonly name: string = 'ArchiveError';
  readonly entryName: string | undefined;

  constructor(message: string, entryName?: string, options?: ErrorOptions) {
    super(message, options);
    this.entryName = entryName;
  }
}

/** A source delivered fewer or more bytes than its declared size. */
export class EntrySizeMismatchError extends ArchiveError {
  override readonly name = 'EntrySizeMismatchError';
  readonly expectedSize: number;
  /** Bytes received; when the source delivered too many, the count at the moment the excess was noticed. */
  readonly actualSize: number;

  constructor(entryName: string, expectedSize: number, actualSize: number) {
    const what = actualSize > expectedSize ? `more than ${expectedSize}` : `${actualSize} of ${expectedSize}`;
    super(`entry "${entryName}": the source delivered ${what} declared bytes`, entryName);
    this.expectedSize = expectedSize;
    this.actualSize = actualSize;
  }
}

/** Writes to `out` honouring backpressure and noticing errors, premature close and abort at every wait. */
class Sink {
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

  #check(): void {
    this.#signal?.throwIfAborted();
    if (this.#failure !== undefined) throw this.#failure;
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
        reject(this.#failure ?? new ArchiveError('the output stream was closed before the archive was complete'));
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

const ignore = (): void => {};

const DIRECTORY_CHUNK_BYTES = 256 * 1024;

function validateEntry(entry: ArchiveEntrySource, seen: Set<string>): void {
  if (!isSafeEntryName(entry.name)) {
    throw new ArchiveError(
      `entry name ${JSON.stringify(entry.name)} is not a safe entry name (use toEntryNames)`,
      entry.name,
    );
  }
  const key = collisionKey(entry.name);
  if (seen.has(key)) throw new ArchiveError(`entry name "${entry.name}" is used twice`, entry.name);
  seen.add(key);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new ArchiveError(`entry "${entry.name}": size ${entry.size} is not a byte count`, entry.name);
  }
  if (!(entry.modifiedAt instanceof Date) || Number.isNaN(entry.modifiedAt.getTime())) {
    throw new ArchiveError(`entry "${entry.name}": modifiedAt is not a valid date`, entry.name);
  }
}

/**
 * Streams `entries` into `out` as one ZIP archive: STORED entries, UTF-8 names, CRC-32 computed while
 * streaming and written in a data descriptor, ZIP64 wherever a size, an offset or the entry count needs it.
 *
 * Memory stays bounded whatever the archive size: one source is open at a time, every write waits
 * for `out` to drain when it asks to, and only a small record per entry is kept for the central directory.
 *
 * On success `out` is ended (unless `end: false`) and the promise resolves after `finish`.
 * On any failure — a source whose length differs from its declared size ({@link EntrySizeMismatchError}),
 * a source or output error, an unsafe/duplicate name, an abort — the current source and `out` are
 * destroyed with the error and the promise rejects: `out` is never ended on a partial archive, so a
 * storage writer can discard it (abort the multipart upload, delete the temp file).
 */
export async function writeZip(
  entries: Iterable<ArchiveEntrySource> | AsyncIterable<ArchiveEntrySource>,
  out: Writable,
  options: WriteZipOptions = {},
): Promise<ArchiveResult> {
  const { onProgress, signal, end = true } = options;
  const sink = new Sink(out, signal);
  const records: CentralRecord[] = [];
  const seen = new Set<string>();
  let sourceBytesDone = 0;
  let zip64 = false;
  try {
    signal?.throwIfAborted();
    for await (const entry of entries) {
      signal?.throwIfAborted();
      validateEntry(entry, seen);
      const name = Buffer.from(entry.name, 'utf8');
      const { size } = entry;
      const record: CentralRecord = {
        name,
        size,
        offset: sink.bytesWritten,
        crc: 0,
        ...dosDateTime(entry.modifiedAt),
        unixTime: unixSeconds(entry.modifiedAt),
      };
      if (size >= ZIP32_MAX || record.offset >= ZIP32_MAX) zip64 = true;
      await sink.write(localHeader(record));

      const source = await entry.open();
      const onAbort = (): void => {
        source.destroy(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      let crc = 0;
      let received = 0;
      try {
        for await (const chunk of source as AsyncIterable<unknown>) {
          if (!(chunk instanceof Uint8Array)) {
            throw new ArchiveError(
              `entry "${entry.name}": the source must deliver bytes, not ${typeof chunk}`,
              entry.name,
            );
          }
          received += chunk.length;
          // Refuse the excess before writing any of it: the archive must never hold more than declared.
          if (received > size) throw new EntrySizeMismatchError(entry.name, size, received);
          crc = crc32(chunk, crc);
          const wait = sink.write(chunk);
          if (wait) await wait;
          sourceBytesDone += chunk.length;
          onProgress?.(sourceBytesDone);
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!source.destroyed) source.destroy();
      }
      signal?.throwIfAborted();
      if (received !== size) throw new EntrySizeMismatchError(entry.name, size, received);
      record.crc = crc;
      records.push(record);
      await sink.write(dataDescriptor(crc, size));
    }

    const directoryOffset = sink.bytesWritten;
    let chunk = Buffer.allocUnsafe(DIRECTORY_CHUNK_BYTES);
    let used = 0;
    for (const record of records) {
      const length = centralHeaderLength(record.name.length, record.size, record.offset);
      if (used + length > chunk.length) {
        if (used > 0) await sink.write(chunk.subarray(0, used));
        // A written chunk belongs to `out` until flushed: never reuse it.
        chunk = Buffer.allocUnsafe(Math.max(DIRECTORY_CHUNK_BYTES, length));
        used = 0;
      }
      used = writeCentralHeader(chunk, record, used);
    }
    if (used > 0) await sink.write(chunk.subarray(0, used));
    const directorySize = sink.bytesWritten - directoryOffset;
    if (needsZip64End(records.length, directorySize, directoryOffset)) zip64 = true;
    await sink.write(endRecords(records.length, directorySize, directoryOffset));

    if (end) await sink.finish();
    return { bytesWritten: sink.bytesWritten, entryCount: records.length, zip64 };
  } catch (error) {
    // The rejection carries the error; `out` re-emitting it must not crash a caller without a listener.
    out.on('error', ignore);
    if (!out.destroyed) out.destroy(error instanceof Error ? error : new ArchiveError(String(error)));
    throw error;
  } finally {
    sink.detach();
  }
}
