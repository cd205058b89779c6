import type { PresignGetOptions } from './types.ts';

/** Writes idle/started longer than this are considered abandoned unless the caller says otherwise. */
export const DEFAULT_INCOMPLETE_WRITE_AGE_MS = 24 * 60 * 60 * 1000;
/** SigV4 presigned URLs live at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;

export function assertAge(olderThanMs: number): void {
  if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
    throw new RangeError(`olderThanMs must be a finite number ≥ 0, got ${String(olderThanMs)}.`);
  }
}

export function assertPresignOptions(opts: PresignGetOptions): void {
  const seconds = opts?.expiresInSeconds;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(
      `expiresInSeconds must be an integer from 1 to ${MAX_PRESIGN_SECONDS}, got ${String(seconds)}.`,
    );
  }
}
