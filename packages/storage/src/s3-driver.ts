import { PassThrough, Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { GetObjectCommandOutput, ListObjectsV2CommandOutput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { contentDisposition } from './content-disposition.ts';
import { contentTypeFromKey } from './content-type.ts';
import {
  BlobNotFoundError,
  BlobStoreError,
  IncompleteAbortError,
  InsufficientStorageError,
  RangeNotSatisfiableError,
  StorageUnavailableError,
  UnsupportedByStoreError,
} from './errors.ts';
import { assertSafeKey, assertSafePrefix, isSafeKey } from './keys.ts';
import { assertAge, assertPresignOptions, DEFAULT_INCOMPLETE_WRITE_AGE_MS } from './options.ts';
import { assertWellFormedRange, rangeHeader } from './range.ts';
import type { BlobInfo, BlobStore, BlobWriter, ByteRange, PresignGetOptions, S3StorageConfig } from './types.ts';

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight per streamed write: memory per write ≈ (QUEUE_SIZE + 1) × part size. */
const QUEUE_SIZE = 2;
const CHECK_TIMEOUT_MS = 5_000;
/** Library defaults (tools, tests); the services pass their configured, tighter values. */
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** S3 error names that mean "no room for this object" (MinIO's full drives, a store's size cap). */
const NO_SPACE_NAMES = new Set(['XMinioStorageFull', 'EntityTooLarge', 'InsufficientStorage', 'StorageFull']);
/** Network-level failures the SDK reports without an HTTP status (refused, reset, timed out, stalled). */
const NETWORK_FAILURE_NAMES = new Set(['TimeoutError', 'RequestTimeout']);

/** The SDK's values (s3-sdk.ts), loaded once, when the first S3 store is built: fs storage never loads them. */
type Sdk = typeof import('./s3-sdk.ts');
let sdkLoading: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> => {
  sdkLoading ??= import('./s3-sdk.ts');
  return sdkLoading;
};

interface S3ErrorLike {
  name?: string;
  Code?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  ActualObjectSize?: string | number;
}

const errorName = (error: unknown) => {
  const e = error as S3ErrorLike | undefined;
  return e?.name ?? e?.Code ?? e?.code;
};
const httpStatus = (error: unknown) => (error as S3ErrorLike | undefined)?.$metadata?.httpStatusCode;

/** Attempts per S3 call for throttling and dropped connections (the SDK's default). */
const MAX_ATTEMPTS = 3;
const RETRY_BASE_DELAY_MS = 100;
const THROTTLING_BASE_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 20_000;

type RetryStrategy = NonNullable<S3ClientConfig['retryStrategy']>;
interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}
const retryToken = (count: number, delay: number): RetryToken => ({
  getRetryCount: () => count,
  getRetryDelay: () => delay,
});

/**
 * The SDK's standard retry policy less one case. Throttling and transient failures (a reset connection, a
 * 5xx the SDK deems transient) are retried up to 3 attempts with jittered exponential backoff, as the SDK does;
 * a stall or a connection that does not open in time (TimeoutError) is not: the store is not answering, and
 * waiting as long again, twice, would only triple the time before the caller's 503 (due within 2 s, docs/spec.md §11).
 * The caller retries later instead (an HTTP client after Retry-After, a queue job handed back).
 */
function stallAwareRetryStrategy(): RetryStrategy {
  return {
    acquireInitialRetryToken: async () => retryToken(0, 0),
    refreshRetryTokenForRetry: async (token: RetryToken, info: { error: unknown; errorType: string }) => {
      const attempt = token.getRetryCount() + 1;
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT';
      const stall = errorName(info.error) === 'TimeoutError';
      if (!retryable || stall || attempt >= MAX_ATTEMPTS) throw info.error;
      const base = info.errorType === 'THROTTLING' ? THROTTLING_BASE_DELAY_MS : RETRY_BASE_DELAY_MS;
      return retryToken(attempt, Math.floor(Math.min(MAX_RETRY_DELAY_MS, Math.random() * 2 ** attempt * base)));
    },
    recordSuccess: () => {},
  } as unknown as RetryStrategy;
}

function assertPartSize(partSize: number, what: string): void {
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE) {
    throw new RangeError(`${what} must be an integer ≥ ${MIN_PART_SIZE} (5 MiB, the S3 minimum), got ${partSize}.`);
  }
}

export class S3BlobStore implements BlobStore {
  readonly driver = 's3' as const;
  readonly bucket: string;
  /**
   * The SDK and the client, once the SDK is loaded: its loading starts in the constructor, so a service on S3
   * storage has it by the time it serves (and every method awaits it).
   */
  readonly #ready: Promise<{ sdk: Sdk; client: S3Client }>;
  readonly #partSize: number;

  constructor(config: S3StorageConfig) {
    if (!config.bucket) throw new TypeError('The s3 storage driver needs a bucket name.');
    if (!config.region) throw new TypeError('The s3 storage driver needs a region (any value for MinIO/s3rver).');
    if (config.checksumMode !== 'WHEN_SUPPORTED' && config.checksumMode !== 'WHEN_REQUIRED') {
      throw new TypeError(`checksumMode must be WHEN_SUPPORTED or WHEN_REQUIRED, got ${String(config.checksumMode)}.`);
    }
    if (config.accessKeyId && !config.secretAccessKey) {
      throw new TypeError('An S3 accessKeyId needs its secretAccessKey.');
    }
    this.#partSize = config.partSizeBytes ?? DEFAULT_PART_SIZE;
    assertPartSize(this.#partSize, 'partSizeBytes');
    this.bucket = config.bucket;
    const clientConfig: S3ClientConfig = {
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      requestChecksumCalculation: config.checksumMode,
      responseChecksumValidation: config.checksumMode,
      // A store that is down must fail fast (→ 503), not hang a request; one that stalls (connection open, no
      // bytes moving) must fail too, while a long transfer that keeps moving is left alone: `socketTimeout` is
      // the socket's inactivity timeout, for the whole exchange (request body, response headers and body).
      // No `requestTimeout`: that would bound a whole upload's duration.
      requestHandler: {
        connectionTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
        socketTimeout: config.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
      },
      retryStrategy: stallAwareRetryStrategy(),
    };
    if (config.endpoint) clientConfig.endpoint = config.endpoint;
    if (config.accessKeyId && config.secretAccessKey) {
      clientConfig.credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
    }
    this.#ready = loadSdk().then((sdk) => ({ sdk, client: new sdk.S3Client(clientConfig) }));
    this.#ready.catch(() => {}); // a failed load rejects every call that awaits it
  }

  /** The SDK client, for callers needing an S3 feature the interface does not cover (and for tests). */
  async sdkClient(): Promise<S3Client> {
    return (await this.#ready).client;
  }

  async put(key: string, body: Readable | Buffer | Uint8Array, opts?: { contentType?: string }): Promise<BlobInfo> {
    assertSafeKey(key);
    const ContentType = opts?.contentType ?? contentTypeFromKey(key);
    const { sdk, client } = await this.#ready;
    try {
      if (body instanceof Uint8Array) {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentLength: body.byteLength,
            ContentType,
          }),
        );
      } else {
        // One PutObject below a part, a multipart upload above: either way visible only when complete.
        const upload = new sdk.Upload({
          client,
          params: { Bucket: this.bucket, Key: key, Body: body, ContentType },
          partSize: this.#partSize,
          queueSize: QUEUE_SIZE,
        });
        await upload.done();
      }
    } catch (error) {
      throw this.translate(error, 'PutObject', key);
    }
    return this.#headAfterWrite(key);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    assertSafeKey(key);
    if (range) assertWellFormedRange(range);
    let response: GetObjectCommandOutput;
    const { sdk, client } = await this.#ready;
    try {
      response = await client.send(
        new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? rangeHeader(range) : undefined }),
      );
    } catch (error) {
      const name = errorName(error);
      if (name === 'NoSuchBucket') throw this.translate(error, 'GetObject');
      if (name === 'NoSuchKey' || httpStatus(error) === 404) throw new BlobNotFoundError(key, { cause: error });
      if (name === 'InvalidRange' || httpStatus(error) === 416) {
        const size = Number((error as S3ErrorLike).ActualObjectSize);
        throw new RangeNotSatisfiableError(
          `Range starting at byte ${range?.start} is not satisfiable for "${key}".`,
          Number.isFinite(size) ? size : undefined,
          { cause: error },
        );
      }
      throw this.translate(error, 'GetObject');
    }
    const body = toReadable(response.Body);
    if (range) {
      // Some stores (s3rver) answer 206 "bytes 0-0/0" for an empty object instead of 416.
      const total = Number(/\/(\d+)$/.exec(response.ContentRange ?? '')?.[1]);
      if (Number.isFinite(total) && range.start >= total) {
        body.destroy();
        throw new RangeNotSatisfiableError(
          `Range starting at byte ${range.start} is not satisfiable: the object has ${total} bytes.`,
          total,
        );
      }
    }
    return body;
  }

  async head(key: string): Promise<BlobInfo | null> {
    assertSafeKey(key);
    const { sdk, client } = await this.#ready;
    try {
      const res = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const info: BlobInfo = {
        key,
        size: res.ContentLength ?? 0,
        etag: res.ETag ?? '',
        lastModified: res.LastModified ?? new Date(0),
      };
      if (res.ContentType) info.contentType = res.ContentType;
      return info;
    } catch (error) {
      if (errorName(error) === 'NotFound' || errorName(error) === 'NoSuchKey' || httpStatus(error) === 404) {
        return null;
      }
      throw this.translate(error, 'HeadObject');
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    const { sdk, client } = await this.#ready;
    try {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw this.translate(error, 'DeleteObject');
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertSafePrefix(prefix, { allowEmpty: false });
    const { sdk, client } = await this.#ready;
    let deleted = 0;
    let ContinuationToken: string | undefined;
    try {
      do {
        const page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken }),
        );
        const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length > 0) {
          const res = await client.send(
            new sdk.DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
          );
          const failed = res.Errors ?? [];
          if (failed.length > 0) {
            const first = failed[0];
            throw new Error(
              `Could not delete ${failed.length} object(s) under "${prefix}", e.g. "${first?.Key}": ${first?.Code} ${first?.Message}`,
            );
          }
          deleted += keys.length;
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (error) {
      throw this.translate(error, 'DeleteObjects');
    }
    return deleted;
  }

  async *list(prefix: string): AsyncGenerator<BlobInfo> {
    assertSafePrefix(prefix, { allowEmpty: true });
    const { sdk, client } = await this.#ready;
    let ContinuationToken: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await client.send(
          new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix || undefined, ContinuationToken }),
        );
      } catch (error) {
        throw this.translate(error, 'ListObjectsV2');
      }
      for (const object of page.Contents ?? []) {
        // Keys written by other tools that break the key rule (e.g. "folder/" markers) are not ours.
        if (!object.Key || !isSafeKey(object.Key)) continue;
        yield {
          key: object.Key,
          size: object.Size ?? 0,
          etag: object.ETag ?? '',
          lastModified: object.LastModified ?? new Date(0),
        };
      }
      ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async openWriter(key: string, opts?: { contentType?: string; partSize?: number }): Promise<BlobWriter> {
    assertSafeKey(key);
    const partSize = opts?.partSize ?? this.#partSize;
    assertPartSize(partSize, 'partSize');
    const { sdk, client } = await this.#ready;
    const upload = (body: PassThrough, contentType: string | undefined) =>
      new sdk.Upload({
        client,
        params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
        partSize,
        queueSize: QUEUE_SIZE,
        // lib-storage aborts the multipart upload itself when its input fails; done() waits for that.
        leavePartsOnError: false,
      });
    return new S3BlobWriter(this, upload, key, opts?.contentType ?? contentTypeFromKey(key));
  }

  /**
   * Real S3 and MinIO implement ListMultipartUploads and AbortMultipartUpload. s3rver 3.7.1 answers
   * ListMultipartUploads with 501 NotImplemented: that surfaces as UnsupportedByStoreError, never as
   * "0 cleaned up". On such a store, rely on a lifecycle rule instead.
   */
  async abortIncompleteWrites(prefix: string, olderThanMs = DEFAULT_INCOMPLETE_WRITE_AGE_MS): Promise<number> {
    assertSafePrefix(prefix, { allowEmpty: true });
    assertAge(olderThanMs);
    const { sdk, client } = await this.#ready;
    const cutoff = Date.now() - olderThanMs;
    let aborted = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    try {
      for (;;) {
        const page = await client.send(
          new sdk.ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix || undefined,
            KeyMarker,
            UploadIdMarker,
          }),
        );
        for (const upload of page.Uploads ?? []) {
          if (!upload.Key || !upload.UploadId) continue;
          const initiated = upload.Initiated?.getTime();
          // Without a start time, only a caller who owns the prefix (olderThanMs = 0) may abort it.
          if (initiated === undefined ? olderThanMs > 0 : initiated > cutoff) continue;
          try {
            await client.send(
              new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.Key, UploadId: upload.UploadId }),
            );
            aborted++;
          } catch (error) {
            if (errorName(error) !== 'NoSuchUpload') throw error; // completed or aborted meanwhile
          }
        }
        if (!page.IsTruncated) break;
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker;
      }
    } catch (error) {
      throw this.translate(error, 'ListMultipartUploads/AbortMultipartUpload');
    }
    return aborted;
  }

  async presignGet(key: string, opts: PresignGetOptions): Promise<string> {
    assertSafeKey(key);
    assertPresignOptions(opts);
    const { sdk, client } = await this.#ready;
    const command = new sdk.GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: opts.fileName !== undefined ? contentDisposition(opts.fileName) : undefined,
      ResponseContentType: opts.contentType,
    });
    return sdk.getSignedUrl(client, command, { expiresIn: opts.expiresInSeconds });
  }

  async check(): Promise<void> {
    const { sdk, client } = await this.#ready;
    try {
      await client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket }), {
        abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
      });
    } catch (error) {
      const why = httpStatus(error) === 404 ? 'does not exist' : `is not reachable (${errorName(error) ?? error})`;
      throw new StorageUnavailableError(`The S3 bucket "${this.bucket}" ${why}.`, { cause: error });
    }
  }

  async close(): Promise<void> {
    (await this.#ready.catch(() => undefined))?.client.destroy();
  }

  async #headAfterWrite(key: string): Promise<BlobInfo> {
    const info = await this.head(key);
    if (!info) throw new BlobNotFoundError(key); // deleted right after the write
    return info;
  }

  /** Maps store failures to the error family; anything unrecognised is rethrown as is. (Internal: the writer uses it.) */
  translate(error: unknown, operation: string, key = ''): unknown {
    if (error instanceof BlobStoreError) return error;
    const name = errorName(error);
    const status = httpStatus(error);
    if ((name && NO_SPACE_NAMES.has(name)) || status === 507) {
      return new InsufficientStorageError(
        key || this.bucket,
        `the S3 store refused it (${operation}: ${name ?? status})`,
        {
          cause: error,
        },
      );
    }
    if (name === 'NoSuchBucket') {
      return new StorageUnavailableError(`The S3 bucket "${this.bucket}" does not exist.`, { cause: error });
    }
    if (name === 'NotImplemented' || status === 501 || name === 'MethodNotAllowed' || status === 405) {
      return new UnsupportedByStoreError(
        operation,
        `This S3-compatible store does not implement ${operation} (${name ?? status}).`,
        { cause: error },
      );
    }
    // The SDK attaches $metadata to transport failures too (without a status); errors of the caller's
    // own source stream carry none and must reach the caller unchanged.
    const transportFailure =
      typeof error === 'object' && error !== null && '$metadata' in error && status === undefined;
    if (transportFailure || status === 503 || name === 'SlowDown' || (name && NETWORK_FAILURE_NAMES.has(name))) {
      return new StorageUnavailableError(`The S3 store is not reachable (${operation}: ${name ?? error}).`, {
        cause: error,
      });
    }
    return error;
  }
}

function toReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  if (body && typeof (body as ReadableStream).getReader === 'function') {
    return Readable.fromWeb(body as import('node:stream/web').ReadableStream);
  }
  throw new TypeError('The S3 client returned a body that is not a stream.');
}

/**
 * A lib-storage Upload fed from a PassThrough. The caller's `stream` forwards into it with
 * backpressure but its end is held back until commit(): lib-storage completes the upload (and the
 * object becomes visible) as soon as its input ends, and a writer must publish only on commit.
 */
class S3BlobWriter implements BlobWriter {
  readonly stream: Writable;
  readonly #store: S3BlobStore;
  readonly #key: string;
  readonly #body = new PassThrough();
  readonly #done: Promise<void>;
  #state: 'open' | 'committing' | 'committed' | 'failed' | 'aborted' = 'open';
  #commit: Promise<BlobInfo> | undefined;
  #abortReason: Error | undefined;

  constructor(
    store: S3BlobStore,
    startUpload: (body: PassThrough, contentType: string | undefined) => { done(): Promise<unknown> },
    key: string,
    contentType: string | undefined,
  ) {
    this.#store = store;
    this.#key = key;
    const upload = startUpload(this.#body, contentType);
    this.#done = upload.done().then(() => undefined);
    this.#done.catch((error: unknown) => {
      if (this.#state === 'open') this.#state = 'failed';
      if (error !== this.#abortReason) this.stream.destroy(error as Error);
    });
    const body = this.#body;
    this.stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        if (body.destroyed) return callback(new Error('The upload has stopped.'));
        if (body.write(chunk)) return callback();
        const settle = (error?: Error) => {
          body.off('drain', onDrain);
          body.off('close', onClose);
          callback(error);
        };
        const onDrain = () => settle();
        const onClose = () => settle(new Error('The upload has stopped.'));
        body.once('drain', onDrain);
        body.once('close', onClose);
      },
      final(callback) {
        callback(); // publishing waits for commit()
      },
    });
  }

  commit(): Promise<BlobInfo> {
    if (this.#state !== 'open') {
      return Promise.reject(new Error(`The writer for "${this.#key}" is already ${this.#state}.`));
    }
    this.#state = 'committing';
    this.#commit = this.#publish();
    return this.#commit;
  }

  async #publish(): Promise<BlobInfo> {
    try {
      if (!this.stream.writableEnded) this.stream.end();
      await finished(this.stream);
      this.#body.end();
      await this.#done;
      this.#state = 'committed';
    } catch (error) {
      this.#state = 'failed';
      if (!this.#body.destroyed) this.#body.destroy(error as Error);
      await this.#done.catch(() => {});
      throw this.#store.translate(error, 'multipart upload', this.#key);
    }
    const info = await this.#store.head(this.#key);
    if (!info) throw new BlobNotFoundError(this.#key);
    return info;
  }

  async abort(): Promise<void> {
    if (this.#state === 'committing') await this.#commit?.catch(() => {});
    if (this.#state === 'committed' || this.#state === 'aborted') return;
    const failedBefore = this.#state === 'failed';
    this.#state = 'aborted';
    const reason = new Error(`The write of "${this.#key}" was aborted.`);
    reason.name = 'AbortError';
    this.#abortReason = reason;
    if (!this.stream.destroyed) this.stream.destroy();
    this.#body.destroy(reason);
    try {
      await this.#done;
    } catch (error) {
      // Our own reason coming back means lib-storage aborted the multipart upload (or never began one).
      if (error === reason || failedBefore) return;
      throw new IncompleteAbortError(this.#key, { cause: error });
    }
  }
}
