export { anonymousFileName, durationMs, toAssetResponseDto, videoPlayback } from './dto.ts';
export { assetKeys, derivativeKeys } from './keys.ts';
export { assetColumns, requireAssetRow } from './queries.ts';
export { assetStatistics, bulkUploadCheck, parseChecksum, trashAssets } from './service.ts';
