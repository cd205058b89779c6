import { DomainError, invalid, noAccess, unavailable } from '@immish/runtime';
import {
  type BlobInfo,
  type BlobStore,
  BlobStoreError,
  contentDisposition,
  RangeNotSatisfiableError,
} from '@immish/storage';

/** The part of a fastify reply serveBlob needs (kept structural so this package does not depend on fastify). */
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
  /** the request's `If-Range` header: the range is honoured only when it matches the current ETag */
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

export type ParsedByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * Parses a `Range` header against an object size (RFC 9110 §14.1.2). Returns null when the header is
 * absent, malformed or asks for several ranges (the whole object is then served, as the RFC allows),
 * 'unsatisfiable' when it cannot be served (→ 416).
 */
export function parseByteRange(header: string | undefined, size: number): ParsedByteRange {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return null; // syntactically invalid → ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const weakless = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => weakless(t) === weakless(etag));
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

  const rangeAllowed = !opts.ifRange || etagMatches(opts.ifRange, etag);
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
