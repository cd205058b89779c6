/**
 * Test helpers for the archive engine: in-memory and generated sources, and the three independent
 * readers (Info-ZIP `unzip -t`, `7z t`, Python's `zipfile`) every archive of the tests goes through.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import type { ArchiveEntrySource, ArchiveResult } from '../../src/archive/index.ts';
import { writeZip } from '../../src/archive/index.ts';

export interface ExpectedEntry {
  name: string;
  size: number;
  crc: number;
  /** DOS date/time as Python's zipfile reports it. */
  dateTime?: [number, number, number, number, number, number];
}

const CHECK_ZIP_PY = fileURLToPath(new URL('./check_zip.py', import.meta.url));
const READER_ENV = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };

export async function makeTempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `immish-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function bufferSource(
  name: string,
  data: Buffer,
  modifiedAt = new Date('2024-05-06T07:08:09Z'),
): ArchiveEntrySource {
  return { name, size: data.length, modifiedAt, open: async () => Readable.from([data]) };
}

export function expectedFromBuffer(name: string, data: Buffer): ExpectedEntry {
  return { name, size: data.length, crc: crc32(data) };
}

const BLOCK_SIZE = 1024 * 1024;
const blocks = new Map<number, Buffer>();

/** A deterministic pseudo-random 1 MiB block per seed (xorshift32). */
function patternBlock(seed: number): Buffer {
  let block = blocks.get(seed);
  if (!block) {
    block = Buffer.allocUnsafe(BLOCK_SIZE);
    let x = (seed * 2654435761) >>> 0 || 1;
    for (let i = 0; i < BLOCK_SIZE; i += 4) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      block.writeUInt32LE(x, i);
    }
    blocks.set(seed, block);
  }
  return block;
}

/** A readable delivering `size` bytes of the seed's pattern (plus `extra` bytes beyond, to simulate a lying source). */
export function patternStream(size: number, seed: number): Readable {
  const block = patternBlock(seed);
  let remaining = size;
  return new Readable({
    highWaterMark: BLOCK_SIZE,
    read() {
      if (remaining <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(remaining, BLOCK_SIZE);
      remaining -= n;
      this.push(n === BLOCK_SIZE ? block : block.subarray(0, n));
    },
  });
}

export function patternSource(
  name: string,
  size: number,
  seed: number,
  modifiedAt = new Date('2024-05-06T07:08:09Z'),
): ArchiveEntrySource {
  return { name, size, modifiedAt, open: async () => patternStream(size, seed) };
}

export function patternCrc(size: number, seed: number): number {
  const block = patternBlock(seed);
  let crc = 0;
  for (let done = 0; done < size; done += BLOCK_SIZE) {
    const n = Math.min(size - done, BLOCK_SIZE);
    crc = crc32(n === BLOCK_SIZE ? block : block.subarray(0, n), crc);
  }
  return crc;
}

export async function writeZipToFile(
  entries: Iterable<ArchiveEntrySource> | AsyncIterable<ArchiveEntrySource>,
  path: string,
): Promise<ArchiveResult & { fileSize: number }> {
  const result = await writeZip(entries, createWriteStream(path, { highWaterMark: 1024 * 1024 }));
  return { ...result, fileSize: (await stat(path)).size };
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: READER_ENV, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
  });
}

export interface ReaderReport {
  unzip: RunResult;
  sevenZip: RunResult;
  python: RunResult & { entries: number };
}

/** What each entry's central-directory record says, as a reader lists it: name, size, CRC-32. */
interface ListedEntry {
  name: string;
  size: number;
  crc: number;
}

/** `unzip -Zv` (zipinfo, verbose): each entry's name, uncompressed size and CRC-32 as Info-ZIP reads them. */
function zipinfoEntries(stdout: string): ListedEntry[] {
  const out: ListedEntry[] = [];
  for (const block of stdout.split(/^Central directory entry #\d+:\n-+\n/m).slice(1)) {
    // the first line is the name; zipinfo may put a note first, the previous entry's data descriptor counted as
    // "extra bytes preceding this file" (it says so of every entry after one with a descriptor)
    const lines = block.split('\n').map((line) => line.trim());
    const name = lines.find(
      (line) => line !== '' && !/^There are an extra \d+ bytes preceding this file\.$/.test(line),
    );
    const size = /uncompressed size:\s+(\d+) bytes/.exec(block)?.[1];
    const crc = /32-bit CRC value \(hex\):\s+([0-9a-f]{8})/.exec(block)?.[1];
    out.push({ name: name ?? '', size: Number(size ?? -1), crc: crc ? Number.parseInt(crc, 16) : -1 });
  }
  return out;
}

/** `7z l -slt`: each entry's path, size and CRC-32 as 7-Zip reads them. */
function sevenZipEntries(stdout: string): ListedEntry[] {
  return stdout
    .split(/\n\n/)
    .filter((block) => /^Path = /m.test(block) && /^Size = /m.test(block))
    .map((block) => ({
      name: /^Path = (.*)$/m.exec(block)![1]!,
      size: Number(/^Size = (\d+)$/m.exec(block)![1]),
      crc: Number.parseInt(/^CRC = ([0-9A-Fa-f]{8})$/m.exec(block)?.[1] ?? '-1', 16),
    }));
}

function listedAsExpected(reader: string, listed: ListedEntry[], expected: ExpectedEntry[]): string | undefined {
  const want = expected.map((e) => ({ name: e.name, size: e.size, crc: e.crc >>> 0 }));
  const got = JSON.stringify(listed);
  return got === JSON.stringify(want)
    ? undefined
    : `${reader} lists ${got.slice(0, 2000)}, expected ${JSON.stringify(want)}`;
}

/**
 * Runs the three readers on `archive` (in parallel) and throws with their output unless all of them
 * accept it and Python finds exactly the expected names, sizes and CRC-32s.
 *
 * `reads: 'python'` (for a second multi-GiB archive whose point is its headers): Python's zipfile still reads
 * and checks every byte, while Info-ZIP (`unzip -Zv`) and 7-Zip (`7z l -slt`) read the central directory only and
 * must list exactly the expected names, sizes and CRC-32s; reading 4 GiB three times over cost the suite ~20 s of
 * CPU and tested nothing about the headers that one full read does not.
 */
export async function checkWithReaders(
  archive: string,
  expected: ExpectedEntry[],
  opts: { reads?: 'all' | 'python' } = {},
): Promise<ReaderReport> {
  const expectedPath = `${archive}.expected.json`;
  await writeFile(expectedPath, JSON.stringify(expected));
  const full = opts.reads !== 'python';
  try {
    const [unzip, sevenZip, python] = await Promise.all([
      run('unzip', full ? ['-tq', archive] : ['-Zv', archive]),
      run('7z', full ? ['t', '-bd', archive] : ['l', '-slt', '-ba', archive]),
      run('python3', [CHECK_ZIP_PY, archive, expectedPath]),
    ]);
    const failures: string[] = [];
    if (full && (unzip.code !== 0 || !unzip.stdout.includes('No errors detected'))) {
      failures.push(`unzip -t (exit ${unzip.code}):\n${unzip.stdout.slice(-2000)}${unzip.stderr.slice(-2000)}`);
    }
    if (
      full &&
      (sevenZip.code !== 0 ||
        !sevenZip.stdout.includes('Everything is Ok') ||
        /warning|error/i.test(sevenZip.stdout + sevenZip.stderr))
    ) {
      failures.push(`7z t (exit ${sevenZip.code}):\n${sevenZip.stdout.slice(-2000)}${sevenZip.stderr.slice(-2000)}`);
    }
    if (!full) {
      if (unzip.code !== 0) failures.push(`unzip -Zv (exit ${unzip.code}): ${unzip.stderr.slice(-2000)}`);
      else {
        const wrong = listedAsExpected('unzip -Zv', zipinfoEntries(unzip.stdout), expected);
        if (wrong) failures.push(wrong);
      }
      if (sevenZip.code !== 0 || /warning|error/i.test(sevenZip.stdout + sevenZip.stderr)) {
        failures.push(`7z l (exit ${sevenZip.code}):\n${sevenZip.stdout.slice(-2000)}${sevenZip.stderr.slice(-2000)}`);
      } else {
        const wrong = listedAsExpected('7z l', sevenZipEntries(sevenZip.stdout), expected);
        if (wrong) failures.push(wrong);
      }
    }
    let entries = -1;
    try {
      const summary = JSON.parse(python.stdout) as { entries: number; problems: string[] };
      entries = summary.entries;
      if (python.code !== 0 || summary.problems.length > 0)
        failures.push(`python zipfile:\n${summary.problems.join('\n')}`);
    } catch {
      failures.push(
        `python zipfile (exit ${python.code}):\n${python.stdout.slice(-2000)}${python.stderr.slice(-2000)}`,
      );
    }
    if (failures.length > 0) throw new Error(`archive ${archive} rejected:\n${failures.join('\n\n')}`);
    return { unzip, sevenZip, python: { ...python, entries } };
  } finally {
    await rm(expectedPath, { force: true });
  }
}

/** Entry names as listed by Info-ZIP's `zipinfo -1` (a second opinion on the names). */
export async function unzipNames(archive: string): Promise<string[]> {
  const { code, stdout, stderr } = await run('unzip', ['-Z1', archive]);
  if (code !== 0) throw new Error(`unzip -Z1 failed: ${stderr}`);
  return stdout.split('\n').filter((line) => line !== '');
}

/** Entry names as listed by 7-Zip (`7z l -slt`). */
export async function sevenZipNames(archive: string): Promise<string[]> {
  const { code, stdout, stderr } = await run('7z', ['l', '-slt', '-ba', archive]);
  if (code !== 0) throw new Error(`7z l failed: ${stderr}`);
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('Path = '))
    .map((line) => line.slice('Path = '.length));
}
