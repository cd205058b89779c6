export type MediaErrorCode = 'UNSUPPORTED_TYPE' | 'CORRUPT' | 'TOO_MANY_PIXELS' | 'EMPTY';

/**
 * The one error type of this package. `message` is meant for humans (it ends up as an upload
 * item's failure reason), `code` is meant for code.
 */
export class MediaError extends Error {
  readonly code: MediaErrorCode;

  constructor(code: MediaErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MediaError';
    this.code = code;
  }
}

export function isMediaError(value: unknown): value is MediaError {
  return value instanceof MediaError;
}
