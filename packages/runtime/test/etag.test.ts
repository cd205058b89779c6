import { describe, expect, it } from 'vitest';
import { etagMatches } from '../src/index.ts';

describe('etagMatches (RFC 9110 §8.8.3.2)', () => {
  it('weak comparison (If-None-Match): W/ prefixes ignored, lists searched, * matches alone', () => {
    expect(etagMatches('"a"', '"a"')).toBe(true);
    expect(etagMatches('W/"a"', '"a"')).toBe(true);
    expect(etagMatches('"x", W/"a"', '"a"')).toBe(true);
    expect(etagMatches('"b"', '"a"')).toBe(false);
    expect(etagMatches(' * ', '"a"')).toBe(true);
    expect(etagMatches(undefined, '"a"')).toBe(false);
    expect(etagMatches('', '"a"')).toBe(false);
  });

  it('strong comparison (If-Range): only the identical strong tag; weak tags, * and dates never match', () => {
    expect(etagMatches('"a"', '"a"', 'strong')).toBe(true);
    expect(etagMatches(' "a" ', '"a"', 'strong')).toBe(true);
    expect(etagMatches('W/"a"', '"a"', 'strong')).toBe(false);
    expect(etagMatches('"a"', 'W/"a"', 'strong')).toBe(false);
    expect(etagMatches('*', '"a"', 'strong')).toBe(false);
    expect(etagMatches('Sat, 05 Dec 2026 07:00:00 GMT', '"a"', 'strong')).toBe(false);
  });
});
