import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/latency-histogram.ts';

// The HTTP latency histogram is ours (issue 17: prom-client's per-observation label work showed in the gateway's
// profile); what a Prometheus scrape reads of it must be what prom-client's Histogram would have written.

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function pair() {
  const ours = new Registry();
  const theirs = new Registry();
  for (const r of [ours, theirs]) r.setDefaultLabels({ service: 'test' });
  const a = new LatencyHistogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    buckets: BUCKETS,
    registers: [ours],
  });
  const b = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: BUCKETS,
    registers: [theirs],
  });
  return { ours, theirs, a, b };
}

describe('LatencyHistogram', () => {
  it("should give a scrape exactly prom-client's Histogram text and JSON for the same observations", async () => {
    const { ours, theirs, a, b } = pair();
    const observations: Array<[string, string, string, number]> = [
      ['GET', '/share/:key/assets/:assetId/:kind', '200', 0.0004],
      ['GET', '/share/:key/assets/:assetId/:kind', '200', 0.005], // on a bound: counted in it (le is ≤)
      ['GET', '/share/:key/assets/:assetId/:kind', '304', 0.012],
      ['GET', '/api/shared-links/me', '200', 0.3],
      ['POST', '/api/shared-links', '400', 12], // above the last bound: +Inf only
      ['GET', 'unmatched', '404', 0],
      ['GET', '/api/shared-links/me', '200', 2.5],
      ['GET', '/route "with" \\ quotes', '200', 0.07], // label values escaped alike
    ];
    for (const [method, route, status, seconds] of observations) {
      a.observe({ method, route, status }, seconds);
      b.observe({ method, route, status }, seconds);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('should refuse a value that is not a number, as prom-client does', () => {
    const { a } = pair();
    expect(() => a.observe({ method: 'GET', route: '/', status: '200' }, Number.NaN)).toThrow(TypeError);
  });
});
