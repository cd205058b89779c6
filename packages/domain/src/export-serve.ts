import type { ExportRow } from '@immish/db';
import { conflict, DomainError, gone, invalid } from '@immish/runtime';
import { BlobNotFoundError, type BlobStore, type ByteRange, contentDisposition } from '@immish/storage';

/**
 * Serving one part of a ready export (SPEC §7 "Downloads"): `Content-Length`, RFC 6266
 * `Content-Disposition`, `Accept-Ranges`, single byte ranges (206, resume) and 416 for a range
 * past the end; with the S3 driver and presigned redirects on, a 302 to a URL valid 60 s.
 *
 * NOTE: written for exports while a generic `serveBlob` for asset originals was being written in
 * parallel; the range parsing below is generic and may move there.
 */

/** The bits of a fastify reply this needs (so the gateway and the links-api share it). */
export interface ReplyLike {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
  send(payload?: unknown): unknown;
}

export interface ServeExportPartOptions {
  /** the request's `Range` header */
  range?: string | undefined;
  /** the request's `If-Range` header: a range is honoured only if it still names this part's ETag */
  ifRange?: string | undefined;
  /** S3_PRESIGNED_REDIRECTS: answer 302 to a presigned URL (s3 driver only) instead of proxying */
  presignedRedirects?: boolean;
  now?: Date;
}

export interface ServeExportPartResult {
  statusCode: 200 | 206 | 302;
  /**
   * Whether this response carries (or redirects to) the part's last byte: the gateway counts a
   * completed download (`countLinkExportDownload`) for the last part once such a response finished.
   */
  deliversLastByte: boolean;
}

/** Presigned URLs for parts live this long (SPEC §5.3: ≤ 60 s). */
export const EXPORT_PRESIGN_SECONDS = 60;

export type ParsedRange = { kind: 'none' } | { kind: 'unsatisfiable' } | { kind: 'range'; start: number; end: number };

/**
 * RFC 9110 §14.1.2 for one `bytes` range (`a-b`, `a-`, `-n`) of an object of `size` bytes. Anything
 * else — another unit, several ranges, bad syntax — is ignored (the whole object is served), as the
 * RFC allows; a syntactically valid range that selects no byte is unsatisfiable (416).
 */
export function parseRangeHeader(header: string | undefined, size: number): ParsedRange {
  if (header === undefined) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return { kind: 'none' };
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return { kind: 'none' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Number.MAX_SAFE_INTEGER : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return { kind: 'none' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end: Math.min(end, size - 1) };
}

export const exportPartEtag = (row: ExportRow, index: number): string =>
  `"${row.id}-${index}-${(row.completed_at ?? row.updated_at).getTime().toString(36)}"`;

/**
 * Sends part `index` (1-based) of the export. The caller has already resolved the export for its
 * requester (`getExport`). Not ready → 409, expired → 410, no such part → 400, bad range → 416.
 */
export async function serveExportPart(
  reply: ReplyLike,
  storage: BlobStore,
  row: ExportRow,
  index: number,
  opts: ServeExportPartOptions = {},
): Promise<ServeExportPartResult> {
  const now = opts.now ?? new Date();
  if (row.status === 'expired' || (row.status === 'ready' && row.expires_at !== null && row.expires_at <= now)) {
    throw gone('This export has expired; request a new one');
  }
  if (row.status !== 'ready') {
    throw conflict(
      row.status === 'failed'
        ? 'This export failed; request a new one'
        : `This export is not ready yet (${row.status}); poll it until its status is "ready"`,
    );
  }
  const part = row.parts.find((p) => p.index === index);
  if (!part) throw invalid(`This export has ${row.parts.length} part(s); part ${index} does not exist`);

  const etag = exportPartEtag(row, index);
  const rangeApplies = opts.range !== undefined && (opts.ifRange === undefined || opts.ifRange.trim() === etag);
  const range = rangeApplies ? parseRangeHeader(opts.range, part.size) : ({ kind: 'none' } as const);

  if (opts.presignedRedirects && storage.driver === 's3') {
    const url = await storage.presignGet(part.storageKey, {
      expiresInSeconds: EXPORT_PRESIGN_SECONDS,
      fileName: part.fileName,
      contentType: 'application/zip',
    });
    if (url) {
      reply.header('location', url);
      reply.header('cache-control', 'no-store');
      reply.status(302);
      reply.send();
      return { statusCode: 302, deliversLastByte: range.kind !== 'range' || range.end === part.size - 1 };
    }
  }

  reply.header('accept-ranges', 'bytes');
  reply.header('etag', etag);
  reply.header('content-type', 'application/zip');
  reply.header('content-disposition', contentDisposition(part.fileName));
  reply.header('cache-control', 'private, no-transform');
  if (range.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${part.size}`);
    throw new DomainError('range', `Range not satisfiable: this part has ${part.size} bytes (${opts.range})`);
  }
  if (range.kind === 'range') {
    const body = await openPart(storage, part.storageKey, { start: range.start, end: range.end });
    reply.header('content-range', `bytes ${range.start}-${range.end}/${part.size}`);
    reply.header('content-length', String(range.end - range.start + 1));
    reply.status(206);
    reply.send(body);
    return { statusCode: 206, deliversLastByte: range.end === part.size - 1 };
  }
  const body = await openPart(storage, part.storageKey);
  reply.header('content-length', String(part.size));
  reply.status(200);
  reply.send(body);
  return { statusCode: 200, deliversLastByte: true };
}

async function openPart(storage: BlobStore, key: string, range?: ByteRange) {
  try {
    return await storage.get(key, range);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw gone('This export is no longer available; request a new one');
    throw err;
  }
}
