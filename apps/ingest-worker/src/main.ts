import { IngestWorkerConfig } from '@immish/contracts';
import {
  createBackingServices,
  createHttpApp,
  createLogger,
  createMetrics,
  handleShutdown,
  loadConfigOrExit,
} from '@immish/runtime';
import { startIngestWorker } from './worker.ts';

// Ingest worker process (SPEC §2, §8): config → connections → queue worker → health/metrics → signals.
const config = loadConfigOrExit(IngestWorkerConfig, 'ingest-worker');
const logger = createLogger({ service: 'ingest-worker', level: config.LOG_LEVEL });
const metrics = createMetrics('ingest-worker');
const services = createBackingServices(config, { logger, service: 'ingest-worker', metrics });
const worker = startIngestWorker({ config, db: services.db, storage: services.storage, logger, metrics });
const http = createHttpApp({ logger: false, metrics, readiness: services.readiness });
await http.listen({ host: '0.0.0.0', port: config.INGEST_METRICS_PORT });
logger.info({ port: config.INGEST_METRICS_PORT, concurrency: worker.concurrency }, 'ingest worker started');
// The queue worker closes first: in-flight jobs finish (or go back to the queue as stalled) before the
// connections they need are closed.
handleShutdown(
  [
    { name: 'queue worker', run: () => worker.close() },
    { name: 'http', run: () => http.close() },
    { name: 'backing services', run: () => services.close() },
  ],
  { logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS },
);
