import { conflict, gone, invalid } from '@immish/contracts';
import type { ExportRow } from '@immish/db';

/**
 * Which part of an export may be downloaded (docs/spec.md §7 "Downloads"): the rule. Sending its bytes (ranges,
 * ETags, presigned redirects) is HTTP, done by @immish/runtime's `serveDownloadPart` with what this returns.
 */

export const exportPartEtag = (row: ExportRow, index: number): string =>
  `"${row.id}-${index}-${(row.completed_at ?? row.updated_at).getTime().toString(36)}"`;

/**
 * Part `index` (1-based) of an export the caller has already resolved for its requester (`getExport`), with its
 * ETag. Not ready → 409, expired → 410, no such part → 400.
 */
export function exportPartToServe(
  row: ExportRow,
  index: number,
  now: Date = new Date(),
): { storageKey: string; size: number; fileName: string; etag: string } {
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
  return { storageKey: part.storageKey, size: part.size, fileName: part.fileName, etag: exportPartEtag(row, index) };
}
