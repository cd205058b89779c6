import type { Readable, Writable } from 'node:stream';

export interface BlobInfo {
  key: string;
  size: number;
  /**
   * A quoted entity tag, ready for an HTTP `ETag` header. s3: the store's ETag. fs: derived from
   * size and mtime (nanoseconds), `"<size hex>-<mtime ns hex>"`, like nginx's: it changes whenever
   * the object is replaced, since every put/commit writes a new file.
   */
  etag: string;
  lastModified: Date;
  /**
   * s3: as stored (the caller's, or guessed from the key's extension when it gave none).
   * fs: guessed from the key's extension (fs keeps no metadata). Not reported by list().
   */
  contentType?: string;
}

/** Inclusive byte range, like HTTP `Range: bytes=start-end`; an `end` past the last byte is clamped. */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * A big, streamed write (zip exports). fs: a temp file next to the target, renamed on commit.
 * s3: a lib-storage multipart upload, completed only on commit, aborted on abort()/failure.
 */
export interface BlobWriter {
  /** Write with backpressure (respect `write()` returning false). Ending it does not publish the object. */
  readonly stream: Writable;
  /** Publishes the object atomically (ends the stream first if the caller has not). */
  commit(): Promise<BlobInfo>;
  /**
   * Abandons the write; nothing stays behind. Rejects with IncompleteAbortError when the store
   * refused to abort a multipart upload (the object is still invisible). No-op after commit.
   */
  abort(): Promise<void>;
  /**
   * True when `stream` is done with a chunk once that write's callback has run (fs: the bytes are in the
   * file), so the caller may reuse the buffer afterwards. s3: not set (the upload keeps chunks queued).
   */
  readonly releasesChunks?: boolean;
}

/** How a read is delivered; a hint only, never a change in the bytes. */
export interface ReadOptions {
  /**
   * fs: the size of each read and of each chunk delivered (default 64 KiB, Node's), 4 KiB … 8 MiB. A long
   * sequential reader (an export archiving many originals) asks for larger chunks: fewer reads, fewer buffers to
   * allocate and collect. Each open stream may hold about this much. s3: ignored (the network decides).
   */
  chunkBytes?: number;
}

/** A stored object opened for positional reads into the caller's buffers (`BlobStore.openReader`). */
export interface BlobReader {
  /** Bytes of the version opened: it stays readable, unchanged, until close() even if the key is replaced. */
  readonly size: number;
  /** Reads up to `length` bytes from `position` into `into` at `offset`; resolves with the count (0 at the end). */
  read(into: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

export interface PresignGetOptions {
  /** 1 s … 7 days (the SigV4 maximum). */
  expiresInSeconds: number;
  /** Sets `Content-Disposition: attachment` with an RFC 6266 `filename*`. */
  fileName?: string;
  contentType?: string;
}

export interface BlobStore {
  readonly driver: 'fs' | 's3';
  /** Atomic: readers see the old object or the complete new one, never a partial one. */
  put(key: string, body: Readable | Buffer | Uint8Array, opts?: { contentType?: string }): Promise<BlobInfo>;
  /**
   * fs only (s3: absent): the object opened for positional reads into the caller's buffers, no buffer allocated per
   * read (an export reads originals straight into its output buffers). Throws BlobNotFoundError.
   */
  openReader?(key: string): Promise<BlobReader>;
  /** Throws BlobNotFoundError, or RangeNotSatisfiableError when `range.start` is at or past the end. */
  get(key: string, range?: ByteRange, opts?: ReadOptions): Promise<Readable>;
  head(key: string): Promise<BlobInfo | null>;
  /** Idempotent: a missing key is fine. */
  delete(key: string): Promise<void>;
  /** Deletes the objects whose key starts with `prefix` (not in-flight writes); returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** Objects whose key starts with `prefix` (S3 semantics, may end inside a segment), in key order. */
  list(prefix: string): AsyncIterable<BlobInfo>;
  openWriter(key: string, opts?: { contentType?: string; partSize?: number }): Promise<BlobWriter>;
  /**
   * Crash recovery: removes in-flight writes under `prefix` idle (fs: last written) or started (s3:
   * initiated) more than `olderThanMs` ago (default 24 h, so live writers of other processes survive;
   * pass 0 when the caller owns the prefix, e.g. a retried export job). fs: temp files; s3: multipart
   * uploads (ListMultipartUploads + AbortMultipartUpload). Returns how many.
   */
  abortIncompleteWrites(prefix: string, olderThanMs?: number): Promise<number>;
  /** fs → null (the caller streams the bytes itself); s3 → a presigned GET URL. */
  presignGet(key: string, opts: PresignGetOptions): Promise<string | null>;
  /** Readiness probe: throws StorageUnavailableError if the store is unusable. */
  check(): Promise<void>;
  close(): Promise<void>;
}

export interface FsStorageConfig {
  driver: 'fs';
  root: string;
}

export interface S3StorageConfig {
  driver: 's3';
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** true for MinIO/s3rver-style endpoints; AWS wants false (virtual-host style). */
  forcePathStyle: boolean;
  /**
   * Applied to both requestChecksumCalculation and responseChecksumValidation. AWS and MinIO:
   * 'WHEN_SUPPORTED' (the SDK default). s3rver: 'WHEN_REQUIRED', or streamed PutObject is corrupted.
   */
  checksumMode: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /** Multipart part size for streamed writes, ≥ 5 MiB (default 8 MiB). */
  partSizeBytes?: number;
  /** Longest wait for a TCP connection to the endpoint (default 5000 ms; the services pass S3_CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number;
  /**
   * A request that moves no byte either way for this long is a stall and fails (the SDK's socket inactivity
   * timeout, default 30000 ms; the services pass S3_STALL_TIMEOUT_MS). It measures silence, not duration: a
   * multi-GB upload or download that keeps moving is never cut, a store that stops answering is.
   */
  stallTimeoutMs?: number;
}

export type StorageConfig = FsStorageConfig | S3StorageConfig;
