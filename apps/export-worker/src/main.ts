import { ExportWorkerConfig } from '@immish/contracts';
import {
  createBackingServices,
  createHttpApp,
  createLogger,
  createMetrics,
  handleShutdown,
  loadConfigOrExit,
} from '@immish/runtime';
import { startExportWorker } from './worker.ts';

// Export worker process (SPEC §2, §7): config → connections → queue workers → health/metrics → signals.
const config = loadConfigOrExit(ExportWorkerConfig, 'export-worker');
const logger = createLogger({ service: 'export-worker', level: config.LOG_LEVEL });
const metrics = createMetrics('export-worker');
const services = createBackingServices(config, { logger, service: 'export-worker', metrics });
const worker = await startExportWorker({ config, db: services.db, storage: services.storage, logger, metrics });
const http = createHttpApp({ logger: false, metrics, readiness: services.readiness });
await http.listen({ host: '0.0.0.0', port: config.EXPORT_METRICS_PORT });
logger.info({ port: config.EXPORT_METRICS_PORT, concurrency: config.EXPORT_CONCURRENCY }, 'export worker started');
handleShutdown(
  [
    { name: 'http', run: () => http.close() },
    { name: 'queue workers', run: () => worker.close() },
    { name: 'backing services', run: () => services.close() },
  ],
  { logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS },
);
