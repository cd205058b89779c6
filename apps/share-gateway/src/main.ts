import { GatewayConfig } from '@immish/contracts';
import {
  createBackingServices,
  createLogger,
  createMetrics,
  handleShutdown,
  loadConfigOrExit,
  startOpsServer,
  tuneGarbageCollection,
} from '@immish/runtime';
import { buildApp } from './app.ts';
import { passwordVerificationGate } from './unlock.ts';

const config = loadConfigOrExit(GatewayConfig, 'share-gateway');
const logger = createLogger({ service: 'share-gateway', level: config.LOG_LEVEL });
const metrics = createMetrics('share-gateway');
const services = createBackingServices(config, { logger, service: 'share-gateway', metrics });
const app = await buildApp({
  config,
  ...services,
  logger,
  metrics,
  passwordVerifications: passwordVerificationGate(config),
});
await app.listen({ host: config.HOST, port: config.GATEWAY_PORT });
// metrics and detailed health: the internal port, never the public one (issue 12 item 11)
const ops = await startOpsServer({
  logger: false,
  metrics,
  readiness: services.readiness,
  host: config.METRICS_HOST,
  port: config.GATEWAY_METRICS_PORT,
});
// once started: when the garbage collector starts marking from now on (runtime gc-tuning.ts)
tuneGarbageCollection();
handleShutdown(
  [
    { name: 'http', run: () => app.close() },
    { name: 'internal http', run: () => ops.close() },
    { name: 'backing services', run: () => services.close() },
  ],
  { logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS },
);
