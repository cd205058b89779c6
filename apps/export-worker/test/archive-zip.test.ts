import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ArchiveEntrySource,
  ArchiveError,
  EntrySizeMismatchError,
  predictZipSize,
  toEntryNames,
  writeZip,
} from '../src/archive/index.ts';
import {
  bufferSource,
  checkWithReaders,
  type ExpectedEntry,
  expectedFromBuffer,
  makeTempDir,
  patternCrc,
  patternSource,
  patternStream,
  sevenZipNames,
  unzipNames,
  writeZipToFile,
} from './fixtures-archive/readers.ts';

const run = promisify(execFile);

let tmp: { dir: string; remove: () => Promise<void> };
beforeEach(async () => {
  tmp = await makeTempDir('archive-zip');
});
afterEach(async () => {
  await tmp.remove();
});

/** A writable that only counts what it receives (for tests about failures, where no archive is kept). */
function countingSink(): Writable & { received: number } {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      sink.received += chunk.length;
      callback();
    },
  }) as Writable & { received: number };
  sink.received = 0;
  return sink;
}

function tinyFile(i: number): Buffer {
  return Buffer.from(`photo ${i}\n`.repeat(i % 7));
}

describe('writeZip', () => {
  it('should write sanitized, unique Unicode names and files of various sizes readable by unzip, 7z and Python', async () => {
    const nfc = 'Ünïcödé 東京 📷.jpg';
    const raw: { name: string; size: number }[] = [
      { name: nfc, size: 123_456 },
      { name: nfc.normalize('NFD'), size: 1 },
      { name: 'empty.txt', size: 0 },
      { name: 'holiday/beach.jpg', size: 3 * 1024 * 1024 + 17 },
      { name: '../../etc/passwd', size: 10 },
      { name: 'C:\\Users\\me\\photo.jpg', size: 2048 },
      { name: 'bad\u0000na\tme\u0007\u007f\u0085.png', size: 65_536 },
      { name: 'IMG_0001.JPG', size: 1000 },
      { name: 'img_0001.jpg', size: 1001 },
      { name: 'IMG_0001.JPG', size: 1002 },
      { name: '.hidden.jpg', size: 5 },
      { name: '..', size: 6 },
      { name: `${'long name '.repeat(30)}.mov`, size: 7 },
    ];
    const names = toEntryNames(raw.map((r) => r.name));
    expect(names).toEqual([
      nfc,
      'Ünïcödé 東京 📷 (1).jpg',
      'empty.txt',
      'holiday_beach.jpg',
      'etc_passwd',
      'C__Users_me_photo.jpg',
      'badname.png',
      'IMG_0001.JPG',
      'img_0001 (1).jpg',
      'IMG_0001 (2).JPG',
      'hidden.jpg',
      'file',
      `${'long name '.repeat(25)}l.mov`,
    ]);
    const modifiedAt = new Date('2024-05-06T07:08:09Z');
    const files = raw.map((r, i) => {
      const data = Buffer.alloc(r.size);
      for (let j = 0; j < data.length; j++) data[j] = (i * 31 + j * 7) & 0xff;
      return { name: names[i]!, data };
    });
    const entries: ArchiveEntrySource[] = files.map((f) => bufferSource(f.name, f.data, modifiedAt));
    // One entry from before 1980, which DOS dates cannot hold.
    const old = Buffer.from('scanned in 1975');
    entries.push(bufferSource('old scan.tif', old, new Date('1975-06-01T12:00:00Z')));
    const expected: ExpectedEntry[] = [
      ...files.map((f) => ({
        ...expectedFromBuffer(f.name, f.data),
        dateTime: [2024, 5, 6, 7, 8, 8] as ExpectedEntry['dateTime'],
      })),
      { ...expectedFromBuffer('old scan.tif', old), dateTime: [1980, 1, 1, 0, 0, 0] },
    ];

    const archive = join(tmp.dir, 'mixed.zip');
    const result = await writeZipToFile(entries, archive);

    expect(result).toMatchObject({ entryCount: expected.length, zip64: false });
    expect(result.fileSize).toBe(result.bytesWritten);
    expect(predictZipSize(expected)).toBe(result.fileSize);
    await checkWithReaders(archive, expected);
    expect(await unzipNames(archive)).toEqual(expected.map((e) => e.name));
    expect(await sevenZipNames(archive)).toEqual(expected.map((e) => e.name));

    // Extracted, every file lands flat in the target folder with its content.
    const target = join(tmp.dir, 'extracted');
    await run('unzip', ['-q', archive, '-d', target], { env: { ...process.env, LANG: 'C.UTF-8' } });
    expect((await readdir(target)).sort()).toEqual(expected.map((e) => e.name).sort());
    expect((await readdir(tmp.dir)).sort()).toEqual(['extracted', 'mixed.zip']);
    expect(await readFile(join(target, 'holiday_beach.jpg'))).toEqual(files[3]!.data);
    expect((await stat(join(target, nfc))).mtime.toISOString()).toBe('2024-05-06T07:08:09.000Z');
  });

  it('should write 70,000 tiny files with a ZIP64 entry count', { timeout: 120_000 }, async () => {
    const count = 70_000;
    const archive = join(tmp.dir, 'many.zip');
    function* sources(): Generator<ArchiveEntrySource> {
      for (let i = 0; i < count; i++) yield bufferSource(`IMG_${String(i).padStart(5, '0')}.jpg`, tinyFile(i));
    }
    const result = await writeZipToFile(sources(), archive);

    const expected = Array.from({ length: count }, (_, i) =>
      expectedFromBuffer(`IMG_${String(i).padStart(5, '0')}.jpg`, tinyFile(i)),
    );
    expect(result).toMatchObject({ entryCount: count, zip64: true });
    expect(predictZipSize(expected)).toBe(result.fileSize);
    const report = await checkWithReaders(archive, expected);
    expect(report.python.entries).toBe(count);
  });

  it('should use the ZIP64 end record from exactly 65,535 entries and not below', { timeout: 120_000 }, async () => {
    for (const count of [65_534, 65_535]) {
      const archive = join(tmp.dir, `boundary-${count}.zip`);
      const names = Array.from({ length: count }, (_, i) => `${i}.jpg`);
      const result = await writeZipToFile(
        names.map((name, i) => bufferSource(name, tinyFile(i))),
        archive,
      );
      expect(result.zip64).toBe(count === 65_535);
      const expected = names.map((name, i) => expectedFromBuffer(name, tinyFile(i)));
      expect(predictZipSize(expected)).toBe(result.fileSize);
      await checkWithReaders(archive, expected);
    }
  });

  it('should accept an async iterable of entries and report progress', async () => {
    const sizes = [0, 5_000_000, 1, 700_000];
    async function* sources(): AsyncGenerator<ArchiveEntrySource> {
      for (const [i, size] of sizes.entries()) yield patternSource(`part-${i}.bin`, size, i + 1);
    }
    const progress: number[] = [];
    const archive = join(tmp.dir, 'async.zip');
    const result = await writeZip(sources(), createWriteStream(archive), { onProgress: (done) => progress.push(done) });

    const total = sizes.reduce((a, b) => a + b, 0);
    expect(progress.at(-1)).toBe(total);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    const expected = await Promise.all(
      sizes.map(async (size, i) => {
        let crc = 0;
        for await (const chunk of patternStream(size, i + 1)) crc = crc32(chunk as Buffer, crc);
        return { name: `part-${i}.bin`, size, crc };
      }),
    );
    expect(predictZipSize(expected)).toBe(result.bytesWritten);
    expect((await stat(archive)).size).toBe(result.bytesWritten);
    await checkWithReaders(archive, expected);
  });

  it('should read sources handed over paused or as object-mode streams of buffers', async () => {
    const data = Buffer.from('from a generator');
    const entries: ArchiveEntrySource[] = [
      { name: 'paused.bin', size: 3000, modifiedAt: new Date(), open: async () => patternStream(3000, 7).pause() },
      {
        ...bufferSource('generator.txt', data),
        open: async () =>
          Readable.from(
            (function* () {
              yield data.subarray(0, 5);
              yield data.subarray(5);
            })(),
          ),
      },
    ];
    const archive = join(tmp.dir, 'sources.zip');
    const result = await writeZipToFile(entries, archive);
    const expected = [
      { name: 'paused.bin', size: 3000, crc: patternCrc(3000, 7) },
      expectedFromBuffer('generator.txt', data),
    ];
    expect(result.fileSize).toBe(predictZipSize(expected));
    await checkWithReaders(archive, expected);
  });

  it('should write a valid empty archive', async () => {
    const archive = join(tmp.dir, 'empty.zip');
    const result = await writeZipToFile([], archive);
    expect(result).toMatchObject({ bytesWritten: 22, entryCount: 0, zip64: false, fileSize: 22 });
    expect(predictZipSize([])).toBe(22);
    // Info-ZIP reports an empty archive with a warning (exit 1) by design; 7z and Python accept it.
    const unzip = await run('unzip', ['-tq', archive]).catch((error: { code: number; stdout: string }) => error);
    expect(unzip.stdout).toContain('zipfile is empty');
    const { stdout } = await run('7z', ['t', '-bd', archive]);
    expect(stdout).toContain('Everything is Ok');
    const python = await run('python3', [
      '-c',
      'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None and z.namelist() == []',
      archive,
    ]);
    expect(python.stderr).toBe('');
  });

  it('should leave the output open with end: false, everything written', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    const data = Buffer.from('kept open');
    const result = await writeZip([bufferSource('a.txt', data)], out, { end: false });
    expect(out.writableEnded).toBe(false);
    out.end();
    await new Promise((resolve) => out.on('end', resolve));
    const archive = join(tmp.dir, 'open.zip');
    const bytes = Buffer.concat(chunks);
    expect(bytes.length).toBe(result.bytesWritten);
    await writeFile(archive, bytes);
    await checkWithReaders(archive, [expectedFromBuffer('a.txt', data)]);
  });
});

describe('writeZip failures', () => {
  it('should reject a source that delivers fewer bytes than declared, and never finish the output', async () => {
    const out = countingSink();
    const entries = [
      bufferSource('ok.jpg', Buffer.alloc(100)),
      { ...bufferSource('short.jpg', Buffer.alloc(999)), size: 1000 },
    ];
    const error = await writeZip(entries, out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntrySizeMismatchError);
    expect((error as EntrySizeMismatchError).message).toBe(
      'entry "short.jpg": the source delivered 999 of 1000 declared bytes',
    );
    expect(error).toMatchObject({ entryName: 'short.jpg', expectedSize: 1000, actualSize: 999 });
    expect(out.destroyed).toBe(true);
    expect(out.writableFinished).toBe(false);
  });

  it('should reject a source that delivers more bytes than declared before writing the excess', async () => {
    const out = countingSink();
    const size = 3 * 1024 * 1024;
    const entry: ArchiveEntrySource = {
      name: 'long.mov',
      size,
      modifiedAt: new Date(),
      open: async () => patternStream(size + 1, 9),
    };
    const error = await writeZip([entry], out).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EntrySizeMismatchError);
    expect((error as Error).message).toBe(`entry "long.mov": the source delivered more than ${size} declared bytes`);
    expect(out.received).toBeLessThanOrEqual(size + 100);
    expect(out.writableFinished).toBe(false);
  });

  it('should close a file output without finishing it when the archive fails', async () => {
    const archive = join(tmp.dir, 'failed.zip');
    const out = createWriteStream(archive);
    const entries = [{ ...bufferSource('x.jpg', Buffer.alloc(10)), size: 11 }];
    await expect(writeZip(entries, out)).rejects.toThrow(EntrySizeMismatchError);
    await new Promise<void>((resolve) => {
      if (out.closed) resolve();
      else out.on('close', () => resolve());
    });
    expect(out.writableFinished).toBe(false);
    expect(out.closed).toBe(true);
  });

  it('should reject with the source error when a source fails mid-stream', async () => {
    const out = countingSink();
    const entry: ArchiveEntrySource = {
      name: 'broken.jpg',
      size: 1000,
      modifiedAt: new Date(),
      open: async () =>
        new Readable({
          read() {
            this.push(Buffer.alloc(100));
            this.destroy(new Error('storage read failed'));
          },
        }),
    };
    await expect(writeZip([entry], out)).rejects.toThrow('storage read failed');
    expect(out.destroyed).toBe(true);
  });

  it('should reject when the output fails', async () => {
    const out = new Writable({
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    await expect(writeZip([patternSource('a.bin', 5_000_000, 1)], out)).rejects.toThrow('disk full');
  });

  it('should reject with the output error while the output is still closing (a file stream on a full disk)', async () => {
    // Like fs.WriteStream: destroyed at once, its 'error' event only after the file is closed; a large buffer so
    // the archive keeps writing without waiting for 'drain' in between.
    const out = new Writable({
      highWaterMark: 64 * 1024 * 1024,
      write(_chunk, _encoding, callback) {
        setImmediate(() => callback(Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })));
      },
      destroy(error, callback) {
        setTimeout(() => callback(error), 50);
      },
    });
    // A source that hands its chunks over a few milliseconds apart, as a storage read does.
    let left = 20;
    const slow: ArchiveEntrySource = {
      name: 'a.bin',
      size: 20 * 65_536,
      modifiedAt: new Date('2024-05-06T07:08:09Z'),
      open: async () =>
        new Readable({
          read() {
            setTimeout(() => this.push(left-- > 0 ? Buffer.alloc(65_536, 7) : null), 2);
          },
        }),
    };
    await expect(writeZip([slow], out)).rejects.toMatchObject({ code: 'ENOSPC' });
  });

  it('should stop reading and reject when aborted', async () => {
    const controller = new AbortController();
    const source = patternStream(50 * 1024 * 1024, 2);
    const entry: ArchiveEntrySource = {
      name: 'big.bin',
      size: 50 * 1024 * 1024,
      modifiedAt: new Date(),
      open: async () => source,
    };
    const out = countingSink();
    const written = writeZip([entry], out, {
      signal: controller.signal,
      onProgress: (done) => {
        if (done >= 2 * 1024 * 1024) controller.abort(new Error('export cancelled'));
      },
    });
    await expect(written).rejects.toThrow('export cancelled');
    expect(source.destroyed).toBe(true);
    expect(out.destroyed).toBe(true);
    expect(out.received).toBeLessThan(10 * 1024 * 1024);
  });

  it('should reject with the default abort reason when aborted before starting', async () => {
    const controller = new AbortController();
    controller.abort();
    const opened: string[] = [];
    const entry = {
      ...bufferSource('a.jpg', Buffer.alloc(10)),
      open: async () => {
        opened.push('a');
        return Readable.from([]);
      },
    };
    await expect(writeZip([entry], countingSink(), { signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(opened).toEqual([]);
  });

  it('should reject, not crash, when a file opened ahead does not exist', async () => {
    const missing = join(tmp.dir, 'missing.jpg');
    const entries: ArchiveEntrySource[] = [
      patternSource('first.bin', 4 * 1024 * 1024, 1),
      { name: 'missing.jpg', size: 10, modifiedAt: new Date(), open: async () => createReadStream(missing) },
    ];
    const out = countingSink();
    await expect(writeZip(entries, out)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(out.writableFinished).toBe(false);
  });

  it('should refuse unsafe and duplicate entry names', async () => {
    await expect(writeZip([bufferSource('../evil.jpg', Buffer.alloc(1))], countingSink())).rejects.toThrow(
      ArchiveError,
    );
    await expect(writeZip([bufferSource('dir/a.jpg', Buffer.alloc(1))], countingSink())).rejects.toThrow(
      /not a safe entry name/,
    );
    await expect(
      writeZip([bufferSource('A.jpg', Buffer.alloc(1)), bufferSource('a.JPG', Buffer.alloc(1))], countingSink()),
    ).rejects.toThrow('entry name "a.JPG" is used twice');
    await expect(writeZip([{ ...bufferSource('a.jpg', Buffer.alloc(1)), size: -1 }], countingSink())).rejects.toThrow(
      /not a byte count/,
    );
  });
});

describe('writeZip open-ahead', () => {
  function trackedEntries(count: number, log: string[], streams: Readable[]): ArchiveEntrySource[] {
    return Array.from({ length: count }, (_, i) => ({
      name: `${i}.bin`,
      size: 1000,
      modifiedAt: new Date(),
      open: async () => {
        log.push(`open ${i}`);
        let sent = false;
        const stream = new Readable({
          read() {
            if (!sent) log.push(`read ${i}`);
            this.push(sent ? null : Buffer.alloc(1000, i));
            sent = true;
          },
        });
        streams.push(stream);
        return stream;
      },
    }));
  }

  it('should open the next entry while the current one is written, and no further', async () => {
    const log: string[] = [];
    const streams: Readable[] = [];
    await writeZip(trackedEntries(4, log, streams), countingSink());
    expect(log).toEqual(['open 0', 'open 1', 'read 0', 'open 2', 'read 1', 'open 3', 'read 2', 'read 3']);
    expect(streams.every((stream) => stream.destroyed)).toBe(true);
  });

  it('should open each entry only when its turn comes with openAhead 0', async () => {
    const log: string[] = [];
    await writeZip(trackedEntries(3, log, []), countingSink(), { openAhead: 0 });
    expect(log).toEqual(['open 0', 'read 0', 'open 1', 'read 1', 'open 2', 'read 2']);
  });

  it('should destroy the sources opened ahead when the archive fails', async () => {
    const log: string[] = [];
    const streams: Readable[] = [];
    const entries = trackedEntries(3, log, streams);
    entries[0] = { ...entries[0]!, size: 999 };
    await expect(writeZip(entries, countingSink(), { openAhead: 2 })).rejects.toThrow(EntrySizeMismatchError);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.filter((line) => line.startsWith('open'))).toEqual(['open 0', 'open 1', 'open 2']);
    expect(streams.every((stream) => stream.destroyed)).toBe(true);
  });
});

describe('writeZip backpressure', () => {
  it('should never read far ahead of a slow output', async () => {
    const size = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 1);
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const source = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (produced >= size) {
          this.push(null);
          return;
        }
        produced += chunk.length;
        maxAhead = Math.max(maxAhead, produced - consumed);
        this.push(chunk);
      },
    });
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(data: Buffer, _encoding, callback) {
        setImmediate(() => {
          consumed += data.length;
          callback();
        });
      },
    });
    const result = await writeZip([{ name: 'slow.bin', size, modifiedAt: new Date(), open: async () => source }], slow);
    expect(result.bytesWritten).toBe(predictZipSize([{ name: 'slow.bin', size }]));
    expect(consumed).toBe(result.bytesWritten);
    // Bounded by the source's and the output's buffers, not by the entry size.
    expect(maxAhead).toBeLessThanOrEqual(512 * 1024);
  });
});
