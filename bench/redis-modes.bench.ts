/**
 * Redis topologies (issue 20): event throughput and write → job-started latency through the real path — an
 * event written in a transaction to the outbox, the relay (LISTEN/NOTIFY, WAIT for a replica where there is
 * one) publishing it as a BullMQ job, a queue worker (startQueueWorker) starting it — on one Redis node, a
 * 3-primary cluster (with a replica each) and a Sentinel group (1 primary, 2 replicas), in the same run.
 *
 *   node bench/redis-modes.bench.ts
 *
 * The Redis servers are private (redis-server on loopback ports, @immish/devstack), PostgreSQL is DATABASE_URL's
 * server or a private one (fsync off). Each mode, two phases: events/s from BENCH_EVENTS (default 2000)
 * `export.requested` events written by 8 concurrent writers as fast as they can (one event per transaction, like
 * an API write) until the last job started; latency from BENCH_PACED_EVENTS (default 300) events written at
 * 50/s, below every mode's capacity, so it is the path's and not a backlog's. The worker only records when each
 * job started. Figures are printed, never asserted. Targets: cluster and Sentinel ≥ 0.8× the single node's events/s;
 * p50 ≤ 20 ms, p99 ≤ 100 ms write → job started.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { type NewEvent, Queues } from '@immish/contracts';
import { appendEvents, BullEventPublisher, createDb, createPool, migrateToLatest, OutboxRelay } from '@immish/db';
import { freePort, startCluster, startRedis, startSentinelGroup } from '@immish/devstack';
import { createLogger, createRedis, type RedisConfig, startQueueWorker } from '@immish/runtime';
import { startBacking } from './support.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000);
const WRITERS = 8;

interface Figures {
  mode: string;
  eventsPerSecond: number;
  p50: number;
  p99: number;
}

/** Paced phase: this many events at this rate, below every mode's capacity, so latency is the path's, not a backlog's. */
const PACED_EVENTS = Number(process.env.BENCH_PACED_EVENTS ?? 300);
const PACED_PER_SECOND = 50;

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

async function measure(
  mode: string,
  redis: RedisConfig,
  db: ReturnType<typeof createDb>,
  databaseUrl: string,
): Promise<Figures> {
  await db.deleteFrom('outbox_events').execute();
  const prefix = `bench${randomUUID().slice(0, 8)}`;
  const written = new Map<string, number>();
  let target = EVENTS;
  const started = new Map<string, number>();
  let allStarted: () => void = () => {};
  const done = new Promise<void>((r) => {
    allStarted = r;
  });
  const logger = createLogger({ service: 'bench', level: 'silent' });
  const worker = startQueueWorker({
    queue: Queues.exports,
    prefix,
    redis,
    concurrency: 50,
    logger,
    processor: async (job) => {
      if (!started.has(job.id!)) started.set(job.id!, performance.now());
      if (started.size === target) allStarted();
    },
  });
  await worker.worker.waitUntilReady();
  const publisher = new BullEventPublisher({
    connection: createRedis({ ...redis, REDIS_COMMAND_TIMEOUT_MS: 1500 }, 'producer'),
    prefix,
  });
  const relay = new OutboxRelay({ db, databaseUrl, publisher });
  relay.start();
  // let the relay's LISTEN connection and the producer connect before the clock starts
  await new Promise((r) => setTimeout(r, 1500));

  const newEvent = (): NewEvent<'export.requested'> => {
    const id = randomUUID();
    return {
      type: 'export.requested',
      actor: { type: 'system', id: null },
      subject: { type: 'export', id },
      data: { exportId: id },
    };
  };
  const write = async () => {
    const [env] = await db.transaction().execute((trx) => appendEvents(trx, [newEvent()]));
    written.set(env!.id, performance.now());
  };

  // throughput: EVENTS written as fast as WRITERS can, until the last job has started
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < EVENTS) {
        next++;
        await write();
      }
    }),
  );
  await done;
  const elapsed = (Math.max(...started.values()) - t0) / 1000;

  // latency: PACED_EVENTS at PACED_PER_SECOND, each write → its job started
  written.clear();
  started.clear();
  target = PACED_EVENTS;
  const pacedDone = new Promise<void>((r) => {
    allStarted = r;
  });
  const pacedStart = performance.now();
  const writes: Promise<void>[] = [];
  for (let i = 0; i < PACED_EVENTS; i++) {
    const due = pacedStart + (i * 1000) / PACED_PER_SECOND;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    writes.push(write());
  }
  await Promise.all(writes);
  await pacedDone;
  const latencies = [...started].map(([id, at]) => at - written.get(id)!).sort((a, b) => a - b);
  await relay.stop();
  await worker.close();
  await publisher.close();
  return { mode, eventsPerSecond: EVENTS / elapsed, p50: pct(latencies, 50), p99: pct(latencies, 99) };
}

const backing = await startBacking('redis-modes');
const pool = createPool({ connectionString: backing.databaseUrl, max: 12 });
const db = createDb(pool);
await migrateToLatest(db);
const results: Figures[] = [];
try {
  const single = await startRedis({ dataDir: `${backing.dir}/single`, port: await freePort() });
  try {
    results.push(await measure('one node', { REDIS_URL: single.url }, db, backing.databaseUrl));
  } finally {
    await single.stop();
  }
  const cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1 });
  try {
    results.push(
      await measure(
        'cluster (3 primaries + 3 replicas)',
        { REDIS_CLUSTER_NODES: cluster.nodes },
        db,
        backing.databaseUrl,
      ),
    );
  } finally {
    await cluster.stop();
  }
  const group = await startSentinelGroup({ replicas: 2, sentinels: 3 });
  try {
    results.push(
      await measure(
        'Sentinel (1 primary + 2 replicas)',
        { REDIS_SENTINELS: group.sentinels, REDIS_SENTINEL_NAME: group.name },
        db,
        backing.databaseUrl,
      ),
    );
  } finally {
    await group.stop();
  }
} finally {
  await db.destroy();
  await backing.stop();
}

const base = results[0]!.eventsPerSecond;
console.log(
  `\nevents/s: ${EVENTS} events per mode written by ${WRITERS} writers, one event per transaction; latency: ${PACED_EVENTS} events at ${PACED_PER_SECOND}/s; ${backing.note}`,
);
console.log(`1-minute load average at the end: ${loadavg()[0]!.toFixed(2)}\n`);
console.log('| mode | events/s | vs one node | p50 write → job started | p99 |');
console.log('|---|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.mode} | ${r.eventsPerSecond.toFixed(0)} | ${(r.eventsPerSecond / base).toFixed(2)}× | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms |`,
  );
}
