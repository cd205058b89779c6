import type { BackgroundWorkerConfig, CoreConfig } from '@immish/contracts';
import type { Static, TObject } from 'typebox';
import { loadConfigOrExit } from './config.ts';
import { lowerCpuPriority } from './cpu-priority.ts';
import { tuneGarbageCollection } from './gc-tuning.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { startOpsServer } from './ops.ts';
import { type BackingServices, createBackingServices } from './services.ts';
import { handleShutdown } from './shutdown.ts';

export interface WorkerProcessContext<C> {
  config: C;
  services: BackingServices;
  logger: Logger;
  metrics: Metrics;
}

/**
 * The process around a worker service (docs/spec.md §2, §12): config → CPU priority (WORKER_NICE, cpu-priority.ts)
 * → connections → queue workers → the internal HTTP port (ops.ts: /health and /metrics on METRICS_HOST) → signals.
 * On SIGTERM the queue workers close first, so in-flight jobs finish (or go back to the queue as stalled) before the
 * connections they need are closed.
 */
export async function runWorkerProcess<T extends TObject>(opts: {
  service: string;
  config: T;
  metricsPort: (config: Static<T>) => number;
  start: (ctx: WorkerProcessContext<Static<T>>) => Promise<{ close(): Promise<void> }> | { close(): Promise<void> };
}): Promise<void> {
  const config = loadConfigOrExit(opts.config, opts.service) as Static<T> & CoreConfig & BackgroundWorkerConfig;
  const logger = createLogger({ service: opts.service, level: config.LOG_LEVEL });
  // before any connection or job starts a thread: those made later inherit the lowered priority
  const priority = config.WORKER_NICE > 0 ? lowerCpuPriority(config.WORKER_NICE) : null;
  if (priority && priority.failed > 0)
    logger.warn({ priority }, 'could not lower the CPU priority of every thread (WORKER_NICE)');
  const metrics = createMetrics(opts.service);
  const services = createBackingServices(config, { logger, service: opts.service, metrics });
  const worker = await opts.start({ config, services, logger, metrics });
  const port = opts.metricsPort(config);
  const http = await startOpsServer({
    logger: false,
    metrics,
    readiness: services.readiness,
    host: config.METRICS_HOST,
    port,
  });
  tuneGarbageCollection(); // once started (gc-tuning.ts says why not before)
  logger.info({ port, nice: config.WORKER_NICE }, `${opts.service} started`);
  handleShutdown(
    [
      { name: 'queue workers', run: () => worker.close() },
      { name: 'http', run: () => http.close() },
      { name: 'backing services', run: () => services.close() },
    ],
    { logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS },
  );
}
