import { InvalidBlobKeyError } from './errors.ts';

/** S3's own limit on a key. */
export const MAX_KEY_BYTES = 1024;
/**
 * Per segment: the fs driver stores a segment as one file name, and its temp files add a 22-byte
 * suffix; 200 keeps both under NAME_MAX (255 bytes on ext4, xfs, btrfs), so both drivers accept
 * exactly the same keys.
 */
export const MAX_SEGMENT_BYTES = 200;

const SEGMENT = /^[A-Za-z0-9._=-]+$/;

function describe(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

function problemWithSegment(segment: string): string | null {
  if (segment === '.' || segment === '..') return `a "${segment}" segment`;
  if (segment.length > MAX_SEGMENT_BYTES) return `a segment longer than ${MAX_SEGMENT_BYTES} bytes`;
  if (!SEGMENT.test(segment)) return 'a character outside [A-Za-z0-9._=-] in a segment';
  return null;
}

function problemWithPath(value: string, kind: 'key' | 'prefix'): string | null {
  if (value.length > MAX_KEY_BYTES) return `more than ${MAX_KEY_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'a control character';
  if (value.includes('\\')) return 'a backslash';
  if (value.startsWith('/')) return 'a leading "/"';
  if (kind === 'key' && value.endsWith('/')) return 'a trailing "/"';
  if (value.includes('//')) return 'an empty segment ("//")';
  const segments = value.split('/');
  // A prefix may end inside a segment ("assets/ab" matches "assets/abc/…") or with "/".
  const last = kind === 'prefix' ? segments.pop() : undefined;
  for (const segment of segments) {
    const problem = problemWithSegment(segment);
    if (problem) return problem;
  }
  if (last) return problemWithSegment(last);
  return null;
}

const RULES =
  'Keys are "/"-separated segments of A-Z, a-z, 0-9, ".", "_", "=", "-" (not "." or ".."), ' +
  `at most ${MAX_KEY_BYTES} bytes, without leading, trailing or double "/", e.g. "assets/<uuid>/original.jpg".`;

export function isSafeKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && problemWithPath(key, 'key') === null;
}

/** The one key rule, shared by both drivers. Returns the key unchanged or throws InvalidBlobKeyError. */
export function assertSafeKey(key: string): string {
  if (typeof key !== 'string') throw new InvalidBlobKeyError(`A blob key must be a string. ${RULES}`);
  if (key.length === 0) throw new InvalidBlobKeyError(`A blob key must not be empty. ${RULES}`);
  const problem = problemWithPath(key, 'key');
  if (problem) throw new InvalidBlobKeyError(`Blob key ${describe(key)} has ${problem}. ${RULES}`);
  return key;
}

/**
 * A prefix (for list, deletePrefix, abortIncompleteWrites) is matched like S3 does, as a plain string
 * prefix of the key; it follows the key rules except that it may end with "/" or inside a segment.
 */
export function assertSafePrefix(prefix: string, opts: { allowEmpty: boolean }): string {
  if (typeof prefix !== 'string') throw new InvalidBlobKeyError(`A key prefix must be a string. ${RULES}`);
  if (prefix.length === 0) {
    if (opts.allowEmpty) return prefix;
    throw new InvalidBlobKeyError('An empty prefix would select every object in the store; name a prefix.');
  }
  const problem = problemWithPath(prefix, 'prefix');
  if (problem) throw new InvalidBlobKeyError(`Key prefix ${describe(prefix)} has ${problem}. ${RULES}`);
  return prefix;
}
