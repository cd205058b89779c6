import { RangeNotSatisfiableError } from './errors.ts';
import type { ByteRange } from './types.ts';

/** Rejects malformed ranges before any I/O (both drivers): integers, start ≥ 0, end ≥ start. */
export function assertWellFormedRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new RangeNotSatisfiableError(`Range start must be a non-negative integer, got ${String(start)}.`);
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeNotSatisfiableError(`Range end must be an integer ≥ start (${start}), got ${String(end)}.`);
  }
}

/** Clamps `end` to the last byte; throws when the range starts at or past the end (also for empty objects). */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } {
  if (range.start >= size) {
    throw new RangeNotSatisfiableError(
      `Range starting at byte ${range.start} is not satisfiable: the object has ${size} bytes.`,
      size,
    );
  }
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end ?? ''}`;
}
