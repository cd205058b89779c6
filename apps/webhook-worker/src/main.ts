import { WebhookWorkerConfig } from '@immish/contracts';
import { runWorkerProcess } from '@immish/runtime';
import { startWebhookWorker } from './worker.ts';

// Webhook worker process (issue 18, README "Webhooks and link activity"): delivers owners' events to their endpoints.
await runWorkerProcess({
  service: 'webhook-worker',
  config: WebhookWorkerConfig,
  metricsPort: (config) => config.WEBHOOK_METRICS_PORT,
  start: ({ config, services, logger, metrics }) => startWebhookWorker({ config, db: services.db, logger, metrics }),
});
