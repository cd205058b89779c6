import type { ExportDto } from '@immish/contracts';
import type { ExportRow } from '@immish/db';
import { effectiveExportStatus } from './service.ts';

/**
 * The API shape (docs/spec.md §4.5). `downloadUrlFor(index)` builds the part URL for the caller's surface
 * (`/api/exports/:id/parts/:n/download` or `/share/:key/exports/:id/parts/:n/download`); parts and
 * their URLs are listed only while the export is ready.
 */
export function toExportDto(row: ExportRow, downloadUrlFor: (index: number) => string, now = new Date()): ExportDto {
  const status = effectiveExportStatus(row, now);
  const ready = status === 'ready';
  return {
    id: row.id,
    status,
    progress: { bytesDone: Number(row.bytes_done), bytesTotal: Number(row.bytes_total) },
    parts: ready
      ? row.parts.map((p) => ({
          index: p.index,
          fileName: p.fileName,
          size: p.size,
          downloadUrl: downloadUrlFor(p.index),
        }))
      : [],
    expiresAt: row.expires_at ? row.expires_at.toISOString() : null,
    ...(row.error !== null && status === 'failed' ? { error: row.error } : {}),
    ...(row.hides_metadata && ready
      ? { substitutions: row.substitutions.map(({ assetId, reason, substitute }) => ({ assetId, reason, substitute })) }
      : {}),
  };
}
