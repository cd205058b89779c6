import type { LinkUploadDto } from '@immish/contracts';
import type { LinkUploadListRow } from './queries.ts';

/**
 * One upload of the owner's review queue. `thumbnailUrl` is the owner API's own thumbnail route (the asset is the
 * owner's), there once the ingest worker has made it; a rejected upload has no asset any more.
 */
export function toLinkUploadDto(row: LinkUploadListRow): LinkUploadDto {
  return {
    assetId: row.asset_id,
    status: row.status,
    bytes: Number(row.bytes),
    fileName: row.original_file_name ?? '',
    type: row.type ?? 'OTHER',
    thumbnailUrl: row.thumbnail_key ? `/api/assets/${row.asset_id}/thumbnail` : null,
    createdAt: row.created_at.toISOString(),
    decidedAt: row.decided_at ? row.decided_at.toISOString() : null,
  };
}
