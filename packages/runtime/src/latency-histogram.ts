import type { Registry } from 'prom-client';

/**
 * The HTTP latency histogram (`http_request_duration_seconds`, labels method / route / status), observed on every
 * answer of every service. prom-client's Histogram validates the label names, builds a hash string of the labels
 * and looks its bucket up by property on each observation: measured under load on the gateway's cached answers
 * (issue 17, `perf`), about 2% of the CPU of a Brotli `/me`. This one keeps a series per (method, route, status)
 * in a Map under one string key and counts into an array, and gives prom-client's registry the same exposition
 * as prom-client's Histogram (a test compares both): the registry takes any object with `name`, `help`, `type`,
 * `get()` and `reset()` (its `registerMetric`).
 */
export interface HttpLabels {
  method: string;
  route: string;
  status: string;
}

interface Series {
  labels: HttpLabels;
  /** observations per bucket (not cumulative); the last one is +Inf */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * prom-client's two shapes of a value: for a scrape's text (`getForPromString`) a bucket's `le` in `labels` and the
 * series' labels in `sharedLabels` (written after it); for JSON (`get`) one merged `labels`, and `exemplar: null` on
 * buckets.
 */
interface Value {
  labels: Record<string, string | number>;
  sharedLabels?: HttpLabels;
  value: number;
  metricName: string;
  exemplar?: null;
}

interface MetricObject {
  name: string;
  help: string;
  type: string;
  values: Value[];
  aggregator: string;
}

export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #upperBounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(opts: { name: string; help: string; buckets: readonly number[]; registers: Registry[] }) {
    this.name = opts.name;
    this.help = opts.help;
    this.#upperBounds = [...opts.buckets].sort((a, b) => a - b);
    for (const registry of opts.registers) registry.registerMetric(this as never);
  }

  observe(labels: HttpLabels, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`Value is not a valid number: ${seconds}`);
    const key = `${labels.method} ${labels.status} ${labels.route}`;
    let series = this.#series.get(key);
    if (!series) {
      series = {
        labels: { method: labels.method, route: labels.route, status: labels.status },
        counts: new Array<number>(this.#upperBounds.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      this.#series.set(key, series);
    }
    const bounds = this.#upperBounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    series.counts[i]!++;
    series.sum += seconds;
    series.count++;
  }

  /** What prom-client's Histogram gives its registry for JSON: per series the cumulative buckets, sum and count. */
  async get(): Promise<MetricObject> {
    return this.#metric(false);
  }

  /** The same for a scrape's text (the registry asks for this shape when a metric has it). */
  async getForPromString(): Promise<MetricObject> {
    return this.#metric(true);
  }

  #metric(forText: boolean): MetricObject {
    const values: Value[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series.values()) {
      const labels = (le?: number | string): Value => {
        if (forText)
          return { labels: le === undefined ? {} : { le }, sharedLabels: s.labels, value: 0, metricName: '' };
        return { labels: le === undefined ? { ...s.labels } : { le, ...s.labels }, value: 0, metricName: '' };
      };
      let cumulative = 0;
      for (let i = 0; i <= this.#upperBounds.length; i++) {
        cumulative += s.counts[i]!;
        const v = labels(i < this.#upperBounds.length ? this.#upperBounds[i]! : '+Inf');
        v.value = cumulative;
        v.metricName = bucket;
        if (!forText) v.exemplar = null;
        values.push(v);
      }
      values.push({ ...labels(), value: s.sum, metricName: `${this.name}_sum` });
      values.push({ ...labels(), value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#series.clear();
  }
}
