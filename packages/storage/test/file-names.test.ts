import { describe, expect, it } from 'vitest';
import { contentDisposition, isSafeFileName, sanitizeFileName } from '../src/index.ts';

/**
 * Issue 12 item 12: one file-name rule for zip entries and download names. Bidirectional controls make
 * `photo\u202Egpj.exe` display as `photo.exe.jpg`; every one of them (embeddings, overrides, isolates,
 * the LRM/RLM marks and the Arabic letter mark) and every other control character is removed.
 */
const BIDI = [
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
  '\u200e',
  '\u200f',
  '\u061c',
];

/** The name a browser saves under: the decoded `filename*` (RFC 8187), else the plain `filename`. */
function savedName(header: string): { plain: string; extended: string } {
  const plain = /filename="([^"]*)"/.exec(header)?.[1] ?? '';
  const extended = decodeURIComponent(/filename\*=UTF-8''([^;]*)/.exec(header)?.[1] ?? '');
  return { plain, extended };
}

describe('sanitizeFileName', () => {
  it('should remove every bidi control and other control character', () => {
    for (const c of BIDI) {
      expect({ c: c.codePointAt(0)?.toString(16), name: sanitizeFileName(`invoice${c}gpj.exe`) }).toEqual({
        c: c.codePointAt(0)?.toString(16),
        name: 'invoicegpj.exe',
      });
    }
    expect(sanitizeFileName('a\u0000b\u0085c\u007f.jpg')).toBe('abc.jpg');
    expect(isSafeFileName('photo\u202egpj.exe')).toBe(false);
    expect(isSafeFileName('photo.jpg')).toBe(true);
  });
});

describe('contentDisposition', () => {
  it('should strip bidi controls from filename and filename* exactly as zip entry names are', () => {
    for (const c of BIDI) {
      const raw = `photo${c}gpj.exe`;
      const header = contentDisposition(raw);
      const { plain, extended } = savedName(header);
      expect({ c: c.codePointAt(0)?.toString(16), extended, plain }).toEqual({
        c: c.codePointAt(0)?.toString(16),
        extended: sanitizeFileName(raw),
        plain: sanitizeFileName(raw),
      });
    }
    // the same rule as the archive's entries: separators, Windows-forbidden characters, hidden names
    expect(savedName(contentDisposition('../..\\.hidden/a:b\u202e.jpg')).extended).toBe(
      sanitizeFileName('../..\\.hidden/a:b\u202e.jpg'),
    );
  });
});
