import type { PresignGetOptions, ReadOptions } from './types.ts';

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

/** Bounds of ReadOptions.chunkBytes: below, reads get more numerous than the default's; above, one stream holds a lot. */
export const MIN_READ_CHUNK_BYTES = 4 * 1024;
export const MAX_READ_CHUNK_BYTES = 8 * 1024 * 1024;

export function assertReadOptions(opts: ReadOptions | undefined): void {
  const chunk = opts?.chunkBytes;
  if (chunk === undefined) return;
  if (!Number.isSafeInteger(chunk) || chunk < MIN_READ_CHUNK_BYTES || chunk > MAX_READ_CHUNK_BYTES) {
    throw new RangeError(
      `chunkBytes must be an integer from ${MIN_READ_CHUNK_BYTES} to ${MAX_READ_CHUNK_BYTES}, got ${String(chunk)}.`,
    );
  }
}
