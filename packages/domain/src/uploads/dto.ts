import type { UploadBatchDto, UploadBatchTotals, UploadItemDto } from '@immish/contracts';
import type { UploadBatchRow, UploadItemRow } from '@immish/db';

const emptyTotals = (): UploadBatchTotals => ({
  total: 0,
  receiving: 0,
  stored: 0,
  processing: 0,
  ready: 0,
  duplicate: 0,
  failed: 0,
});

export function toUploadBatchDto(batch: UploadBatchRow, items: readonly UploadItemRow[]): UploadBatchDto {
  const totals = emptyTotals();
  const dtos: UploadItemDto[] = items.map((item) => {
    totals.total++;
    totals[item.status]++;
    return {
      fileName: item.file_name,
      status: item.status,
      ...(item.asset_id ? { assetId: item.asset_id } : {}),
      ...(item.status === 'failed' && item.error ? { error: item.error } : {}),
      ...(item.size !== null ? { size: Number(item.size) } : {}),
    };
  });
  return {
    id: batch.id,
    status: batch.status,
    albumId: batch.album_id,
    items: dtos,
    totals,
    createdAt: batch.created_at.toISOString(),
    completedAt: batch.completed_at ? batch.completed_at.toISOString() : null,
  };
}
