import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { errorBody, readinessReport } from './http/app.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

export interface OpsAppOptions {
  logger: Logger | false;
  metrics: Metrics;
  /** the same checks the public `/health/ready` runs, reported here by name with the reason of a failure */
  readiness?: Record<string, () => Promise<unknown>>;
}

/**
 * The internal port of every service (docs/spec.md §12; issue 12 item 11): what only operators need, kept off the ports
 * that face clients and the internet. `GET /metrics` (Prometheus: the service's registry, i.e. the public app's
 * request latencies, queue depth and wait, job durations, outbox lag), `GET /health/ready` with each check's
 * outcome (`{status, checks: {postgres: 'ok', redis: 'connect ECONNREFUSED …'}}`, 503 + Retry-After when one
 * fails) and `GET /health/live`. Its own requests are not recorded in the latency histogram (scrapes and probes
 * would drown the traffic they measure). The workers serve only this; the HTTP services serve it next to their
 * public app, on METRICS_HOST:<service>_METRICS_PORT.
 */
export function createOpsApp(opts: OpsAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger || undefined,
    logger: opts.logger ? undefined : false,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  } as never) as unknown as FastifyInstance;
  const registry = opts.metrics.registry;
  app.get('/health/live', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { logLevel: 'warn' }, async (_req, reply) => {
    const { ok, checks } = await readinessReport(opts.readiness);
    if (!ok) reply.status(503).header('retry-after', '5');
    return { status: ok ? 'ok' : 'unavailable', checks };
  });
  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody(404, `Cannot ${req.method} ${req.url.split('?')[0]}`, String(req.id)));
  });
  return app;
}

/** Builds the ops app and listens on `host:port` (main.ts of every service); close it after the public app. */
export async function startOpsServer(opts: OpsAppOptions & { host: string; port: number }): Promise<FastifyInstance> {
  const app = createOpsApp(opts);
  await app.listen({ host: opts.host, port: opts.port });
  return app;
}
