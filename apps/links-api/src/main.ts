import { LinksApiConfig } from '@immish/contracts';
import { createSharedLinkStore, PREPARED_STATEMENTS } from '@immish/domain';
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

const config = loadConfigOrExit(LinksApiConfig, 'links-api');
const logger = createLogger({ service: 'links-api', level: config.LOG_LEVEL });
const metrics = createMetrics('links-api');
// the owner's hot link statements run named, parsed and planned once per connection (domain prepared-statements.ts)
const services = createBackingServices(config, {
  logger,
  service: 'links-api',
  metrics,
  preparedStatements: PREPARED_STATEMENTS,
});
// link creation batches concurrent creates into one statement (domain shared-links/store.ts says why)
const linkStore = createSharedLinkStore(services.db, { batching: true });
const app = await buildApp({ config, ...services, linkStore, logger, metrics });
await app.listen({ host: config.HOST, port: config.LINKS_API_PORT });
// metrics and detailed health: the internal port, never the public one (issue 12 item 11)
const ops = await startOpsServer({
  logger: false,
  metrics,
  readiness: services.readiness,
  host: config.METRICS_HOST,
  port: config.LINKS_API_METRICS_PORT,
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
