import { DomainError, gone, invalid, noAccess, unavailable } from '@immish/contracts';
import {
  type BlobInfo,
  type BlobStore,
  BlobStoreError,
  contentDisposition,
  RangeNotSatisfiableError,
} from '@immish/storage';
import { parseByteRange } from './byte-range.ts';
import { etagMatches } from './etag.ts';

/** The part of a fastify reply serveBlob needs (structural, so a test can pass a plain object). */
export interface BlobReply {
  status(statusCode: number): unknown;
  header(name: string, value: string): unknown;
  send(payload?: unknown): unknown;
}

export interface ServeBlobOptions {
  /** the request's `Range` header, if any (single ranges are honoured; multi-ranges get the whole object) */
  range?: string | undefined;
  /** the request's `If-None-Match` header: a match answers 304 */
  ifNoneMatch?: string | undefined;
  /** the request's `If-Range` header: the range is honoured only when it matches the current ETag (strongly) */
  ifRange?: string | undefined;
  /** an ETag to use instead of the store's (must be quoted) */
  etag?: string;
  /** sets Content-Disposition (RFC 6266 with `filename*`) */
  fileName?: string;
  disposition?: 'inline' | 'attachment';
  contentType?: string;
  /** default `private, max-age=0, must-revalidate`; derivatives can use `private, max-age=86400, immutable` */
  cacheControl?: string;
  /** S3 only: answer 302 to a presigned URL valid this many seconds (≤ 60 per docs/spec.md §5.3) instead of proxying */
  presignSeconds?: number;
  /** answer headers only (HEAD) */
  headOnly?: boolean;
}

/** Maps blob-store failures onto domain errors (a missing object is "not found" like any missing asset). */
export function blobError(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  if (err instanceof BlobStoreError) {
    if (err.code === 'BLOB_NOT_FOUND') return noAccess('The file of this asset is not available');
    if (err.code === 'STORAGE_UNAVAILABLE') return unavailable('Storage is unavailable; retry shortly');
    if (err.status >= 400 && err.status < 500) return invalid(err.message);
  }
  return err;
}

/**
 * Serves one stored object over HTTP: ETag / If-None-Match (304), single Range requests (206 with
 * Content-Range, 416 when unsatisfiable), Content-Length, Accept-Ranges, Last-Modified, Content-Disposition
 * per RFC 6266, and optionally a 302 to a short-lived presigned URL (S3). Streams; never buffers the object.
 * Used by the links-api, the share-gateway and the export downloads.
 */
export async function serveBlob(reply: BlobReply, storage: BlobStore, key: string, opts: ServeBlobOptions = {}) {
  let info: BlobInfo | null;
  try {
    info = await storage.head(key);
  } catch (err) {
    throw blobError(err);
  }
  if (!info) throw noAccess('The file of this asset is not available');
  const etag = opts.etag ?? info.etag;
  const contentType = opts.contentType ?? info.contentType ?? 'application/octet-stream';

  reply.header('etag', etag);
  reply.header('last-modified', info.lastModified.toUTCString());
  reply.header('cache-control', opts.cacheControl ?? 'private, max-age=0, must-revalidate');
  reply.header('accept-ranges', 'bytes');
  if (opts.fileName) reply.header('content-disposition', contentDisposition(opts.fileName, opts.disposition));

  if (etagMatches(opts.ifNoneMatch, etag)) {
    reply.status(304);
    return reply.send();
  }

  if (opts.presignSeconds !== undefined && storage.driver === 's3') {
    const url = await storage
      .presignGet(key, {
        expiresInSeconds: Math.min(Math.max(1, opts.presignSeconds), 60),
        ...(opts.fileName ? { fileName: opts.fileName } : {}),
        contentType,
      })
      .catch((err) => {
        throw blobError(err);
      });
    if (url) {
      reply.header('location', url);
      reply.status(302);
      return reply.send();
    }
  }

  const rangeAllowed = !opts.ifRange || etagMatches(opts.ifRange, etag, 'strong');
  const range = rangeAllowed ? parseByteRange(opts.range, info.size) : null;
  reply.header('content-type', contentType);
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${info.size}`);
    throw new DomainError('range', `Range "${opts.range}" is not satisfiable: the file has ${info.size} bytes`);
  }
  if (range) {
    reply.status(206);
    reply.header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    reply.header('content-length', String(range.end - range.start + 1));
  } else {
    reply.status(200);
    reply.header('content-length', String(info.size));
  }
  if (opts.headOnly) return reply.send();
  try {
    const body = await storage.get(key, range ? { start: range.start, end: range.end } : undefined);
    return reply.send(body);
  } catch (err) {
    if (err instanceof RangeNotSatisfiableError) {
      reply.header('content-range', `bytes */${err.size ?? info.size}`);
      throw new DomainError('range', err.message);
    }
    throw blobError(err);
  }
}

/** A file offered for download in parts (an export's zip part): where it is, its size, name and ETag. */
export interface DownloadPart {
  storageKey: string;
  size: number;
  fileName: string;
  /** quoted, strong */
  etag: string;
}

export interface ServeDownloadPartOptions {
  /** the request's `Range` header */
  range?: string | undefined;
  /** the request's `If-Range` header: a range is honoured only if it still names this part's ETag */
  ifRange?: string | undefined;
  /** the request's `If-None-Match` header */
  ifNoneMatch?: string | undefined;
  /** S3_PRESIGNED_REDIRECTS: answer 302 to a presigned URL (s3 driver only) instead of proxying */
  presignedRedirects?: boolean;
}

export interface ServeDownloadPartResult {
  /** 304 when If-None-Match named the part's ETag */
  statusCode: 200 | 206 | 302 | 304;
  /**
   * Whether this response carries (or redirects to) the part's last byte: the gateway counts a
   * completed download (`countLinkExportDownload`) for the last part once such a response finished.
   */
  deliversLastByte: boolean;
}

/** Presigned URLs for download parts live this long (docs/spec.md §5.3: ≤ 60 s). */
export const DOWNLOAD_PRESIGN_SECONDS = 60;

/**
 * Sends one download part (docs/spec.md §7 "Downloads") through `serveBlob`: Content-Length, RFC 6266
 * Content-Disposition (attachment), Accept-Ranges, single byte ranges (206, resume; If-Range), 416 for a range
 * past the end; with the S3 driver and presigned redirects on, a 302 to a URL valid 60 s. Whether the part may
 * be served at all is the domain's rule (`exportPartToServe`); an archive gone from storage answers 410.
 */
export async function serveDownloadPart(
  reply: BlobReply & { readonly statusCode?: number },
  storage: BlobStore,
  part: DownloadPart,
  opts: ServeDownloadPartOptions = {},
): Promise<ServeDownloadPartResult> {
  if (!(await storage.head(part.storageKey))) throw gone('This export is no longer available; request a new one');
  const rangeApplies = opts.ifRange === undefined || etagMatches(opts.ifRange, part.etag, 'strong');
  const range = rangeApplies ? parseByteRange(opts.range, part.size) : null;
  const presigned = opts.presignedRedirects === true && storage.driver === 's3';
  await serveBlob(reply, storage, part.storageKey, {
    range: opts.range,
    ifRange: opts.ifRange,
    ifNoneMatch: opts.ifNoneMatch,
    etag: part.etag,
    fileName: part.fileName,
    disposition: 'attachment',
    contentType: 'application/zip',
    ...(presigned ? { presignSeconds: DOWNLOAD_PRESIGN_SECONDS } : {}),
  });
  const expected = presigned ? 302 : range && range !== 'unsatisfiable' ? 206 : 200;
  const statusCode = reply.statusCode === 304 ? 304 : expected;
  const deliversLastByte =
    statusCode !== 304 && (range === null || (range !== 'unsatisfiable' && range.end === part.size - 1));
  return { statusCode, deliversLastByte };
}
