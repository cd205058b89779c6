import { archiveBaseName, partFileName, toEntryNames } from './names.ts';
import { ZipSizeCounter } from './zip-format.ts';

export interface SizedEntry {
  name: string;
  size: number;
}

const nameLength = (name: string): number => Buffer.byteLength(name, 'utf8');

/**
 * The exact size in bytes of the archive {@link writeZip} writes for these entry names and sizes, in
 * this order (for `Content-Length` and part planning). Names must be the final entry names.
 */
export function predictZipSize(entries: readonly SizedEntry[]): number {
  const counter = new ZipSizeCounter();
  for (const entry of entries) counter.add(nameLength(entry.name), entry.size);
  return counter.total;
}

/**
 * Splits entries, in their order, into parts whose predicted archive size is at most `maxPartSize`.
 * A file too large to fit in any part on its own gets a part of its own (its archive is then larger
 * than `maxPartSize`). Greedy: a part is closed when the next entry would not fit. Without
 * `maxPartSize` everything is one part; no entries means no parts.
 */
export function planParts<T extends SizedEntry>(entries: readonly T[], maxPartSize?: number): T[][] {
  if (maxPartSize !== undefined && !(maxPartSize > 0))
    throw new RangeError(`maxPartSize ${maxPartSize} must be positive`);
  if (entries.length === 0) return [];
  if (maxPartSize === undefined) return [[...entries]];
  const parts: T[][] = [];
  let current: T[] = [];
  let counter = new ZipSizeCounter();
  for (const entry of entries) {
    const length = nameLength(entry.name);
    if (current.length > 0 && counter.totalWith(length, entry.size) > maxPartSize) {
      parts.push(current);
      current = [];
      counter = new ZipSizeCounter();
    }
    current.push(entry);
    counter.add(length, entry.size);
  }
  parts.push(current);
  return parts;
}

export interface PlannedPart<T> {
  /** 1-based. */
  index: number;
  /** `<base>.zip`, or `<base> (part 1 of 3).zip` when there are several parts. */
  fileName: string;
  /** The entries of this part, with their final (sanitized, unique) entry names. */
  entries: T[];
  /** Exact archive size in bytes. */
  size: number;
}

export interface PlanArchiveOptions {
  albumName: string | null;
  /** Names the archive when there is no album name (`immish-yyyyMMdd-HHmmss`, UTC). */
  now: Date;
  maxPartSize?: number;
  /** Entry name used when a raw name sanitizes to nothing. */
  fallbackName?: string;
}

/**
 * Everything an export needs before streaming: entry names made safe and unique across the whole
 * export, entries split into parts, each part's file name and exact size.
 */
export function planArchive<T extends SizedEntry>(
  entries: readonly T[],
  options: PlanArchiveOptions,
): PlannedPart<T>[] {
  const names = toEntryNames(
    entries.map((entry) => entry.name),
    options.fallbackName,
  );
  const named = entries.map((entry, i) => ({ ...entry, name: names[i]! }));
  const parts = planParts(named, options.maxPartSize);
  const base = archiveBaseName(options.albumName, options.now);
  return parts.map((part, i) => ({
    index: i + 1,
    fileName: partFileName(base, i + 1, parts.length),
    entries: part,
    size: predictZipSize(part),
  }));
}
