/**
 * The one place where archive file names are decided: entry names inside a ZIP and the names of
 * the archives themselves. The file-name rule itself (what a name may contain) is `sanitizeFileName` in
 * @immish/storage, shared with download names (Content-Disposition); what is archive-specific is here:
 * de-duplication on extraction, archive and part names.
 */
import {
  fitFileName,
  isSafeFileName,
  MAX_NAME_BYTES,
  sanitizeFileName,
  sanitizeFileNameOrEmpty,
  splitExtension,
} from '@immish/storage';

export { MAX_NAME_BYTES, splitExtension };

const DEFAULT_FALLBACK = 'file';

/** A user-supplied name as a safe, flat ZIP entry name (the shared rule, `sanitizeFileName`). Idempotent. */
export const sanitizeEntryName = (name: string, fallback: string = DEFAULT_FALLBACK): string =>
  sanitizeFileName(name, fallback);

/** Whether `name` can be written as an entry as is (it is its own sanitized form). */
export const isSafeEntryName = (name: string): boolean => isSafeFileName(name);

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
      const candidate = fitFileName(stem, ` (${n})`, ext);
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
  const fromAlbum = albumName === null ? '' : sanitizeFileNameOrEmpty(albumName.trim().replace(/\.zip$/i, ''));
  return fromAlbum || timestampBaseName(now);
}

/** `<sanitized album name>.zip` or `immish-yyyyMMdd-HHmmss.zip` (UTC), within {@link MAX_NAME_BYTES}. */
export function archiveFileName(albumName: string | null, now: Date): string {
  return fitFileName(archiveBaseName(albumName, now), '', '.zip');
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
  if (count === 1) return fitFileName(baseName, '', '.zip');
  const width = String(count).length;
  return fitFileName(baseName, ` (part ${pad(index, width)} of ${count})`, '.zip');
}
