export * from './archive/index.ts';
export { processMaintenanceJob, scheduleExportCleanup } from './cleanup.ts';
export {
  type ExportJobAttempt,
  type ExportJobDeps,
  type ExportJobResult,
  planExport,
  processExportJob,
} from './processor.ts';
export { ProgressReporter } from './progress.ts';
export { ReadThrottle } from './throttle.ts';
export { type ExportWorker, startExportWorker } from './worker.ts';
