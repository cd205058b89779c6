import { describe, expect, it } from 'vitest';
import {
  archiveBaseName,
  archiveFileName,
  isSafeEntryName,
  MAX_NAME_BYTES,
  partFileName,
  sanitizeEntryName,
  toEntryNames,
  uniqueNames,
} from '../src/archive/index.ts';

const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

describe('sanitizeEntryName', () => {
  it('should keep ordinary and Unicode names intact', () => {
    expect(sanitizeEntryName('IMG_0001.JPG')).toBe('IMG_0001.JPG');
    expect(sanitizeEntryName('Ünïcödé 東京 📷.jpg')).toBe('Ünïcödé 東京 📷.jpg');
    expect(sanitizeEntryName('family 👨‍👩‍👧‍👦 (2).heic')).toBe('family 👨‍👩‍👧‍👦 (2).heic');
    expect(sanitizeEntryName('Ελληνικά – עברית – العربية.png')).toBe('Ελληνικά – עברית – العربية.png');
  });

  it('should normalise to NFC', () => {
    const decomposed = 'Ünïcödé.jpg'.normalize('NFD');
    expect(decomposed).not.toBe('Ünïcödé.jpg');
    expect(sanitizeEntryName(decomposed)).toBe('Ünïcödé.jpg'.normalize('NFC'));
  });

  it('should remove path separators so that nothing leaves the extraction folder', () => {
    expect(sanitizeEntryName('holiday/beach.jpg')).toBe('holiday_beach.jpg');
    expect(sanitizeEntryName('../../etc/passwd')).toBe('etc_passwd');
    expect(sanitizeEntryName('..\\..\\windows\\win.ini')).toBe('windows_win.ini');
    expect(sanitizeEntryName('/absolute/path.png')).toBe('absolute_path.png');
    expect(sanitizeEntryName('a//./b/../c.jpg')).toBe('a_b_c.jpg');
    expect(sanitizeEntryName('C:\\Users\\me\\photo.jpg')).toBe('C__Users_me_photo.jpg');
  });

  it('should never leave ".." in a name', () => {
    for (const name of ['..', '...', 'a..b.jpg', 'photo...jpg', '..jpg', 'x/../..', '. . .']) {
      const safe = sanitizeEntryName(name);
      expect(safe, name).not.toContain('..');
      expect(safe, name).not.toMatch(/[/\\]/);
    }
    expect(sanitizeEntryName('a..b.jpg')).toBe('a.b.jpg');
    expect(sanitizeEntryName('..')).toBe('file');
  });

  it('should strip control characters (C0, DEL, C1) and bidi overrides', () => {
    expect(sanitizeEntryName('bad\u0000na\tme\u0007\u007f\u0085\u009f.png')).toBe('badname.png');
    expect(sanitizeEntryName('line\nbreak\r.jpg')).toBe('linebreak.jpg');
    expect(sanitizeEntryName('invoice\u202Egpj.exe')).toBe('invoicegpj.exe');
  });

  it('should strip leading dots and spaces and trailing dots and spaces', () => {
    expect(sanitizeEntryName('.hidden.jpg')).toBe('hidden.jpg');
    expect(sanitizeEntryName('  . spaced.jpg  ')).toBe('spaced.jpg');
    expect(sanitizeEntryName('trailing.jpg. . ')).toBe('trailing.jpg');
    expect(sanitizeEntryName('.jpg')).toBe('jpg');
  });

  it('should replace characters and names that Windows refuses', () => {
    expect(sanitizeEntryName('a<b>c:d"e|f?g*h.jpg')).toBe('a_b_c_d_e_f_g_h.jpg');
    expect(sanitizeEntryName('CON')).toBe('_CON');
    expect(sanitizeEntryName('nul.txt')).toBe('_nul.txt');
    expect(sanitizeEntryName('com1.tar.gz')).toBe('_com1.tar.gz');
    expect(sanitizeEntryName('console.jpg')).toBe('console.jpg');
  });

  it('should shorten names to 255 UTF-8 bytes keeping the extension and whole characters', () => {
    const long = `${'a'.repeat(300)}.jpeg`;
    expect(sanitizeEntryName(long)).toBe(`${'a'.repeat(250)}.jpeg`);
    const emoji = `${'📷'.repeat(100)}.jpg`; // 4 bytes each
    const shortened = sanitizeEntryName(emoji);
    expect(bytes(shortened)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(shortened).toBe(`${'📷'.repeat(62)}.jpg`);
    const families = `${'👨‍👩‍👧'.repeat(30)}.png`; // 18 bytes per grapheme: never split inside one
    expect(sanitizeEntryName(families)).toBe(`${'👨‍👩‍👧'.repeat(13)}.png`);
    const cutAtSpace = `${'word '.repeat(60)}.jpeg`; // the cut lands after a space, which must not end the stem
    expect(sanitizeEntryName(cutAtSpace)).toBe(`${'word '.repeat(49)}word.jpeg`);
    const noExtension = 'x'.repeat(400);
    expect(sanitizeEntryName(noExtension)).toBe('x'.repeat(255));
  });

  it('should use the fallback when nothing is left', () => {
    expect(sanitizeEntryName('')).toBe('file');
    expect(sanitizeEntryName('///')).toBe('file');
    expect(sanitizeEntryName('\u0000\u0001', 'asset-42.jpg')).toBe('asset-42.jpg');
    expect(sanitizeEntryName('..', '../also bad')).toBe('also bad');
    expect(sanitizeEntryName('..', '..')).toBe('file');
  });

  it('should be idempotent and produce safe names', () => {
    const samples = [
      'Ünïcödé 東京 📷.jpg',
      '../../etc/passwd',
      ' .. /. a\u0000b/c:d*.JPG. ',
      `${'é'.repeat(200)}.jpg`,
      `${'e\u0301'.repeat(200)}.jpg`,
      'CON.jpg',
      '\ud800lone surrogate.jpg',
      '',
      '. .',
    ];
    for (const sample of samples) {
      const once = sanitizeEntryName(sample);
      expect(sanitizeEntryName(once), sample).toBe(once);
      expect(isSafeEntryName(once), sample).toBe(true);
      expect(bytes(once)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    }
    expect(isSafeEntryName('a/b.jpg')).toBe(false);
    expect(isSafeEntryName('')).toBe(false);
  });
});

describe('uniqueNames', () => {
  it('should number later duplicates, case-insensitively, keeping order', () => {
    expect(uniqueNames(['IMG.jpg', 'img.JPG', 'IMG.jpg', 'other.png', 'Img.jpg'])).toEqual([
      'IMG.jpg',
      'img (1).JPG',
      'IMG (2).jpg',
      'other.png',
      'Img (3).jpg',
    ]);
  });

  it('should not take a name that exists elsewhere in the list', () => {
    expect(uniqueNames(['a.jpg', 'a.jpg', 'a (1).jpg'])).toEqual(['a.jpg', 'a (2).jpg', 'a (1).jpg']);
    expect(uniqueNames(['a.jpg', 'a (1).jpg', 'a.jpg', 'a (1).jpg'])).toEqual([
      'a.jpg',
      'a (1).jpg',
      'a (2).jpg',
      'a (1) (1).jpg',
    ]);
  });

  it('should handle names without extension and dotfiles-like stems', () => {
    expect(uniqueNames(['README', 'readme', 'archive.tar.gz', 'archive.tar.gz'])).toEqual([
      'README',
      'readme (1)',
      'archive.tar.gz',
      'archive.tar (1).gz',
    ]);
  });

  it('should keep numbered names within 255 bytes', () => {
    const long = `${'a'.repeat(251)}.jpg`;
    const [first, second] = uniqueNames([long, long]);
    expect(first).toBe(long);
    expect(second).toBe(`${'a'.repeat(247)} (1).jpg`);
    expect(bytes(second!)).toBe(MAX_NAME_BYTES);
  });

  it('should stay fast with thousands of identical names', () => {
    const names = uniqueNames(Array.from({ length: 20_000 }, () => 'IMG_0001.JPG'));
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(20_000);
    expect(names[19_999]).toBe('IMG_0001 (19999).JPG');
  });
});

describe('toEntryNames', () => {
  it('should sanitize then de-duplicate, NFD and NFC forms being the same name', () => {
    const nfc = 'Ünïcödé 東京 📷.jpg';
    expect(toEntryNames([nfc, nfc.normalize('NFD'), '../x.jpg', 'x.jpg', '', ''], 'asset.bin')).toEqual([
      nfc,
      'Ünïcödé 東京 📷 (1).jpg',
      'x.jpg',
      'x (1).jpg',
      'asset.bin',
      'asset (1).bin',
    ]);
  });
});

describe('archiveFileName', () => {
  const now = new Date('2026-03-04T05:06:07.890Z');

  it('should use the sanitized album name', () => {
    expect(archiveFileName('Summer 2025', now)).toBe('Summer 2025.zip');
    expect(archiveFileName('Trips/Japan: 東京', now)).toBe('Trips_Japan_ 東京.zip');
    expect(archiveFileName('Backup.zip', now)).toBe('Backup.zip');
    expect(archiveFileName('  .hidden album.  ', now)).toBe('hidden album.zip');
  });

  it('should fall back to a UTC timestamp when there is no usable album name', () => {
    expect(archiveFileName(null, now)).toBe('immish-20260304-050607.zip');
    expect(archiveFileName('', now)).toBe('immish-20260304-050607.zip');
    expect(archiveFileName('../..', now)).toBe('immish-20260304-050607.zip');
    expect(archiveFileName(null, new Date('1999-12-31T23:59:59Z'))).toBe('immish-19991231-235959.zip');
  });

  it('should stay within 255 bytes', () => {
    const name = archiveFileName('album '.repeat(100), now);
    expect(bytes(name)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(name.endsWith('album.zip')).toBe(true);
  });
});

describe('partFileName', () => {
  it('should name a single part like the archive and several parts "part i of n"', () => {
    expect(partFileName('Summer', 1, 1)).toBe('Summer.zip');
    expect(partFileName('Summer', 1, 3)).toBe('Summer (part 1 of 3).zip');
    expect(partFileName('Summer', 3, 3)).toBe('Summer (part 3 of 3).zip');
    expect(partFileName('Summer', 7, 12)).toBe('Summer (part 07 of 12).zip');
  });

  it('should keep long names within 255 bytes and refuse impossible parts', () => {
    const base = archiveBaseName('x'.repeat(300), new Date());
    const name = partFileName(base, 2, 10);
    expect(bytes(name)).toBe(MAX_NAME_BYTES);
    expect(name.endsWith(' (part 02 of 10).zip')).toBe(true);
    expect(() => partFileName('a', 0, 2)).toThrow(RangeError);
    expect(() => partFileName('a', 3, 2)).toThrow(RangeError);
  });
});
