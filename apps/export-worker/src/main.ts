import { ExportWorkerConfig } from '@immish/contracts';
import { runWorkerProcess } from '@immish/runtime';
import { startExportWorker } from './worker.ts';

// Export worker process (docs/spec.md §2, §7).
await runWorkerProcess({
  service: 'export-worker',
  config: ExportWorkerConfig,
  metricsPort: (config) => config.EXPORT_METRICS_PORT,
  start: ({ config, services, logger, metrics }) =>
    startExportWorker({ config, db: services.db, storage: services.storage, logger, metrics }),
});
