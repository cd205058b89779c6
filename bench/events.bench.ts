/**
 * Event latency and relay rate (issue 17 item 5), not a test: figures are printed, never asserted.
 *
 *   node bench/events.bench.ts
 *   (EVENTS_BENCH_RATE: events/s of the latency phase, default 200; EVENTS_BENCH_SECONDS: its length, default 10;
 *    EVENTS_BENCH_BACKLOG: events already in the outbox for the drain phase, default 20000)
 *
 * The outbox relay runs in its own process exactly as every service runs it (`runWorkerProcess` →
 * `createBackingServices`: default configuration, the LISTEN/NOTIFY wake-up, the replica confirmation, metrics and
 * JSON logging), here with no queue worker of its own. This process writes the events and runs the BullMQ worker
 * (`startQueueWorker`, as the services do) that records when each job starts.
 *
 * 1. Latency: `asset.stored` events written one transaction each through the real `appendEvent`, at a steady rate
 *    (open loop: each write starts on its schedule, whatever the earlier ones do), for some seconds; for each, the
 *    time from its commit (the write's answer) to its job starting in the worker. p50/p99. Targets: p50 ≤ 20 ms,
 *    p99 ≤ 100 ms.
 * 2. Drain rate: N events committed in one transaction while the relay runs (so it finds them all at once, warm),
 *    the worker paused; events/s from that commit until the outbox has no unpublished row. Three times, median.
 *    Target ≥ 5,000 events/s.
 *
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database and a queue prefix of its own), else a private
 * PostgreSQL (fsync off) and Redis.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreEnv, type NewEvent, Queues, StorageEnv } from '@immish/contracts';
import { appendEvent, appendEvents, createDb, createPool, type Db, migrateToLatest } from '@immish/db';
import { createLogger, runWorkerProcess, startQueueWorker } from '@immish/runtime';
import Type from 'typebox';
import { cpuProfileFlags, eventLoopDelay, type ServiceProcess, startBacking, startService } from './support.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
const RATE = Number(process.env.EVENTS_BENCH_RATE ?? 200);
const SECONDS = Number(process.env.EVENTS_BENCH_SECONDS ?? 10);
const BACKLOG = Number(process.env.EVENTS_BENCH_BACKLOG ?? 20_000);
const DRAINS = 3;

const newEvent = (): NewEvent<'asset.stored'> => {
  const id = randomUUID();
  return {
    type: 'asset.stored',
    actor: { type: 'user', id: randomUUID() },
    subject: { type: 'asset', id },
    data: { assetId: id, ownerId: randomUUID(), batchId: null },
  };
};

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((sorted.length * p) / 100) - 1))] ?? Number.NaN;

const unpublished = async (db: Db) =>
  Number(
    (
      await db
        .selectFrom('outbox_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('published_at', 'is', null)
        .executeTakeFirstOrThrow()
    ).n,
  );

/** Records when each job starts (this process's clock, the same as the writer's). */
function startRecorder(redisUrl: string, prefix: string) {
  const started = new Map<string, number>();
  const handle = startQueueWorker({
    queue: Queues.ingest,
    prefix,
    redis: { REDIS_URL: redisUrl },
    concurrency: 8,
    logger: createLogger({ service: 'events-bench', level: 'warn' }),
    processor: async (job) => {
      if (!started.has(job.id as string)) started.set(job.id as string, performance.now());
    },
  });
  return { started, handle };
}

async function latencyPhase(db: Db, recorder: ReturnType<typeof startRecorder>) {
  const committed = new Map<string, number>();
  const total = RATE * SECONDS;
  const t0 = performance.now();
  const writes: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    writes.push(
      db
        .transaction()
        .execute((trx) => appendEvent(trx, newEvent()))
        .then(([env]) => {
          committed.set((env as { id: string }).id, performance.now());
        }),
    );
  }
  await Promise.all(writes);
  const deadline = performance.now() + 30_000;
  while ([...committed.keys()].some((id) => !recorder.started.has(id)) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const latencies = [...committed]
    .map(([id, at]) => (recorder.started.get(id) ?? Number.NaN) - at)
    .filter((ms) => !Number.isNaN(ms))
    .sort((a, b) => a - b);
  const writeSeconds = (performance.now() - t0) / 1000;
  return {
    events: total,
    seen: latencies.length,
    p50: pct(latencies, 50),
    p90: pct(latencies, 90),
    p99: pct(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    writeSeconds,
  };
}

async function drainPhase(db: Db, relay: ServiceProcess): Promise<{ rate: number; cpuMsPerEvent: number }> {
  // written in chunks (one multi-row INSERT each) inside ONE transaction: the relay sees them all at its commit
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < BACKLOG; i += 1000) {
      await appendEvents(
        trx,
        Array.from({ length: Math.min(1000, BACKLOG - i) }, () => newEvent()),
      );
    }
  });
  const t0 = performance.now();
  const cpu0 = relay.cpuSeconds();
  while ((await unpublished(db)) > 0) await new Promise((r) => setTimeout(r, 10));
  const seconds = (performance.now() - t0) / 1000;
  return { rate: BACKLOG / seconds, cpuMsPerEvent: ((relay.cpuSeconds() - cpu0) * 1000) / BACKLOG };
}

async function main(): Promise<string> {
  const backing = await startBacking('events');
  const db = createDb(createPool({ connectionString: backing.databaseUrl, max: 10 }));
  const prefix = `evbench${randomBytes(3).toString('hex')}`;
  let relay: ServiceProcess | undefined;
  let recorder: ReturnType<typeof startRecorder> | undefined;
  try {
    await migrateToLatest(db);
    relay = await startService(
      {
        name: 'outbox-relay',
        entry: 'bench/events.bench.ts',
        args: ['--relay'],
        metricsPortVar: 'BENCH_RELAY_METRICS_PORT',
      },
      {
        DATABASE_URL: backing.databaseUrl,
        REDIS_URL: backing.redisUrl,
        QUEUE_PREFIX: prefix,
        STORAGE_FS_ROOT: join(backing.dir, 'storage'),
      },
      {
        nodeFlags: cpuProfileFlags(process.env.EVENTS_BENCH_CPU_PROF),
        logFile: join(backing.dir, 'relay.log'),
      },
    );
    recorder = startRecorder(backing.redisUrl, prefix);
    await recorder.handle.worker.waitUntilReady();
    // warm-up (not counted): the relay's and the worker's first batches
    for (let i = 0; i < 50; i++) await db.transaction().execute((trx) => appendEvent(trx, newEvent()));
    while ((await unpublished(db)) > 0) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500));
    recorder.started.clear();

    await eventLoopDelay(relay);
    const latency = await latencyPhase(db, recorder);
    const relayLoop = await eventLoopDelay(relay);

    await recorder.handle.worker.pause();
    const drains: { rate: number; cpuMsPerEvent: number }[] = [];
    for (let i = 0; i < DRAINS; i++) {
      drains.push(await drainPhase(db, relay));
      const d = drains.at(-1);
      console.error(
        `drain ${i + 1}/${DRAINS}: ${d?.rate.toFixed(0)} events/s, relay CPU ${d?.cpuMsPerEvent.toFixed(3)} ms/event`,
      );
    }
    drains.sort((a, b) => a.rate - b.rate);
    const rates = drains.map((d) => d.rate);
    const rate = rates[(rates.length - 1) >> 1] ?? Number.NaN;
    const cpuPerEvent = drains[(drains.length - 1) >> 1]?.cpuMsPerEvent ?? Number.NaN;
    return [
      `Events through the outbox: the relay in its own process as every service runs it (default configuration), the writer and a BullMQ worker (startQueueWorker) in the bench process; ${backing.note}; 1-min load average at the end: ${(loadavg()[0] ?? 0).toFixed(1)}.`,
      '',
      '| what | figure | target |',
      '|---|---:|---|',
      `| event commit → job started, p50 (${latency.events} \`asset.stored\` events at ${RATE}/s, one transaction each) | ${latency.p50.toFixed(1)} ms | ≤ 20 ms |`,
      `| same, p99 (p90 ${latency.p90.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms) | ${latency.p99.toFixed(1)} ms | ≤ 100 ms |`,
      `| relay drain rate, ${BACKLOG} events already in the outbox (median of ${DRAINS}: ${rates.map((r) => r.toFixed(0)).join(', ')}) | ${rate.toFixed(0)} events/s | ≥ 5,000 events/s |`,
      '',
      `The relay process spent ${(cpuPerEvent * 1000).toFixed(0)} µs of CPU per event while draining (/proc; the median drain). ${latency.seen} of ${latency.events} jobs seen started; the relay's event-loop delay during the latency phase: p99 ${relayLoop.p99.toFixed(1)} ms, max ${relayLoop.max.toFixed(1)} ms.`,
    ].join('\n');
  } finally {
    await recorder?.handle.close().catch(() => {});
    await relay?.stop().catch(() => {});
    await db.destroy().catch(() => {});
    await backing.stop();
  }
}

if (process.argv.includes('--relay')) {
  // The relay process: what every service runs besides its own work (runtime createBackingServices), and nothing else.
  await runWorkerProcess({
    service: 'outbox-relay',
    config: Type.Evaluate(Type.Intersect([CoreEnv, StorageEnv])),
    metricsPort: () => Number(process.env.BENCH_RELAY_METRICS_PORT),
    start: () => ({ close: async () => {} }),
  });
} else if (process.argv[1] === THIS_FILE) {
  console.log(await main());
  process.exit(0);
}
