/**
 * The one place where archive file names are decided: entry names inside a ZIP and the names of
 * the archives themselves. Every rule here is about what happens when a recipient extracts the
 * archive on Windows, macOS or Linux: no entry may escape the target folder, hide itself, break
 * the extractor, or silently overwrite another entry.
 */

/** Longest entry or archive name, in UTF-8 bytes (the limit of ext4, APFS and NTFS components). */
export const MAX_NAME_BYTES = 255;

const DEFAULT_FALLBACK = 'file';

// C0 controls, DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional embeddings/overrides/isolates: they make `photo\u202Egpj.exe` display as `photo.exe.jpg`.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
const PATH_SEPARATORS = /[/\\]+/;
// Characters Windows refuses in a file name; extraction there would fail or rename unpredictably.
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g;
const DOT_RUNS = /\.{2,}/g;
const ONLY_DOTS_AND_SPACES = /^[\s.]*$/;
const LEADING_DOTS_AND_SPACES = /^[\s.]+/;
// Windows drops trailing dots and spaces, which can make two distinct names collide on extraction.
const TRAILING_DOTS_AND_SPACES = /[\s.]+$/;
const WINDOWS_DEVICE_NAME = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;
// A short final `.xyz` without spaces is treated as an extension and kept when a name is shortened.
const EXTENSION = /\.[^.\s]{1,16}$/;

const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Splits `name` into stem and extension (`IMG_1.JPG` → `IMG_1` + `.JPG`); a leading dot is never an extension. */
export function splitExtension(name: string): { stem: string; ext: string } {
  const match = EXTENSION.exec(name);
  if (!match || match.index === 0) return { stem: name, ext: '' };
  return { stem: name.slice(0, match.index), ext: match[0] };
}

/**
 * Cuts `text` to at most `maxBytes` UTF-8 bytes on a grapheme boundary, so that an emoji sequence
 * or a letter with its combining marks is never split in half.
 */
function cutToBytes(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    const bytes = utf8Length(segment);
    if (used + bytes > maxBytes) break;
    out += segment;
    used += bytes;
  }
  if (out !== '') return out;
  // A single pathological grapheme (hundreds of combining marks) longer than the budget: cut by code point.
  for (const codePoint of text) {
    const bytes = utf8Length(codePoint);
    if (used + bytes > maxBytes) break;
    out += codePoint;
    used += bytes;
  }
  return out;
}

/** `stem + suffix + ext` within `maxBytes`, shortening only the stem. */
function fitName(stem: string, suffix: string, ext: string, maxBytes = MAX_NAME_BYTES): string {
  let extension = ext;
  let budget = maxBytes - utf8Length(suffix) - utf8Length(extension);
  if (budget < 1) {
    extension = '';
    budget = maxBytes - utf8Length(suffix);
  }
  const shortened = cutToBytes(stem, budget);
  const cleanStem = shortened === stem ? stem : shortened.replace(TRAILING_DOTS_AND_SPACES, '');
  return `${cleanStem}${suffix}${extension}`;
}

function sanitizeOrEmpty(name: string): string {
  let text = name.toWellFormed().normalize('NFC').replace(CONTROL_CHARS, '').replace(BIDI_CONTROLS, '');
  // Every path component that says something is kept (`2024/trip/a.jpg` → `2024_trip_a.jpg`);
  // empty, `.` and `..` components vanish, so nothing can climb out of the extraction folder.
  text = text
    .split(PATH_SEPARATORS)
    .map((component) => component.trim())
    .filter((component) => !ONLY_DOTS_AND_SPACES.test(component))
    .join('_');
  text = text
    .replace(WINDOWS_FORBIDDEN, '_')
    .replace(DOT_RUNS, '.')
    .replace(LEADING_DOTS_AND_SPACES, '')
    .replace(TRAILING_DOTS_AND_SPACES, '');
  if (text === '') return '';
  if (WINDOWS_DEVICE_NAME.test(text)) text = `_${text}`;
  if (utf8Length(text) > MAX_NAME_BYTES) {
    const { stem, ext } = splitExtension(text);
    text = fitName(stem, '', ext);
  }
  return text;
}

/**
 * Turns any user-supplied file name into a safe, flat ZIP entry name:
 * - NFC-normalised (Unicode names such as `Ünïcödé 東京 📷.jpg` survive intact), lone surrogates → U+FFFD;
 * - control characters (C0, DEL, C1) and bidi overrides removed;
 * - path separators `/` and `\` removed: the meaningful components are joined with `_`, empty/`.`/`..` ones dropped;
 * - runs of dots collapsed to one (no `..` anywhere), leading dots/spaces (hidden files) and trailing
 *   dots/spaces (dropped by Windows) removed;
 * - characters Windows forbids (`<>:"|?*`) replaced by `_`, Windows device names (`CON`, `nul.txt`…) prefixed with `_`;
 * - at most {@link MAX_NAME_BYTES} UTF-8 bytes, shortening the stem and keeping the extension;
 * - an empty result becomes `fallback` (itself sanitized), else `file`.
 *
 * Idempotent: `sanitizeEntryName(sanitizeEntryName(x)) === sanitizeEntryName(x)`.
 */
export function sanitizeEntryName(name: string, fallback: string = DEFAULT_FALLBACK): string {
  return sanitizeOrEmpty(name) || sanitizeOrEmpty(fallback) || DEFAULT_FALLBACK;
}

/** Whether `name` can be written as an entry as is (it is its own sanitized form). */
export function isSafeEntryName(name: string): boolean {
  return name !== '' && sanitizeOrEmpty(name) === name;
}

/**
 * The key under which two names collide on extraction: Windows and macOS file systems are
 * case-insensitive (and macOS normalisation-insensitive), so `IMG.jpg` and `img.JPG` are one file there.
 */
export function collisionKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * Makes already sanitized names unique, case-insensitively, keeping order: the first occurrence
 * keeps its name, later ones become `name (1).jpg`, `name (2).jpg`… A generated name never takes
 * a name that appears elsewhere in the input (`a.jpg, a.jpg, a (1).jpg` → `a.jpg, a (2).jpg, a (1).jpg`),
 * and stays within {@link MAX_NAME_BYTES} by shortening the stem.
 */
export function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set(names.map(collisionKey));
  const used = new Set<string>();
  const nextSuffix = new Map<string, number>();
  return names.map((name) => {
    const key = collisionKey(name);
    if (!used.has(key)) {
      used.add(key);
      return name;
    }
    const { stem, ext } = splitExtension(name);
    for (let n = nextSuffix.get(key) ?? 1; ; n++) {
      const candidate = fitName(stem, ` (${n})`, ext);
      const candidateKey = collisionKey(candidate);
      if (!used.has(candidateKey) && !taken.has(candidateKey)) {
        used.add(candidateKey);
        nextSuffix.set(key, n + 1);
        return candidate;
      }
    }
  });
}

/** Sanitizes then de-duplicates: the entry names of one export, in the order given. */
export function toEntryNames(rawNames: readonly string[], fallback: string = DEFAULT_FALLBACK): string[] {
  return uniqueNames(rawNames.map((name) => sanitizeEntryName(name, fallback)));
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `immish-yyyyMMdd-HHmmss` in UTC. */
function timestampBaseName(now: Date): string {
  const date = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `immish-${date}-${time}`;
}

/**
 * Base name (without `.zip`) of an export's archive: the sanitized album name (a trailing `.zip` in it
 * is dropped), or `immish-yyyyMMdd-HHmmss` (UTC) when there is no album or its name sanitizes to nothing.
 */
export function archiveBaseName(albumName: string | null, now: Date): string {
  const fromAlbum = albumName === null ? '' : sanitizeOrEmpty(albumName.trim().replace(/\.zip$/i, ''));
  return fromAlbum || timestampBaseName(now);
}

/** `<sanitized album name>.zip` or `immish-yyyyMMdd-HHmmss.zip` (UTC), within {@link MAX_NAME_BYTES}. */
export function archiveFileName(albumName: string | null, now: Date): string {
  return fitName(archiveBaseName(albumName, now), '', '.zip');
}

/**
 * File name of part `index` (1-based) of `count`: `<base>.zip` when there is one part, else
 * `<base> (part 2 of 3).zip`, the part number zero-padded to the width of the count
 * (`(part 03 of 12)`) so the parts sort in order everywhere. Each part is a complete archive.
 */
export function partFileName(baseName: string, index: number, count: number): string {
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
    throw new RangeError(`part ${index} of ${count} is not a valid part`);
  }
  if (count === 1) return fitName(baseName, '', '.zip');
  const width = String(count).length;
  return fitName(baseName, ` (part ${pad(index, width)} of ${count})`, '.zip');
}
