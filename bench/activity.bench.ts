/**
 * Link activity log benchmark (issue 18), as users run it: recording activity must not cost recipients. Two
 * gateway processes started as production starts them (bench/gateway.bench.ts `startGateway`: default
 * configuration, logging on) on the same database, one with ACTIVITY_LOG=true (the default) and one with
 * ACTIVITY_LOG=false, driven by wrk (1 thread, 50 connections) in the same run, on
 * `GET /api/shared-links/me` (records a visit: client described, 30-minute rule checked, buffered, written in the
 * background; a browser's User-Agent and Accept-Encoding, so the Brotli body comes from the cache and the
 * per-request work is what is compared) and `GET /share/:key/assets/:id/thumbnail` (records nothing; the
 * recorder's background writes share the process). Target: on ≥ 0.95× off for both.
 *
 *   node bench/activity.bench.ts          # or: npm run bench activity
 *
 * Order off-on-on-off per scenario (interleaved, so a machine getting busier or quieter during the run favours
 * neither side), each figure the mean of its two runs; BENCH_DURATION_S (10) per run after a 2 s warm-up. The
 * 1,000-asset password album of bench/gateway.bench.ts. Figures are printed, never asserted.
 */
import { fileURLToPath } from 'node:url';
import { BROWSER_ACCEPT_ENCODING, type Gateway, measureGateway, seed, startGateway } from './gateway.bench.ts';
import { machineNote, startBacking } from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const BROWSER_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

export async function runActivityBench(): Promise<{ markdown: string }> {
  const backing = await startBacking('activity');
  const gateways: Gateway[] = [];
  try {
    const s = await seed(backing);
    const on = await startGateway(backing, s, { ACTIVITY_LOG: 'true' });
    gateways.push(on);
    const off = await startGateway(backing, s, { ACTIVITY_LOG: 'false' });
    gateways.push(off);
    const scenarios = [
      {
        label: 'GET /api/shared-links/me (records a visit; browser Accept-Encoding → br)',
        path: (g: Gateway) => g.mePath,
      },
      { label: 'GET /share/:key/assets/:id/thumbnail', path: (g: Gateway) => g.thumbPath },
    ];
    const run = (g: Gateway, path: (g: Gateway) => string) =>
      measureGateway(g, path(g), {
        cookie: g.cookie,
        'user-agent': BROWSER_UA,
        'accept-encoding': BROWSER_ACCEPT_ENCODING,
      });
    const f = (n: number, d = 1) => n.toFixed(d);
    const rows: string[] = [];
    const verdicts: string[] = [];
    for (const sc of scenarios) {
      const offA = await run(off, sc.path);
      const onA = await run(on, sc.path);
      const onB = await run(on, sc.path);
      const offB = await run(off, sc.path);
      type R = typeof offA;
      const mean = (a: R, b: R, pick: (r: R) => number) => (pick(a) + pick(b)) / 2;
      const offRps = mean(offA, offB, (r) => r.perSecond);
      const onRps = mean(onA, onB, (r) => r.perSecond);
      const ratio = onRps / offRps;
      const row = (name: string, a: R, b: R, vs: string) =>
        `| ${sc.label}, ${name} | ${f(
          mean(a, b, (r) => r.perSecond),
          0,
        )} | ${vs} | ${f(mean(a, b, (r) => r.latencyMs['50']))} | ${f(mean(a, b, (r) => r.latencyMs['99']))} | ${f(
          mean(a, b, (r) => r.cpuCores * 100),
          0,
        )}% | ${f(Math.max(a.loopP99Ms, b.loopP99Ms))} | ${a.failed + b.failed} |`;
      rows.push(row('activity off', offA, offB, 'baseline'), row('activity on', onA, onB, `${f(ratio, 2)}×`));
      verdicts.push(
        `- ${sc.label}: on/off ${f(ratio, 2)}× (target ≥ 0.95×: ${ratio >= 0.95 ? 'met' : 'NOT met'}); runs off ${f(offA.perSecond, 0)}/${f(offB.perSecond, 0)}, on ${f(onA.perSecond, 0)}/${f(onB.perSecond, 0)} req/s.`,
      );
    }
    const markdown = [
      `share-gateway with the activity log on vs off (ACTIVITY_LOG): two gateway processes (default configuration, logging on) on the same database, wrk 1 thread, 50 connections, a browser's User-Agent and Accept-Encoding, ${process.env.BENCH_DURATION_S ?? 10} s per run after a 2 s warm-up, order off-on-on-off, each figure the mean of its two runs (event-loop p99: the larger of the two); ${backing.note}. Machine: ${machineNote()} at the end.`,
      '',
      '| scenario | req/s | on/off | p50 ms | p99 ms | gateway CPU | event-loop p99 ms | failed |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      ...verdicts,
    ].join('\n');
    return { markdown };
  } finally {
    for (const g of gateways) await g.service.stop();
    await backing.stop();
  }
}

if (process.argv[1] === THIS_FILE) {
  const { markdown } = await runActivityBench();
  console.log(markdown);
}
