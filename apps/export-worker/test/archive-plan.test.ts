import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planArchive, planParts, predictZipSize } from '../src/archive/index.ts';
import {
  bufferSource,
  checkWithReaders,
  expectedFromBuffer,
  makeTempDir,
  writeZipToFile,
} from './fixtures-archive/readers.ts';

let tmp: { dir: string; remove: () => Promise<void> };
beforeEach(async () => {
  tmp = await makeTempDir('archive-plan');
});
afterEach(async () => {
  await tmp.remove();
});

const GiB = 2 ** 30;

describe('predictZipSize', () => {
  it('should give the size of the empty archive and of one small entry', () => {
    expect(predictZipSize([])).toBe(22);
    // local header 30 + name + 9 (timestamp) + data + descriptor 16; central header 46 + name + 9; end record 22
    expect(predictZipSize([{ name: 'a.jpg', size: 1000 }])).toBe(30 + 5 + 9 + 1000 + 16 + 46 + 5 + 9 + 22);
    expect(predictZipSize([{ name: '東京.jpg', size: 0 }])).toBe(30 + 10 + 9 + 16 + 46 + 10 + 9 + 22);
  });

  it('should switch an entry to ZIP64 from 0xFFFFFFFF bytes on', () => {
    const small = predictZipSize([{ name: 'a', size: 0xfffffffe }]);
    const sentinel = predictZipSize([{ name: 'a', size: 0xffffffff }]);
    // + 1 data byte, + 20 local ZIP64 extra, + 8 descriptor, + 28 central ZIP64 extra (sizes and offset);
    // both need the ZIP64 end record, their central directory starting past 0xFFFFFFFF
    expect(sentinel - small).toBe(1 + 20 + 8 + 28);
    expect(small).toBe(30 + 1 + 9 + 0xfffffffe + 16 + 46 + 1 + 9 + 76 + 22);
  });

  it('should give entries starting past 4 GiB a central ZIP64 extra field', () => {
    const first = { name: 'a', size: 5 * GiB };
    const one = predictZipSize([first]);
    const two = predictZipSize([first, { name: 'b', size: 1 }]);
    // local 30 + 1 + 9, data 1, descriptor 16; central 46 + 1 + 9 + ZIP64 extra 4 + 24 (sizes and offset)
    expect(two - one).toBe(30 + 1 + 9 + 1 + 16 + 46 + 1 + 9 + 28);
  });

  it('should add the ZIP64 end of central directory from 65,535 entries on', () => {
    const entries = (n: number) => Array.from({ length: n }, () => ({ name: 'x', size: 0 }));
    const perEntry = 30 + 1 + 9 + 16 + 46 + 1 + 9;
    expect(predictZipSize(entries(65_534))).toBe(65_534 * perEntry + 22);
    expect(predictZipSize(entries(65_535))).toBe(65_535 * perEntry + 22 + 76);
  });
});

describe('planParts', () => {
  it('should return no part for no entries and one part without a maximum', () => {
    expect(planParts([])).toEqual([]);
    expect(planParts([], 100)).toEqual([]);
    const entries = [
      { name: 'a', size: 10 ** 12 },
      { name: 'b', size: 1 },
    ];
    expect(planParts(entries)).toEqual([entries]);
  });

  it('should refuse a non-positive maximum', () => {
    expect(() => planParts([{ name: 'a', size: 1 }], 0)).toThrow(RangeError);
    expect(() => planParts([{ name: 'a', size: 1 }], Number.NaN)).toThrow(RangeError);
  });

  it('should give a file larger than the maximum a part of its own, keeping order', () => {
    const entries = [
      { name: 'a.jpg', size: 100 },
      { name: 'huge.mov', size: 10_000 },
      { name: 'b.jpg', size: 100 },
      { name: 'c.jpg', size: 100 },
    ];
    const parts = planParts(entries, 1000);
    expect(parts).toEqual([[entries[0]], [entries[1]], [entries[2], entries[3]]]);
    expect(predictZipSize(parts[1]!)).toBeGreaterThan(1000);
  });

  it('should fill a part up to exactly the maximum', () => {
    const entries = [
      { name: 'a.jpg', size: 100 },
      { name: 'b.jpg', size: 100 },
      { name: 'c.jpg', size: 100 },
    ];
    const exact = predictZipSize(entries.slice(0, 2));
    expect(planParts(entries, exact).map((p) => p.length)).toEqual([2, 1]);
    expect(planParts(entries, exact - 1).map((p) => p.length)).toEqual([1, 1, 1]);
  });

  it('should keep every part within the maximum, each part readable by unzip, 7z and Python', async () => {
    const files = Array.from({ length: 40 }, (_, i) => {
      const data = Buffer.alloc((i * 7919) % 300_000, i);
      return { name: `IMG_${i}.jpg`, size: data.length, data };
    });
    const max = 1_000_000;
    const parts = planParts(files, max);
    expect(parts.length).toBeGreaterThan(3);
    expect(parts.flat().map((f) => f.name)).toEqual(files.map((f) => f.name));
    for (const [i, part] of parts.entries()) {
      expect(predictZipSize(part)).toBeLessThanOrEqual(max);
      // Greedy: the next part's first entry would not have fitted.
      const next = parts[i + 1];
      if (next) expect(predictZipSize([...part, next[0]!])).toBeGreaterThan(max);
      const archive = join(tmp.dir, `part-${i + 1}.zip`);
      const result = await writeZipToFile(
        part.map((f) => bufferSource(f.name, f.data)),
        archive,
      );
      expect(result.fileSize).toBe(predictZipSize(part));
      await checkWithReaders(
        archive,
        part.map((f) => expectedFromBuffer(f.name, f.data)),
      );
    }
  });
});

describe('planArchive', () => {
  const now = new Date('2026-01-02T03:04:05Z');

  it('should name entries and parts and give each part its exact size', () => {
    const assets = [
      { id: 'a1', name: 'IMG_1.jpg', size: 400 },
      { id: 'a2', name: 'img_1.JPG', size: 400 },
      { id: 'a3', name: '../secret.png', size: 400 },
    ];
    const parts = planArchive(assets, { albumName: 'Summer: 2025', now, maxPartSize: 1200 });
    expect(parts.map((p) => p.fileName)).toEqual(['Summer_ 2025 (part 1 of 2).zip', 'Summer_ 2025 (part 2 of 2).zip']);
    expect(parts.map((p) => p.entries)).toEqual([
      [
        { id: 'a1', name: 'IMG_1.jpg', size: 400 },
        { id: 'a2', name: 'img_1 (1).JPG', size: 400 },
      ],
      [{ id: 'a3', name: 'secret.png', size: 400 }],
    ]);
    for (const part of parts) expect(part.size).toBe(predictZipSize(part.entries));
    expect(parts.map((p) => p.index)).toEqual([1, 2]);
  });

  it('should name a single part after the album or the time', () => {
    const assets = [{ name: '', size: 1 }];
    expect(planArchive(assets, { albumName: null, now, fallbackName: 'asset.jpg' })).toEqual([
      {
        index: 1,
        fileName: 'immish-20260102-030405.zip',
        entries: [{ name: 'asset.jpg', size: 1 }],
        size: predictZipSize([{ name: 'asset.jpg', size: 1 }]),
      },
    ]);
    expect(planArchive([], { albumName: 'x', now })).toEqual([]);
  });
});
