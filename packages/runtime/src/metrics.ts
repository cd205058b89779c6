import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { LatencyHistogram } from './latency-histogram.ts';

export { Gauge };

/** One registry per service process (no global singleton), passed to whatever records metrics. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // Event-loop delay (issue 17: `nodejs_eventloop_lag_p50|p90|p99|max_seconds`, monitorEventLoopDelay, reset at
  // each scrape): sampled every 1 ms, not prom-client's default 10 ms. Each sample is the interval between two
  // timer turns, so it includes the sampling period: at 10 ms an idle process read p99 ≈ 12 ms and a 10 ms
  // target could not be told; at 1 ms an idle process reads ≈ 1.3 ms and a stall shows as itself.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1 });
  // every answer of every service observes this one: a histogram made for that (latency-histogram.ts)
  const httpDuration = new LatencyHistogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const jobDuration = new Histogram({
    name: 'job_duration_seconds',
    help: 'BullMQ job processing time',
    labelNames: ['queue', 'outcome'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const jobWait = new Histogram({
    name: 'job_wait_seconds',
    help: 'time from enqueue (plus any initial delay) to the start of each attempt',
    labelNames: ['queue'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
    registers: [registry],
  });
  const jobFailures = new Counter({
    name: 'job_failures_total',
    help: 'failed job attempts',
    labelNames: ['queue'],
    registers: [registry],
  });
  const outboxPublished = new Counter({
    name: 'outbox_events_published_total',
    help: 'events moved from the outbox to Redis by this process',
    registers: [registry],
  });
  return { registry, httpDuration, jobDuration, jobWait, jobFailures, outboxPublished };
}
export type Metrics = ReturnType<typeof createMetrics>;
