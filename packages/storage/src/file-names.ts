/**
 * The one rule for file names that leave immish (docs/spec.md §7, §5.3): zip entry names, archive names and the
 * names of downloads (`Content-Disposition`, presigned S3 responses). It is about what happens when a
 * recipient saves or extracts the file on Windows, macOS or Linux: no name may escape the target folder,
 * hide itself, break the extractor, silently overwrite another file or pretend to be another type.
 */

/** Longest file name, in UTF-8 bytes (the limit of ext4, APFS and NTFS components). */
export const MAX_NAME_BYTES = 255;

const DEFAULT_FALLBACK = 'file';

// C0 controls, DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/g;
// Bidirectional formatting characters: embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069),
// the left-to-right/right-to-left marks (U+200E, U+200F) and the Arabic letter mark (U+061C). They make
// `photo\u202Egpj.exe` display as `photo.exe.jpg`.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
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
export function fitFileName(stem: string, suffix: string, ext: string, maxBytes = MAX_NAME_BYTES): string {
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

/** The sanitized form of `name`, or '' when nothing usable is left (see `sanitizeFileName`). */
export function sanitizeFileNameOrEmpty(name: string): string {
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
    text = fitFileName(stem, '', ext);
  }
  return text;
}

/**
 * Turns any user-supplied file name into a safe, flat file name:
 * - NFC-normalised (Unicode names such as `Ünïcödé 東京 📷.jpg` survive intact), lone surrogates → U+FFFD;
 * - control characters (C0, DEL, C1) and bidi formatting characters (U+202A–U+202E, U+2066–U+2069, U+200E,
 *   U+200F, U+061C) removed;
 * - path separators `/` and `\` removed: the meaningful components are joined with `_`, empty/`.`/`..` ones dropped;
 * - runs of dots collapsed to one (no `..` anywhere), leading dots/spaces (hidden files) and trailing
 *   dots/spaces (dropped by Windows) removed;
 * - characters Windows forbids (`<>:"|?*`) replaced by `_`, Windows device names (`CON`, `nul.txt`…) prefixed with `_`;
 * - at most {@link MAX_NAME_BYTES} UTF-8 bytes, shortening the stem and keeping the extension;
 * - an empty result becomes `fallback` (itself sanitized), else `file`.
 *
 * Idempotent: `sanitizeFileName(sanitizeFileName(x)) === sanitizeFileName(x)`.
 */
export function sanitizeFileName(name: string, fallback: string = DEFAULT_FALLBACK): string {
  return sanitizeFileNameOrEmpty(name) || sanitizeFileNameOrEmpty(fallback) || DEFAULT_FALLBACK;
}

/** Whether `name` can be used as is (it is its own sanitized form). */
export function isSafeFileName(name: string): boolean {
  return name !== '' && sanitizeFileNameOrEmpty(name) === name;
}
