import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { predictZipSize } from '../src/archive/index.ts';
import {
  checkWithReaders,
  makeTempDir,
  patternCrc,
  patternSource,
  writeZipToFile,
} from './fixtures-archive/readers.ts';

// Archives over 4 GiB built from generated content (no large source file): each is written to a
// temp file, checked by unzip -t, 7z t and Python's zipfile, then deleted. The second archive's point is its
// headers (a size of exactly 0xFFFFFFFF): Python reads every byte of it, unzip and 7z list its central directory.

let tmp: { dir: string; remove: () => Promise<void> };
beforeEach(async () => {
  tmp = await makeTempDir('archive-zip64');
});
afterEach(async () => {
  await tmp.remove();
});

const GiB = 2 ** 30;

async function writeAndCheck(specs: { name: string; size: number; seed: number }[], reads: 'all' | 'python' = 'all') {
  const archive = join(tmp.dir, 'large.zip');
  const result = await writeZipToFile(
    specs.map((s) => patternSource(s.name, s.size, s.seed)),
    archive,
  );
  expect(result.fileSize).toBe(result.bytesWritten);
  expect(predictZipSize(specs)).toBe(result.fileSize);
  const expected = specs.map((s) => ({ name: s.name, size: s.size, crc: patternCrc(s.size, s.seed) }));
  const report = await checkWithReaders(archive, expected, { reads });
  expect(report.python.entries).toBe(specs.length);
  expect(report.sevenZip.stdout).toContain('Characteristics = Zip64');
  return result;
}

describe('writeZip ZIP64', () => {
  it('should write a 4.2 GiB entry followed by entries whose offsets pass 4 GiB', { timeout: 240_000 }, async () => {
    const result = await writeAndCheck([
      { name: 'video 4.2 GiB.mov', size: Math.floor(4.2 * GiB), seed: 1 },
      { name: 'after the big one.jpg', size: 3 * 1024 * 1024 + 5, seed: 2 },
      { name: 'empty.txt', size: 0, seed: 3 },
    ]);
    expect(result).toMatchObject({ entryCount: 3, zip64: true });
    expect(result.bytesWritten).toBeGreaterThan(4.2 * GiB);
  });

  it('should use ZIP64 sizes for an entry of exactly 0xFFFFFFFF bytes', { timeout: 240_000 }, async () => {
    const result = await writeAndCheck(
      [
        { name: 'edge.bin', size: 0xffffffff, seed: 4 },
        { name: 'next.bin', size: 1000, seed: 5 },
      ],
      'python',
    );
    expect(result).toMatchObject({ entryCount: 2, zip64: true });
  });
});
