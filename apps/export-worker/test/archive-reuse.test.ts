import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ArchiveEntrySource, type EntryReader, EntrySizeMismatchError, writeZip } from '../src/archive/index.ts';
import { checkWithReaders, expectedFromBuffer, makeTempDir } from './fixtures-archive/readers.ts';

/**
 * writeZip({ reuseBuffers: true }): the archive gathered in a few reused output buffers, entries with
 * `openReader` read straight into them. The risk is data corruption: a buffer refilled while a write of it is
 * still pending. These tests use an output whose writes complete late and check every chunk is unchanged
 * when its write completes.
 */

let tmp: { dir: string; remove: () => Promise<void> };
beforeEach(async () => {
  tmp = await makeTempDir('archive-reuse');
});
afterEach(async () => {
  await tmp.remove();
});

/** A positional reader over a buffer, delivering at most `step` bytes per read (like short file reads). */
function bufferReader(data: Buffer, step = Number.POSITIVE_INFINITY): EntryReader & { closed: boolean } {
  const reader = {
    size: data.length,
    closed: false,
    async read(into: Uint8Array, offset: number, length: number, position: number): Promise<number> {
      await sleep(0);
      const n = Math.max(0, Math.min(length, step, data.length - position));
      into.set(data.subarray(position, position + n), offset);
      return n;
    },
    async close() {
      reader.closed = true;
    },
  };
  return reader;
}

function entry(name: string, data: Buffer, withReader: boolean, step?: number): ArchiveEntrySource {
  return {
    name,
    size: data.length,
    modifiedAt: new Date('2025-07-01T12:00:00Z'),
    open: async () => Readable.from([data]),
    ...(withReader ? { openReader: async () => bufferReader(data, step) } : {}),
  };
}

/**
 * An output that completes each write (or batch, with writev) only after a delay, and checks at that moment
 * that the chunk still holds what it held when handed to write(): a refilled buffer shows up as a difference.
 */
function lateOutput(): Writable & { bytes: () => Buffer; corrupted: number } {
  const received: Buffer[] = [];
  const check = async (chunks: { chunk: Buffer; copy: Buffer }[]) => {
    await sleep(5);
    for (const { chunk, copy } of chunks) {
      if (!chunk.equals(copy)) out.corrupted++;
      received.push(copy);
    }
  };
  const out = new Writable({
    highWaterMark: 4 * 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      check([{ chunk, copy: Buffer.from(chunk) }]).then(() => callback(), callback);
    },
    writev(chunks, callback) {
      check(chunks.map(({ chunk }) => ({ chunk: chunk as Buffer, copy: Buffer.from(chunk as Buffer) }))).then(
        () => callback(),
        callback,
      );
    },
  }) as Writable & { bytes: () => Buffer; corrupted: number };
  out.corrupted = 0;
  out.bytes = () => Buffer.concat(received);
  return out;
}

describe('writeZip with reused buffers', () => {
  const files = [
    randomBytes(3 * 1024 * 1024 + 17),
    randomBytes(0),
    randomBytes(5),
    randomBytes(2 * 1024 * 1024),
    randomBytes(1024 * 1024 - 3),
    randomBytes(6 * 1024 * 1024 + 1),
  ];
  const entries = (withReaders: (i: number) => boolean, step?: number) =>
    files.map((data, i) => entry(`f${i}.bin`, data, withReaders(i), step));

  it('should never refill a buffer whose write is pending, and write the same archive as the streaming mode', async () => {
    const plain = lateOutput();
    await writeZip(
      entries(() => false),
      plain,
    );
    for (const step of [undefined, 100_000]) {
      const out = lateOutput();
      // readers and streams mixed: a stream's chunks are copied into the same buffers
      const result = await writeZip(
        entries((i) => i % 2 === 0, step),
        out,
        { reuseBuffers: true },
      );
      expect(out.corrupted).toBe(0);
      expect(out.bytes().equals(plain.bytes())).toBe(true);
      expect(result.bytesWritten).toBe(out.bytes().length);
    }
  });

  it('should write an archive the usual readers accept, through a file stream', async () => {
    const archive = join(tmp.dir, 'reused.zip');
    const out = createWriteStream(archive);
    await writeZip(
      entries(() => true),
      out,
      { reuseBuffers: true },
    );
    await new Promise<void>((resolve) => (out.closed ? resolve() : out.once('close', () => resolve())));
    expect((await readFile(archive)).length).toBeGreaterThan(12 * 1024 * 1024);
    await checkWithReaders(
      archive,
      files.map((data, i) => expectedFromBuffer(`f${i}.bin`, data)),
    );
  });

  it('should refuse a reader whose size differs from the declared one, and one that ends early', async () => {
    const data = randomBytes(1000);
    const bigger: ArchiveEntrySource = { ...entry('big.bin', data, true), size: 999 };
    const error = await writeZip([bigger], lateOutput(), { reuseBuffers: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'EntrySizeMismatchError', expectedSize: 999, actualSize: 1000 });

    const reader = bufferReader(data);
    const short: ArchiveEntrySource = {
      ...entry('short.bin', data, false),
      openReader: async () => ({
        ...reader,
        size: 1000,
        read: (b, o, l, p) => reader.read(b, o, Math.min(l, 600 - p), p),
      }),
    };
    const out = lateOutput();
    const shortError = await writeZip([short], out, { reuseBuffers: true }).catch((e: unknown) => e);
    expect(shortError).toBeInstanceOf(EntrySizeMismatchError);
    expect(shortError).toMatchObject({ expectedSize: 1000, actualSize: 600 });
    expect(out.destroyed).toBe(true);
    expect(out.writableFinished).toBe(false);
  });

  it('should close every reader, the ones opened ahead too, when the output fails', async () => {
    const readers: (EntryReader & { closed: boolean })[] = [];
    const sources = files.map((data, i) => ({
      ...entry(`f${i}.bin`, data, false),
      openReader: async () => {
        const reader = bufferReader(data);
        readers.push(reader);
        return reader;
      },
    }));
    const out = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk gone'));
      },
    });
    out.on('error', () => {});
    await expect(writeZip(sources, out, { reuseBuffers: true })).rejects.toThrow('disk gone');
    await sleep(10);
    expect(readers.length).toBeGreaterThan(0);
    expect(readers.every((r) => r.closed)).toBe(true);
  });
});
