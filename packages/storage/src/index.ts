import { FsBlobStore } from './fs-driver.ts';
import { S3BlobStore } from './s3-driver.ts';
import type { BlobStore, StorageConfig } from './types.ts';

export { contentDisposition } from './content-disposition.ts';
export { contentTypeFromKey } from './content-type.ts';
export {
  BlobKeyConflictError,
  BlobNotFoundError,
  BlobStoreError,
  IncompleteAbortError,
  InsufficientStorageError,
  InvalidBlobKeyError,
  isInsufficientStorage,
  RangeNotSatisfiableError,
  StorageUnavailableError,
  UnsupportedByStoreError,
} from './errors.ts';
export {
  fitFileName,
  isSafeFileName,
  MAX_NAME_BYTES,
  sanitizeFileName,
  sanitizeFileNameOrEmpty,
  splitExtension,
} from './file-names.ts';
export { FsBlobStore } from './fs-driver.ts';
export { assertSafeKey, assertSafePrefix, isSafeKey, MAX_KEY_BYTES, MAX_SEGMENT_BYTES } from './keys.ts';
export { DEFAULT_INCOMPLETE_WRITE_AGE_MS, MAX_PRESIGN_SECONDS } from './options.ts';
export { DEFAULT_PART_SIZE, MIN_PART_SIZE, S3BlobStore } from './s3-driver.ts';
export type {
  BlobInfo,
  BlobReader,
  BlobStore,
  BlobWriter,
  ByteRange,
  FsStorageConfig,
  PresignGetOptions,
  ReadOptions,
  S3StorageConfig,
  StorageConfig,
} from './types.ts';

/** The one way apps get a store: built in main.ts from validated config, passed down, closed on shutdown. */
export function createBlobStore(config: StorageConfig): BlobStore {
  switch (config.driver) {
    case 'fs':
      return new FsBlobStore(config.root);
    case 's3':
      return new S3BlobStore(config);
    default:
      throw new TypeError(`Unknown storage driver ${JSON.stringify((config as { driver: unknown }).driver)}.`);
  }
}
