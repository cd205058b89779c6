/**
 * `writeZip`: the streaming ZIP writer (stored entries, ZIP64 when needed, data descriptors) — the entry loop, its
 * validation, open-ahead and progress. Over ~350 lines because the loop and the two ways of feeding the output
 * (a stream of fresh chunks, `sink.ts`; reused buffers read straight into, `pooled-sink.ts`) share one protocol
 * that is easier to check in one place; the byte layout is `zip-format.ts`, entry names `names.ts`.
 */
import type { Readable, Writable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { ArchiveError, EntrySizeMismatchError } from './errors.ts';
import { collisionKey, isSafeEntryName } from './names.ts';
import { type EntryReader, PooledSink } from './pooled-sink.ts';
import { Sink } from './sink.ts';
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
  /**
   * Opens the content; called once, at most `openAhead` entries before the entry's turn. The stream is
   * destroyed once the entry is written or the archive fails.
   */
  open(): Promise<Readable>;
  /**
   * Opens the content for positional reads instead (used in place of `open` with `reuseBuffers`): the
   * bytes are read straight into the output buffers. Its `size` must equal the entry's.
   */
  openReader?(): Promise<EntryReader>;
}

export { ArchiveError, EntrySizeMismatchError };

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
  /** Aborting destroys the open sources and `out`, and rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Whether to end `out` once the archive is complete (default true): `writeZip` then resolves only
   * after `out` has emitted `finish`, i.e. every byte has been handed to the underlying sink.
   * With `false`, it resolves once the last byte is accepted by `out.write` and the caller ends `out`.
   */
  end?: boolean;
  /**
   * How many entries ahead of the one being written are opened already (default 1), so that opening a
   * file or waiting for the first byte of an object from remote storage overlaps the previous entry's
   * data. Memory grows by at most what each opened source buffers (its highWaterMark). 0 disables it.
   */
  openAhead?: number;
  /**
   * Gather the archive in a few reused output buffers (see PooledSink), reading entries that have
   * `openReader` straight into them (default false). Only when `out` is done with a chunk once its write
   * callback has run (a file stream); never for a stream that keeps chunks after calling back (a PassThrough).
   */
  reuseBuffers?: boolean;
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
 * Streams one source into the sink, computing its CRC-32. Chunks are taken from `data` events (pausing
 * the source while `out` drains) rather than an async iterator, whose `read()` would concatenate
 * buffered chunks into fresh buffers. Bytes beyond the declared size are refused before being written.
 */
function copyEntry(
  source: Readable,
  entry: ArchiveEntrySource,
  sink: Sink | PooledSink,
  onChunk: (bytes: number) => void,
): Promise<{ crc: number; received: number }> {
  return new Promise((resolve, reject) => {
    let crc = 0;
    let received = 0;
    let settled = false;
    let pending: Promise<void> | undefined;
    const settle = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      source.off('close', onClose);
      if (error === undefined) resolve({ crc, received });
      else reject(error);
    };
    const onData = (chunk: unknown): void => {
      if (settled) return;
      if (!(chunk instanceof Uint8Array)) {
        settle(
          new ArchiveError(`entry "${entry.name}": the source must deliver bytes, not ${typeof chunk}`, entry.name),
        );
        return;
      }
      received += chunk.length;
      if (received > entry.size) {
        settle(new EntrySizeMismatchError(entry.name, entry.size, received));
        return;
      }
      crc = crc32(chunk, crc);
      let wait: Promise<void> | undefined;
      try {
        wait = sink.write(chunk);
      } catch (error) {
        settle(error);
        return;
      }
      onChunk(chunk.length);
      if (wait) {
        source.pause();
        pending = wait;
        wait.then(() => {
          pending = undefined;
          if (!settled) source.resume();
        }, settle);
      }
    };
    // A source may end while its last chunk's write is still waiting (a pooled sink copies asynchronously):
    // the entry is done only once that chunk is in the output, or the descriptor would overtake it.
    let ended = false;
    const onEnd = (): void => {
      ended = true;
      if (pending) pending.then(() => settle(), settle);
      else settle();
    };
    const onError = (error: unknown): void => settle(error);
    const onClose = (): void => {
      if (!ended) settle(new ArchiveError(`entry "${entry.name}": the source closed before its end`, entry.name));
    };
    if (source.errored) {
      settle(source.errored);
      return;
    }
    if (source.readableEnded) {
      settle();
      return;
    }
    if (source.destroyed) {
      onClose();
      return;
    }
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    source.on('close', onClose);
    source.resume(); // also when the caller handed over an explicitly paused stream
  });
}

interface PendingEntry {
  entry: ArchiveEntrySource;
  source: Promise<Readable | EntryReader>;
}

const isReader = (source: Readable | EntryReader): source is EntryReader => !('pipe' in source);

/** Releases an entry's source: a stream is destroyed, a reader closed. */
function release(source: Readable | EntryReader): void {
  if (isReader(source)) source.close().catch(ignore);
  else if (!source.destroyed) source.destroy();
}

/**
 * The caller's entries, pulled in order: each is validated when pulled and its source opened right
 * away, up to `openAhead` entries before the one being written.
 */
class EntryQueue {
  readonly #iterator: Iterator<ArchiveEntrySource> | AsyncIterator<ArchiveEntrySource>;
  readonly #openAhead: number;
  readonly #readers: boolean;
  readonly #seen = new Set<string>();
  readonly #pending: PendingEntry[] = [];
  #exhausted = false;

  constructor(
    entries: Iterable<ArchiveEntrySource> | AsyncIterable<ArchiveEntrySource>,
    openAhead: number,
    readers: boolean,
  ) {
    this.#iterator = Symbol.asyncIterator in entries ? entries[Symbol.asyncIterator]() : entries[Symbol.iterator]();
    this.#openAhead = openAhead;
    this.#readers = readers;
  }

  async #pull(): Promise<void> {
    const next = await this.#iterator.next();
    if (next.done) {
      this.#exhausted = true;
      return;
    }
    const entry = next.value;
    validateEntry(entry, this.#seen);
    const openReader = this.#readers ? entry.openReader?.bind(entry) : undefined;
    const source: Promise<Readable | EntryReader> = openReader
      ? Promise.resolve().then(openReader)
      : Promise.resolve()
          .then(() => entry.open())
          .then((stream) => {
            // Until its turn comes nobody listens to this stream: an early error (a missing file) must
            // not crash the process. It stays visible as `stream.errored` for copyEntry.
            stream.on('error', ignore);
            return stream;
          });
    source.catch(ignore); // awaited (and thrown) when the entry's turn comes
    this.#pending.push({ entry, source });
  }

  /** The next entry to write, with its source being opened; undefined after the last. */
  async next(): Promise<PendingEntry | undefined> {
    if (this.#pending.length === 0 && !this.#exhausted) await this.#pull();
    return this.#pending.shift();
  }

  /** Opens the following entries while the current one is written. */
  async openAhead(): Promise<void> {
    while (!this.#exhausted && this.#pending.length < this.#openAhead) await this.#pull();
  }

  /** Destroys the sources opened ahead and lets the caller's iterator clean up (after a failure). */
  async discard(): Promise<void> {
    for (const { source } of this.#pending.splice(0)) source.then(release, ignore);
    if (!this.#exhausted) {
      this.#exhausted = true;
      await this.#iterator.return?.();
    }
  }
}

/**
 * Streams `entries` into `out` as one ZIP archive: STORED entries, UTF-8 names, CRC-32 computed while
 * streaming and written in a data descriptor, ZIP64 wherever a size, an offset or the entry count needs it.
 *
 * Memory stays bounded whatever the archive size: one source is read at a time (the next `openAhead`
 * ones are opened in advance), every write waits for `out` to drain when it asks to, and only a small
 * record per entry is kept for the central directory.
 *
 * On success `out` is ended (unless `end: false`) and the promise resolves after `finish`.
 * On any failure — a source whose length differs from its declared size ({@link EntrySizeMismatchError}),
 * a source or output error, an unsafe/duplicate name, an abort — the open sources and `out` are
 * destroyed with the error and the promise rejects: `out` is never ended on a partial archive, so a
 * storage writer can discard it (abort the multipart upload, delete the temp file).
 */
export async function writeZip(
  entries: Iterable<ArchiveEntrySource> | AsyncIterable<ArchiveEntrySource>,
  out: Writable,
  options: WriteZipOptions = {},
): Promise<ArchiveResult> {
  const { onProgress, signal, end = true, openAhead = 1, reuseBuffers = false } = options;
  if (!Number.isInteger(openAhead) || openAhead < 0) throw new RangeError(`openAhead ${openAhead} must be a count`);
  const sink = reuseBuffers ? new PooledSink(out, signal) : new Sink(out, signal);
  const queue = new EntryQueue(entries, openAhead, reuseBuffers);
  const records: CentralRecord[] = [];
  let sourceBytesDone = 0;
  let zip64 = false;
  try {
    signal?.throwIfAborted();
    for (let pending = await queue.next(); pending !== undefined; pending = await queue.next()) {
      signal?.throwIfAborted();
      const { entry } = pending;
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

      const source = await pending.source;
      const onAbort = (): void => {
        if (!isReader(source)) source.destroy(new ArchiveError('aborted'));
      };
      let copied: { crc: number; received: number };
      try {
        await queue.openAhead();
        signal?.throwIfAborted();
        signal?.addEventListener('abort', onAbort, { once: true });
        const onChunk = (bytes: number): void => {
          sourceBytesDone += bytes;
          onProgress?.(sourceBytesDone);
        };
        if (isReader(source)) {
          // a reader of another size than declared would deliver too few or too many bytes: refused up front
          if (source.size !== size) throw new EntrySizeMismatchError(entry.name, size, source.size);
          copied = await (sink as PooledSink).fill(source, size, onChunk);
        } else {
          copied = await copyEntry(source, entry, sink, onChunk);
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        release(source);
      }
      const { crc, received } = copied;
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
  } catch (caught) {
    const error: unknown = signal?.aborted ? signal.reason : caught;
    await queue.discard().catch(ignore);
    // The rejection carries the error; `out` re-emitting it must not crash a caller without a listener.
    out.on('error', ignore);
    if (!out.destroyed) out.destroy(error instanceof Error ? error : new ArchiveError(String(error)));
    throw error;
  } finally {
    sink.detach();
  }
}
