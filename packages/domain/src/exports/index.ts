export { exportPartToServe } from './download.ts';
export { toExportDto } from './dto.ts';
export { exportPartKey, exportStoragePrefix } from './keys.ts';
export {
  completeExport,
  type ExpireExportsResult,
  type ExportSourceAsset,
  expireExports,
  exportHiddenByTrash,
  exportMustHideMetadata,
  failExport,
  loadExportAssets,
  recordExportProgress,
} from './lifecycle.ts';
export { type ExportLimits, exportClientKey } from './limits.ts';
export { beginExportAttempt, countLinkExportDownload } from './queries.ts';
export {
  deleteExport,
  type ExportRequester,
  getExport,
  type RequestExportInput,
  type RequestExportResult,
  requestExport,
} from './service.ts';
