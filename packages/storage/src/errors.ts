/**
 * Errors of the blob store. Each carries a stable `code` and the HTTP status an app should answer
 * with, so one error handler per app can map the whole family to the §11 error shape.
 */
export class BlobStoreError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

export class BlobNotFoundError extends BlobStoreError {
  readonly key: string;
  constructor(key: string, options?: ErrorOptions) {
    super('BLOB_NOT_FOUND', 404, `No object is stored under key "${key}".`, options);
    this.key = key;
  }
}

export class InvalidBlobKeyError extends BlobStoreError {
  constructor(reason: string) {
    super('INVALID_BLOB_KEY', 400, reason);
  }
}

/** A byte range that starts at or past the end of the object (HTTP 416). `size` is the object's size when known. */
export class RangeNotSatisfiableError extends BlobStoreError {
  readonly size: number | undefined;
  constructor(message: string, size?: number, options?: ErrorOptions) {
    super('RANGE_NOT_SATISFIABLE', 416, message, options);
    this.size = size;
  }
}

/**
 * fs only: a key cannot be both an object and a "directory" of other keys (`a/b` and `a/b/c`), which
 * S3 allows. Keys of the `<kind>/<id>/<file>` layout never collide; this is a programming error.
 */
export class BlobKeyConflictError extends BlobStoreError {
  readonly key: string;
  constructor(key: string, options?: ErrorOptions) {
    super(
      'BLOB_KEY_CONFLICT',
      409,
      `Key "${key}" collides with another key on the fs driver: one of its path segments is both an object and a folder of other objects.`,
      options,
    );
    this.key = key;
  }
}

/** The backing store cannot be reached or used (missing bucket, unwritable root, connection refused). */
export class StorageUnavailableError extends BlobStoreError {
  constructor(message: string, options?: ErrorOptions) {
    super('STORAGE_UNAVAILABLE', 503, message, options);
  }
}

/**
 * The store has no room for what is being written: the fs driver's disk is full (ENOSPC) or over quota
 * (EDQUOT), or the S3 store refused the object for lack of space or size (MinIO's XMinioStorageFull, HTTP 507,
 * EntityTooLarge). Whatever the write had started is removed before this is thrown (the temp file, the
 * multipart upload). An HTTP service answers 507 Insufficient Storage.
 */
export class InsufficientStorageError extends BlobStoreError {
  readonly key: string;
  constructor(key: string, detail: string, options?: ErrorOptions) {
    super(
      'STORAGE_FULL',
      507,
      `No space to store "${key}": ${detail}. Nothing of it was kept; free space and write it again.`,
      options,
    );
    this.key = key;
  }
}

const NO_SPACE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Is this error (or one it was caused by) the storage being full? InsufficientStorageError, or a raw
 * ENOSPC/EDQUOT (the fs driver's write stream emits the file system's own error; put/commit translate it).
 */
export function isInsufficientStorage(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof InsufficientStorageError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NO_SPACE_ERRNOS.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The S3-compatible store does not implement an operation the driver needs (for example an emulator). */
export class UnsupportedByStoreError extends BlobStoreError {
  readonly operation: string;
  constructor(operation: string, message: string, options?: ErrorOptions) {
    super('STORAGE_OPERATION_UNSUPPORTED', 501, message, options);
    this.operation = operation;
  }
}

/**
 * `BlobWriter.abort()` could not remove what the write left behind (the store refused to abort the
 * multipart upload). The object itself is still invisible; the parts stay in the store until
 * `abortIncompleteWrites` or a bucket lifecycle rule removes them.
 */
export class IncompleteAbortError extends BlobStoreError {
  readonly key: string;
  constructor(key: string, options?: ErrorOptions) {
    super(
      'BLOB_ABORT_INCOMPLETE',
      500,
      `The unfinished write of "${key}" was abandoned but the store refused to abort its multipart upload; ` +
        'its parts remain until abortIncompleteWrites() or a lifecycle rule (AbortIncompleteMultipartUpload) removes them.',
      options,
    );
    this.key = key;
  }
}
