import { IngestWorkerConfig } from '@immish/contracts';
import { runWorkerProcess } from '@immish/runtime';
import { startIngestWorker } from './worker.ts';

// Ingest worker process (docs/spec.md §2, §8).
await runWorkerProcess({
  service: 'ingest-worker',
  config: IngestWorkerConfig,
  metricsPort: (config) => config.INGEST_METRICS_PORT,
  start: ({ config, services, logger, metrics }) =>
    startIngestWorker({ config, db: services.db, storage: services.storage, logger, metrics }),
});
