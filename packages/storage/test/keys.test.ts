import { describe, expect, it } from 'vitest';
import {
  assertSafeKey,
  assertSafePrefix,
  contentDisposition,
  contentTypeFromKey,
  InvalidBlobKeyError,
  isSafeKey,
} from '../src/index.ts';

describe('assertSafeKey', () => {
  it('should accept asset, thumbnail and export keys', () => {
    for (const key of [
      'assets/2b1e6f1c-7d8a-4c55-9e3a-0b8f1d7c6a10/original.jpg',
      'assets/2b1e6f1c-7d8a-4c55-9e3a-0b8f1d7c6a10/preview.jpeg',
      'exports/2b1e6f1c-7d8a-4c55-9e3a-0b8f1d7c6a10/part-12.zip',
      'k=v/a_b/.dotfile',
      `a/${'b'.repeat(200)}`,
      `${'abcd/'.repeat(204)}abcd`, // 1024 bytes
    ]) {
      expect(assertSafeKey(key)).toBe(key);
    }
  });

  it('should explain what is wrong and show the rule', () => {
    expect(() => assertSafeKey('a/../b')).toThrow(/has a "\.\." segment\. Keys are "\/"-separated segments/);
    expect(() => assertSafeKey('a//b')).toThrow(/empty segment/);
    expect(() => assertSafeKey('')).toThrow(/must not be empty/);
    expect(() => assertSafeKey(`${'abcd/'.repeat(205)}`)).toThrow(/more than 1024 bytes/);
    expect(() => assertSafeKey('a\u0000b')).toThrow(InvalidBlobKeyError);
    expect(() => assertSafeKey(42 as unknown as string)).toThrow(/must be a string/);
  });

  it('should report the code INVALID_BLOB_KEY with status 400', () => {
    try {
      assertSafeKey('../x');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: 'InvalidBlobKeyError', code: 'INVALID_BLOB_KEY', status: 400 });
    }
  });

  it('should agree with isSafeKey', () => {
    expect(isSafeKey('a/b.jpg')).toBe(true);
    expect(isSafeKey('a/./b')).toBe(false);
    expect(isSafeKey(undefined)).toBe(false);
  });
});

describe('assertSafePrefix', () => {
  it('should accept prefixes ending with "/" or inside a segment', () => {
    expect(assertSafePrefix('assets/', { allowEmpty: false })).toBe('assets/');
    expect(assertSafePrefix('assets/2b1e', { allowEmpty: false })).toBe('assets/2b1e');
    expect(assertSafePrefix('', { allowEmpty: true })).toBe('');
  });

  it('should reject traversal, absolute and empty prefixes where not allowed', () => {
    for (const prefix of ['../', 'a/..', 'a/../b/', '/a', 'a//', 'a\\', 'a/.']) {
      expect(() => assertSafePrefix(prefix, { allowEmpty: true }), prefix).toThrow(InvalidBlobKeyError);
    }
    expect(() => assertSafePrefix('', { allowEmpty: false })).toThrow(/every object/);
  });
});

describe('contentDisposition', () => {
  it('should give an ASCII fallback and an RFC 8187 filename*', () => {
    expect(contentDisposition('Été à Paris "1" (copy).jpg')).toBe(
      `attachment; filename="_t_ _ Paris _1_ (copy).jpg"; filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Paris%20_1_%20%28copy%29.jpg`,
    );
  });

  it('should never let path separators, percent signs or control characters through', () => {
    const header = contentDisposition('../..\\evil\r\nSet-Cookie: x=1 100%.zip', 'inline');
    expect(header.startsWith('inline; ')).toBe(true);
    expect(header).not.toMatch(/[\r\n/\\]/);
    // the zip entry rule: `..` components dropped, separators joined by `_`, Windows-forbidden `:` → `_`
    expect(header).toContain('filename="evilSet-Cookie_ x=1 100_.zip"');
    expect(contentDisposition('')).toBe(`attachment; filename="download"; filename*=UTF-8''download`);
  });
});

describe('contentTypeFromKey', () => {
  it('should map the media and archive extensions immish stores', () => {
    expect(contentTypeFromKey('assets/x/original.JPG')).toBe('image/jpeg');
    expect(contentTypeFromKey('assets/x/thumbnail.webp')).toBe('image/webp');
    expect(contentTypeFromKey('exports/x/part-1.zip')).toBe('application/zip');
    expect(contentTypeFromKey('assets/x/original')).toBeUndefined();
    expect(contentTypeFromKey('assets/x/.jpg')).toBeUndefined();
  });
});
