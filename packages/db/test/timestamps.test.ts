import { createTestDatabase, seededRandom, type TestDatabase } from '@immish/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, PgTimestamp, parseTimestamptz } from '../src/index.ts';

/**
 * timestamps.ts: the pools' `timestamptz` reader gives the Date pg's own parser gives, for every text PostgreSQL
 * renders (any session time zone, any fraction, years out of range, BC, infinity), and a value read in UTC writes
 * the ISO string `toISOString` would, unless it was changed since.
 */
const pgParse = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => Date | number;

const sameAsPg = (text: string) => {
  const ours = parseTimestamptz(text);
  const theirs = pgParse(text);
  expect(typeof ours, text).toBe(typeof theirs);
  if (theirs instanceof Date) {
    expect(ours, text).toBeInstanceOf(Date);
    expect((ours as Date).getTime(), text).toBe(theirs.getTime());
    if (!Number.isNaN(theirs.getTime())) expect((ours as Date).toISOString(), text).toBe(theirs.toISOString());
  } else expect(ours, text).toBe(theirs);
};

/** A random PostgreSQL-style text: 4-digit year, a fraction of 0–6 digits, an offset of each shape. */
function randomText(random: () => number): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const int = (below: number) => Math.floor(random() * below);
  const year = 1000 + int(9000);
  const fractionDigits = int(7);
  const fraction = fractionDigits === 0 ? '' : `.${pad(int(10 ** fractionDigits), fractionDigits)}`;
  const offsets = [
    '+00',
    `+${pad(int(15))}`,
    `-${pad(int(13))}`,
    `+05:30`,
    `-03:30`,
    `+${pad(int(15))}:${pad(int(60))}`,
  ];
  const offset = offsets[int(offsets.length)] as string;
  const zone = offset.length === 3 && int(4) === 0 ? `${offset}:${pad(int(60))}:${pad(int(60))}` : offset;
  return `${year}-${pad(1 + int(12))}-${pad(1 + int(28))} ${pad(int(24))}:${pad(int(60))}:${pad(int(60))}${fraction}${zone}`;
}

describe('parseTimestamptz against pg’s parser', () => {
  it('gives the same instant and ISO string for 20,000 random texts of every shape PostgreSQL writes', () => {
    const random = seededRandom(20261207);
    for (let i = 0; i < 20_000; i++) sameAsPg(randomText(random));
  });

  it('agrees on every millisecond fraction, of each length', () => {
    for (let ms = 0; ms < 1000; ms++) {
      const three = String(ms).padStart(3, '0');
      sameAsPg(`2026-12-07 19:10:28.${three}+00`);
      sameAsPg(`2026-12-07 19:10:28.${three}999+00`);
      sameAsPg(`2026-12-07 19:10:28.${three.slice(0, 2)}+00`);
      sameAsPg(`2026-12-07 19:10:28.${three.slice(0, 1)}+00`);
    }
  });

  it('leaves what it does not read to pg: early, late and BC years, infinity, malformed texts', () => {
    for (const text of [
      '0099-03-04 05:06:07+00',
      '0999-12-31 23:59:59.999+00',
      '12026-01-01 00:00:00+00',
      '2000-01-01 00:00:00+00 BC',
      '0044-03-15 12:00:00+00 BC',
      'infinity',
      '-infinity',
      '2026-12-07 19:10:28Z',
      '2026-12-07 19:10:28.1234567+00',
      '2026-12-07 19:10:28.+00',
      '2026-12-07 19:10:28+0',
      '2026-12-07 19:10:28+00:3',
      '2026-12-07 19:1x:28+00',
      '2026-12-07T19:10:28+00',
      '',
    ])
      sameAsPg(text);
  });
});

describe('PgTimestamp', () => {
  it('is what a value read in UTC is, and any other offset gives a plain Date', () => {
    expect(parseTimestamptz('2026-12-07 19:10:28.5+00')).toBeInstanceOf(PgTimestamp);
    expect(parseTimestamptz('2026-12-07 20:10:28.5+01')).not.toBeInstanceOf(PgTimestamp);
    expect((parseTimestamptz('2026-12-07 20:10:28.5+01') as Date).toISOString()).toBe('2026-12-07T19:10:28.500Z');
  });

  it('serializes as the Date it is, in JSON too, and answers for its new value once changed', () => {
    const read = parseTimestamptz('2026-12-07 19:10:28.123456+00') as Date;
    expect(read.toISOString()).toBe('2026-12-07T19:10:28.123Z');
    expect(JSON.stringify({ at: read })).toBe('{"at":"2026-12-07T19:10:28.123Z"}');
    expect(read.getUTCFullYear()).toBe(2026);
    read.setUTCFullYear(2030);
    expect(read.toISOString()).toBe('2030-12-07T19:10:28.123Z');
    read.setTime(0);
    expect(JSON.stringify(read)).toBe('"1970-01-01T00:00:00.000Z"');
  });
});

describe('a pool reads timestamptz through it', () => {
  let tdb: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    tdb = await createTestDatabase();
    pool = createPool({ connectionString: tdb.url, max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await tdb?.drop();
  });

  it('gives pg’s values in UTC and in zones with odd offsets, and keeps infinity and BC', async () => {
    const client = await pool.connect();
    try {
      for (const zone of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Pacific/Chatham', 'America/Los_Angeles']) {
        await client.query(`SET TIME ZONE '${zone}'`);
        const values = [
          '2026-12-07 19:10:28.123456+00',
          '2026-06-01 00:00:00+00',
          '1000-01-01 00:00:00.5+00',
          '1883-11-18 12:00:00+00', // before standard time: PostgreSQL renders local mean time, ±HH:MM:SS
          '2999-12-31 23:59:59.999999+00',
        ];
        const { rows } = await client.query<{ v: Date; text: string }>(
          'SELECT v::timestamptz AS v, v::timestamptz::text AS text FROM unnest($1::text[]) AS v',
          [values],
        );
        for (const row of rows) {
          const expected = pgParse(row.text) as Date;
          expect(row.v.getTime(), `${zone}: ${row.text}`).toBe(expected.getTime());
          expect(row.v.toISOString(), `${zone}: ${row.text}`).toBe(expected.toISOString());
        }
        if (zone === 'UTC') expect(rows[0]?.v).toBeInstanceOf(PgTimestamp);
        const special = await client.query(
          `SELECT 'infinity'::timestamptz AS a, '-infinity'::timestamptz AS b, '0044-03-15 12:00:00+00 BC'::timestamptz AS c`,
        );
        expect(special.rows[0].a).toBe(Number.POSITIVE_INFINITY);
        expect(special.rows[0].b).toBe(Number.NEGATIVE_INFINITY);
        expect((special.rows[0].c as Date).getUTCFullYear()).toBe(-43);
      }
    } finally {
      client.release();
    }
  });
});
