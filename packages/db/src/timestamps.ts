import pg from 'pg';

/**
 * `timestamptz` values, read faster than pg reads them (docs/benchmarks.md "The owner's list under a burst").
 *
 * An owner's list of 100 links holds ~1,000 timestamps, each read from PostgreSQL's text and then written out again
 * as ISO-8601 for the answer. pg's parser (the `postgres-date` package: two regular expressions, a split and six
 * `parseInt`s) and `Date.prototype.toISOString` (~1.1–1.5 µs on this VM, a C++ builtin) together cost 2.5–3.4 µs
 * per value, 14% of the links-api's CPU on that route in a `--cpu-prof` (2026-12-07).
 *
 * - **Reading.** `parseTimestamptz` reads what PostgreSQL renders for a `timestamptz` in its default `DateStyle`
 *   (ISO), in any session time zone, with no regular expression: `YYYY-MM-DD HH:MM:SS`, an optional fraction of
 *   1–6 digits, then the offset `±HH`, `±HH:MM` or `±HH:MM:SS`. Years before 1000 (`Date.UTC` reads 0–99 as
 *   1900–1999), 5-digit years, `BC` dates, `infinity` and anything else go to pg's own parser, so every result is
 *   the one pg gives.
 * - **Writing.** A value rendered in UTC (`+00`, PostgreSQL's zone unless its server is set otherwise) comes back
 *   as a `PgTimestamp`: a Date that also keeps the text it was read from, and whose `toISOString` (and so
 *   `toJSON`) cuts the ISO string out of that text instead of computing it: ~0.2 µs. If the Date is changed
 *   (`setTime`, …) it answers as any Date does. It is a real Date (`instanceof Date`, every method), only its
 *   prototype differs.
 *
 * Milliseconds are the fraction's first three digits, truncated, as in pg's parser and in `toISOString`.
 */
export class PgTimestamp extends Date {
  readonly #time: number;
  /** PostgreSQL's text of the value, ending in `+00` */
  readonly #text: string;

  constructor(time: number, text: string) {
    super(time);
    this.#time = time;
    this.#text = text;
  }

  override toISOString(): string {
    if (this.getTime() !== this.#time) return super.toISOString();
    const text = this.#text;
    const date = text.slice(0, 10);
    if (text.charCodeAt(19) !== DOT) return `${date}T${text.slice(11, 19)}.000Z`;
    const fraction = text.length - OFFSET_UTC.length - 20; // 1–6 digits
    if (fraction >= 3) return `${date}T${text.slice(11, 23)}Z`;
    return `${date}T${text.slice(11, 20 + fraction)}${fraction === 1 ? '00' : '0'}Z`;
  }
}

/** PostgreSQL's text of a `timestamptz` → a Date (a PgTimestamp when rendered in UTC), or pg's own answer. */
export function parseTimestamptz(text: string): Date | number | null {
  const n = text.length;
  // 'YYYY-MM-DD HH:MM:SS+HH' is the shortest text the fast path takes
  if (
    n >= 22 &&
    text.charCodeAt(4) === DASH &&
    text.charCodeAt(7) === DASH &&
    text.charCodeAt(10) === SPACE &&
    text.charCodeAt(13) === COLON &&
    text.charCodeAt(16) === COLON
  ) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hour = digits(text, 11, 2);
    const minute = digits(text, 14, 2);
    const second = digits(text, 17, 2);
    let i = 19;
    let ms = 0;
    if (text.charCodeAt(i) === DOT) {
      i++;
      const start = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const length = i - start;
      if (length < 1 || length > 6) ms = -1;
      else ms = digits(text, start, Math.min(length, 3)) * (length === 1 ? 100 : length === 2 ? 10 : 1);
    }
    const offset = ms >= 0 ? offsetAt(text, i) : Number.NaN;
    if (year >= 1000 && month >= 1 && day >= 1 && hour >= 0 && minute >= 0 && second >= 0 && !Number.isNaN(offset)) {
      const time = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offset;
      return offset === 0 && text.endsWith(OFFSET_UTC) ? new PgTimestamp(time, text) : new Date(time);
    }
  }
  return fallback(text);
}

const fallback = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date | number;

const OFFSET_UTC = '+00';
const DASH = 0x2d;
const SPACE = 0x20;
const COLON = 0x3a;
const DOT = 0x2e;
const PLUS = 0x2b;
const ZERO = 0x30;

const isDigit = (c: number): boolean => c >= ZERO && c <= ZERO + 9;

/** The decimal number of `length` digits at `start`, or -1 if any of them is not a digit. */
function digits(text: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) {
    const d = text.charCodeAt(i) - ZERO;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** The offset `±HH[:MM[:SS]]` that ends the text at `i`, in milliseconds east of UTC; NaN for anything else. */
function offsetAt(text: string, i: number): number {
  const sign = text.charCodeAt(i);
  if (sign !== PLUS && sign !== DASH) return Number.NaN;
  const rest = text.length - i - 1;
  if (rest !== 2 && rest !== 5 && rest !== 8) return Number.NaN;
  const hours = digits(text, i + 1, 2);
  if (hours < 0) return Number.NaN;
  let seconds = hours * 3600;
  for (let at = i + 3, unit = 60; at < text.length; at += 3, unit /= 60) {
    const part = digits(text, at + 1, 2);
    if (text.charCodeAt(at) !== COLON || part < 0) return Number.NaN;
    seconds += part * unit;
  }
  return (sign === PLUS ? seconds : -seconds) * 1000;
}

/**
 * The type parsers of every immish pool (pg's `types` option): pg's own, but `timestamptz` through
 * `parseTimestamptz`. Per pool rather than in pg's global table, so a tool or test using pg directly is unaffected.
 */
export const immishTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.TIMESTAMPTZ && (format ?? 'text') === 'text') return parseTimestamptz;
    return pg.types.getTypeParser(oid, format);
  },
};
