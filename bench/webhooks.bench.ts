/**
 * Webhook delivery (issue 18): 1,000 events written to the outbox (one transaction each, ~200 per second, as
 * changes arrive) and delivered to a receiver on loopback by the webhook worker in its own process (started like
 * production: `node apps/webhook-worker/src/main.ts`, WEBHOOK_ALLOW_PRIVATE=true for the loopback receiver), with
 * an outbox relay in this process as a service would run it. Event-to-delivery = the receiver's clock at arrival
 * minus the event's `occurredAt` (same machine, same clock).
 *
 *   node bench/webhooks.bench.ts          # or: npm run bench webhooks
 *
 * Goal: p50 ≤ 50 ms, p99 ≤ 250 ms. Baseline measured alongside: the same signed POST sent straight from this
 * process to the same receiver (what a delivery costs without the outbox, Redis and the worker).
 * Also the relay's rate with nobody subscribed (RELAY_EVENTS subscribable events, default 5,000, already in the
 * outbox): with the webhook audience check (the default: no `webhooks` job for an event nobody listens to) and
 * without it (every subscribable event queued for the worker, the behaviour before), interleaved, 3 rounds each.
 * Then where the time goes: p50/p99 of each step of a first attempt, from the event (committed, relay published,
 * `webhooks` job started, delivery row created, request sent, receiver got it).
 * PROFILE_DIR=<dir> writes a CPU profile of the worker process there (node --cpu-prof).
 * Uses DATABASE_URL / REDIS_URL when set (a fresh database on that server), else a private PostgreSQL and Redis.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Queues } from '@immish/contracts';
import {
  appendEvent,
  appendEvents,
  BullEventPublisher,
  createDb,
  createPool,
  migrateToLatest,
  OutboxRelay,
} from '@immish/db';
import { freePort, waitFor } from '@immish/devstack';
import { createUser, createWebhook, signWebhook } from '@immish/domain';
import { createRedis } from '@immish/runtime';
import { Queue } from 'bullmq';
import { eventLoopP99Ms, startBacking } from './support.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1000);
const PER_SECOND = Number(process.env.BENCH_RATE ?? 200);
const SECRET_KEY = 'bench-webhook-sealing-key-0123456789';

const backing = await startBacking('webhooks');
const pool = createPool({ connectionString: backing.databaseUrl, max: 4 });
const db = createDb(pool);
let worker: ChildProcess | undefined;
try {
  await migrateToLatest(db as never);
  const arrivals = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.set(String(req.headers['webhook-id']), Date.now());
      res.end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const owner = await createUser(db, { email: 'owner@bench.test', name: 'owner', password: 'bench' });

  // relay rate with no endpoint anywhere: audience check on (skips the webhooks queue) vs off (before)
  const RELAY_EVENTS = Number(process.env.RELAY_EVENTS ?? 5000);
  const relayRate = async (webhookAudience: boolean, round: number) => {
    for (let i = 0; i < RELAY_EVENTS; i += 500) {
      const n = Math.min(500, RELAY_EVENTS - i);
      await appendEvents(
        db,
        Array.from({ length: n }, () => albumCreated(owner.id)),
      );
    }
    const p = new BullEventPublisher({
      connection: createRedis({ REDIS_URL: backing.redisUrl }, 'producer'),
      prefix: `bench-relay-${webhookAudience ? 'on' : 'off'}-${round}`,
      waitReplicas: 0,
    });
    const r = new OutboxRelay({ db, databaseUrl: backing.databaseUrl, publisher: p, webhookAudience });
    const t0 = performance.now();
    let moved = 0;
    for (;;) {
      const n = await r.drainOnce();
      if (n === 0) break;
      moved += n;
    }
    const rate = moved / ((performance.now() - t0) / 1000);
    await p.close();
    return rate;
  };
  const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (let round = 0; round < 3; round++) {
    rates.off.push(await relayRate(false, round));
    rates.on.push(await relayRate(true, round));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `relay, ${RELAY_EVENTS} subscribable events, no endpoint: ${median(rates.on).toFixed(0)} events/s skipping the webhooks queue (median of 3) vs ${median(rates.off).toFixed(0)} events/s queuing each for the worker (before); ratio ${(median(rates.on) / median(rates.off)).toFixed(2)}×`,
  );
  const { secret } = await createWebhook(db, { allowPrivate: true, secretKey: SECRET_KEY }, owner.id, {
    url,
    events: ['album.created'],
  });

  // baseline: the signed POST alone, from this process
  const direct: number[] = [];
  for (let i = 0; i < 200; i++) {
    const body = JSON.stringify({ type: 'album.created', timestamp: new Date().toISOString(), data: { i } });
    const started = performance.now();
    await fetch(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        ...signWebhook(secret, randomUUID(), Math.floor(Date.now() / 1000), body),
      },
    });
    direct.push(performance.now() - started);
  }

  const publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: backing.redisUrl }, 'producer'),
    prefix: 'bench',
    waitReplicas: 0,
  });
  const relay = new OutboxRelay({ db, databaseUrl: backing.databaseUrl, publisher });
  relay.start();
  const workerMetricsUrl = `http://127.0.0.1:${await freePort()}`;
  worker = spawn(process.execPath, ['apps/webhook-worker/src/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      ...(process.env.PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.PROFILE_DIR}` } : {}),
      DATABASE_URL: backing.databaseUrl,
      REDIS_URL: backing.redisUrl,
      QUEUE_PREFIX: 'bench',
      WEBHOOK_METRICS_PORT: new URL(workerMetricsUrl).port,
      WEBHOOK_SECRET_KEY: SECRET_KEY,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // the worker's own default unless set here (how many deliveries one worker has in flight)
      ...(process.env.WEBHOOK_CONCURRENCY ? { WEBHOOK_CONCURRENCY: process.env.WEBHOOK_CONCURRENCY } : {}),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // warm-up: the worker is ready once a first event arrives
  const warm = await appendEvent(db, albumCreated(owner.id));
  await waitFor(async () => arrivals.has(warm[0]!.id), { timeoutMs: 60_000, what: 'the first delivery' });

  // CPU the worker process spends per event (user + system, /proc): what the load of other processes does not change
  const workerCpuMs = () => {
    const fields = readFileSync(`/proc/${worker!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  };
  const cpuBefore = workerCpuMs();
  await eventLoopP99Ms({ metricsUrl: workerMetricsUrl }); // a scrape resets it: what follows is the measured events'
  const occurred = new Map<string, number>();
  const committed = new Map<string, number>();
  const began = Date.now();
  for (let i = 0; i < EVENTS; i++) {
    const [event] = await appendEvent(db, albumCreated(owner.id));
    committed.set(event!.id, Date.now());
    occurred.set(event!.id, Date.parse(event!.occurredAt));
    const due = began + ((i + 1) * 1000) / PER_SECOND;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
  await waitFor(async () => [...occurred.keys()].every((id) => arrivals.has(id)), {
    timeoutMs: 120_000,
    what: `${EVENTS} deliveries`,
  });
  const cpuPerEvent = (workerCpuMs() - cpuBefore) / EVENTS;
  const workerLoopP99Ms = await eventLoopP99Ms({ metricsUrl: workerMetricsUrl });
  const latencies = [...occurred].map(([id, at]) => arrivals.get(id)! - at);
  const pct = (xs: number[], p: number) =>
    [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
  const p50 = pct(latencies, 0.5);
  const p99 = pct(latencies, 0.99);
  const base50 = pct(direct, 0.5);
  console.log(`${EVENTS} events at ${PER_SECOND}/s, each in its own transaction → webhook worker → loopback receiver`);
  console.log(
    `event-to-delivery: p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...latencies)} ms (goal: p50 ≤ 50, p99 ≤ 250)`,
  );
  console.log(`webhook worker CPU (user + system) per event: ${cpuPerEvent.toFixed(2)} ms`);
  console.log(`webhook worker event-loop delay p99 over the events: ${workerLoopP99Ms.toFixed(1)} ms (target ≤ 10 ms)`);
  console.log(
    `baseline, the signed POST alone: p50 ${base50.toFixed(2)} ms, p99 ${pct(direct, 0.99).toFixed(2)} ms; ratio p50 ${(p50 / base50).toFixed(1)}×`,
  );
  // where the time goes: each step's time from the event, p50 / p99 over the events (first attempts only)
  const rows = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_attempts as a', 'a.delivery_id', 'd.id')
    .innerJoin('outbox_events as o', 'o.id', 'd.event_id')
    .select(['o.id', 'o.occurred_at', 'o.published_at', 'd.created_at', 'a.at', 'a.latency_ms'])
    .where('a.attempt', '=', 1)
    .execute();
  const jobsRedis = createRedis({ REDIS_URL: backing.redisUrl }, 'producer');
  const jobs = new Queue(Queues.webhooks, { connection: jobsRedis, prefix: 'bench' });
  const started = new Map(
    (await jobs.getJobs(['completed', 'failed'], 0, -1)).map((j) => [String(j.id), j.processedOn ?? Number.NaN]),
  );
  await jobs.close();
  jobsRedis.disconnect();
  const t = (d: Date | null) => (d ? new Date(d).getTime() : Number.NaN);
  const measured = rows.filter((r) => occurred.has(r.id));
  const steps: [string, (r: (typeof rows)[number]) => number][] = [
    ['committed (appendEvent returned)', (r) => committed.get(r.id)!],
    ['relay published', (r) => t(r.published_at)],
    ['webhooks job started', (r) => started.get(r.id) ?? Number.NaN],
    ['delivery rows created', (r) => t(r.created_at)],
    ['request sent (attempt recorded − its latency)', (r) => t(r.at) - r.latency_ms],
    ['receiver got it', (r) => arrivals.get(r.id)!],
    ['attempt recorded', (r) => t(r.at)],
  ];
  console.log('| step | p50 ms from the event | p99 |\n|---|---:|---:|');
  for (const [name, at] of steps) {
    const xs = measured.map((r) => at(r) - t(r.occurred_at)).filter((x) => Number.isFinite(x));
    console.log(`| ${name} | ${xs.length ? pct(xs, 0.5) : '—'} | ${xs.length ? pct(xs, 0.99) : '—'} |`);
  }
  const latency = measured.map((r) => r.latency_ms);
  console.log(
    `one request (an attempt's latency, while it holds an endpoint slot): p50 ${pct(latency, 0.5)} ms, p99 ${pct(latency, 0.99)} ms`,
  );
  console.log(
    `machine: ${os.cpus().length} CPUs, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  await relay.stop();
  await publisher.close();
  server.closeAllConnections();
  server.close();
} finally {
  worker?.kill('SIGTERM');
  if (worker) await new Promise((r) => worker!.once('exit', r));
  await db.destroy();
  await backing.stop();
}

function albumCreated(ownerId: string) {
  const albumId = randomUUID();
  return {
    type: 'album.created' as const,
    actor: { type: 'user' as const, id: ownerId },
    subject: { type: 'album' as const, id: albumId },
    data: { albumId, ownerId },
  };
}
