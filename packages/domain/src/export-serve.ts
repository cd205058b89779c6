import type { ExportRow } from '@immish/db';
import { conflict, gone, invalid } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import { type BlobReply, parseByteRange, serveBlob } from './asset-serving.ts';

/**
 * Serving one part of a ready export (docs/spec.md §7 "Downloads") through the shared `serveBlob`:
 * `Content-Length`, RFC 6266 `Content-Disposition` (attachment), `Accept-Ranges`, single byte ranges
 * (206, resume; `If-Range`), 416 for a range past the end; with the S3 driver and presigned redirects
 * on, a 302 to a URL valid 60 s.
 */

/** The bits of a fastify reply this needs (so the gateway and the links-api share it). */
export type ReplyLike = BlobReply & { readonly statusCode?: number };

export interface ServeExportPartOptions {
  /** the request's `Range` header */
  range?: string | undefined;
  /** the request's `If-Range` header: a range is honoured only if it still names this part's ETag */
  ifRange?: string | undefined;
  /** the request's `If-None-Match` header */
  ifNoneMatch?: string | undefined;
  /** S3_PRESIGNED_REDIRECTS: answer 302 to a presigned URL (s3 driver only) instead of proxying */
  presignedRedirects?: boolean;
  now?: Date;
}

export interface ServeExportPartResult {
  /** 304 when If-None-Match named the part's ETag */
  statusCode: 200 | 206 | 302 | 304;
  /**
   * Whether this response carries (or redirects to) the part's last byte: the gateway counts a
   * completed download (`countLinkExportDownload`) for the last part once such a response finished.
   */
  deliversLastByte: boolean;
}

/** Presigned URLs for parts live this long (docs/spec.md §5.3: ≤ 60 s). */
export const EXPORT_PRESIGN_SECONDS = 60;

export const exportPartEtag = (row: ExportRow, index: number): string =>
  `"${row.id}-${index}-${(row.completed_at ?? row.updated_at).getTime().toString(36)}"`;

/**
 * Sends part `index` (1-based) of the export. The caller has already resolved the export for its
 * requester (`getExport`). Not ready → 409, expired or its archive gone → 410, no such part → 400,
 * bad range → 416.
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
  if (!(await storage.head(part.storageKey))) throw gone('This export is no longer available; request a new one');

  const etag = exportPartEtag(row, index);
  const rangeApplies = opts.ifRange === undefined || opts.ifRange.trim() === etag;
  const range = rangeApplies ? parseByteRange(opts.range, part.size) : null;
  const presigned = opts.presignedRedirects === true && storage.driver === 's3';
  await serveBlob(reply, storage, part.storageKey, {
    range: opts.range,
    ifRange: opts.ifRange,
    ifNoneMatch: opts.ifNoneMatch,
    etag,
    fileName: part.fileName,
    disposition: 'attachment',
    contentType: 'application/zip',
    ...(presigned ? { presignSeconds: EXPORT_PRESIGN_SECONDS } : {}),
  });
  const expected = presigned ? 302 : range && range !== 'unsatisfiable' ? 206 : 200;
  const statusCode = reply.statusCode === 304 ? 304 : expected;
  const deliversLastByte =
    statusCode !== 304 && (range === null || (range !== 'unsatisfiable' && range.end === part.size - 1));
  return { statusCode, deliversLastByte };
}
