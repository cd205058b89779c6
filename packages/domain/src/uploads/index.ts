export {
  addUploadItem,
  closeAbandonedUploadBatches,
  createUploadBatch,
  finalizeUploadItem,
  getUploadBatch,
} from './batches.ts';
export { placeAssets, type UploadPlacement } from './placement.ts';
export {
  type AssetUploadInput,
  type ReceiveBatchInput,
  receiveAssetUpload,
  receiveUploadBatch,
  type UploadPart,
} from './receive.ts';
export {
  assertQuota,
  duplicateByChecksum,
  receiveUpload,
  type ThroughLink,
  type UploadDeps,
  type UploadMetadata,
  type UploadOutcome,
} from './service.ts';
