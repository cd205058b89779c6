import {
  type DomainEvent,
  eventRoutes,
  LINK_INVALIDATION_CHANNEL,
  type LinkInvalidation,
  type QueueName,
  queuePrefix,
} from '@immish/contracts';
import { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

export interface EventPublisher {
  /** `skip`: queues of the event's route not to add it to (the relay's webhook audience check) */
  publish(event: DomainEvent, skip?: ReadonlySet<QueueName>): Promise<void>;
  /**
   * The same as `publish` for each of a relay batch's events, sent together. Optional: the relay calls `publish`
   * once per event when a publisher has no batch form.
   */
  publishBatch?(batch: readonly PublishItem[]): Promise<void>;
  /**
   * Resolves once what was published so far would survive the loss of the Redis primary; rejects otherwise
   * (the relay then leaves the events unpublished and publishes them again). Optional: a publisher without
   * replicas to wait for has nothing to confirm.
   */
  confirm?(): Promise<void>;
  close(): Promise<void>;
}

/** One event of a relay batch, with the queues of its route it must not go to (the webhook audience check). */
export interface PublishItem {
  event: DomainEvent;
  skip?: ReadonlySet<QueueName> | undefined;
}

export interface BullPublisherOptions {
  /**
   * A fail-fast producer connection of its own (createRedis(config, 'producer') in @immish/runtime: one node,
   * Sentinel or Cluster). The publisher owns it from then on: `close()` disconnects it. Its own, because
   * `confirm()` waits for the replicas to acknowledge THIS connection's writes (Redis `WAIT`).
   */
  connection: Redis | Cluster;
  /** QUEUE_PREFIX: the base of the queues' key prefixes (contracts queuePrefix) and of the invalidation channel */
  prefix: string;
  /**
   * A publish that has not finished after this long counts as failed (Redis down or frozen → the outbox rows
   * are retried later, never hang). Default 2000 ms: the relay waits for it inside its transaction, so it stays
   * well below the pool's idle-in-transaction timeout (10 s).
   */
  timeoutMs?: number;
  /** REDIS_WAIT_REPLICAS: replicas that must acknowledge the jobs before confirm() resolves (default 1; 0 = none) */
  waitReplicas?: number;
  /** REDIS_WAIT_TIMEOUT_MS: the WAIT command's own timeout (default 1000 ms) */
  waitTimeoutMs?: number;
  /** told once when the endpoint refuses WAIT or INFO (some managed proxies): the jobs are then not confirmed */
  warn?: (message: string) => void;
}

/**
 * What a gateway must forget for an event routed with `invalidateLinkCache` (contracts LinkInvalidation): the
 * link, the album and the assets (`assetId` / `assetIds`) its data names.
 */
export function linkInvalidationOf(event: DomainEvent): LinkInvalidation {
  const msg: LinkInvalidation = {};
  const data = event.data as Record<string, unknown>;
  if (typeof data.linkId === 'string') msg.linkId = data.linkId;
  if (typeof data.albumId === 'string') msg.albumId = data.albumId;
  const assetIds = Array.isArray(data.assetIds)
    ? data.assetIds.filter((id): id is string => typeof id === 'string')
    : typeof data.assetId === 'string'
      ? [data.assetId]
      : [];
  if (assetIds.length > 0) msg.assetIds = assetIds;
  return msg;
}

/** A managed endpoint's "we do not offer this command" (not a failure of the command itself). */
const refusedCommand = (err: unknown) =>
  /unknown command|not supported|unsupported|not allowed|disabled|no permissions/i.test((err as Error)?.message ?? '');

/**
 * Publishes events per the routing table (contracts `eventRoutes`): one BullMQ job per target queue with
 * job id = event id (a re-publish is a no-op), and a pub/sub message for gateway cache invalidation.
 *
 * Failover safety (issue 20 item 3): Redis replicates asynchronously, so a job the primary acknowledged can
 * vanish when a replica is promoted. `confirm()` sends `WAIT` on this connection (on a cluster: to every
 * primary; one that got no write answers at once) for as many replicas as that primary has, up to
 * `waitReplicas`, and rejects unless they hold every write so far; the relay marks a batch published only after
 * that. Decision: a primary without a replica (one node; a cluster shard whose other node died) is not waited
 * on: no replica could be promoted with or without the job, and holding the events would stop delivery for as
 * long as the topology stays degraded.
 */
export class BullEventPublisher implements EventPublisher {
  readonly #redis: Redis | Cluster;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #waitReplicas: number;
  readonly #waitTimeoutMs: number;
  #waitRefused = false;
  readonly #warn: (message: string) => void;

  constructor(opts: BullPublisherOptions) {
    this.#redis = opts.connection;
    this.#prefix = opts.prefix;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    this.#waitReplicas = opts.waitReplicas ?? 1;
    this.#waitTimeoutMs = opts.waitTimeoutMs ?? 1000;
    this.#warn = opts.warn ?? (() => {});
  }

  #queue(name: QueueName): Queue {
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.#redis,
        prefix: queuePrefix(this.#prefix, name, this.#redis.isCluster),
        defaultJobOptions: {
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 24 * 3600, count: 10_000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      });
      q.on('error', () => {});
      this.#queues.set(name, q);
    }
    return q;
  }

  async publish(event: DomainEvent, skip?: ReadonlySet<QueueName>): Promise<void> {
    const route = eventRoutes[event.type];
    const work: Promise<unknown>[] = route.queues
      .filter((name) => !skip?.has(name))
      .map((name) => this.#queue(name).add(event.type, event, { jobId: event.id }));
    if (route.invalidateLinkCache) {
      const msg = linkInvalidationOf(event);
      // Plain PUBLISH (not sharded SPUBLISH): on a cluster every node forwards it to every other, so a gateway
      // subscribed on any node hears it (README "Redis: one node, Sentinel or Cluster" says why this one).
      work.push(this.#redis.publish(`${this.#prefix}:${LINK_INVALIDATION_CHANNEL}`, JSON.stringify(msg)));
    }
    if (work.length === 0) return;
    await withTimeout(Promise.all(work), this.#timeoutMs, `publishing ${event.type} ${event.id}`);
  }

  /**
   * A relay batch: per target queue ONE `addBulk` (a single pipelined write for all of the batch's jobs of that
   * queue, in the batch's order) instead of a socket write per job, which was most of the relay's CPU (measured in
   * bench/events.bench.ts). The jobs, their ids and options are those `publish` makes; an event that announces a link
   * change still goes through `publish`, which then sends only that announcement (its queues are in `addBulk`).
   */
  async publishBatch(batch: readonly PublishItem[]): Promise<void> {
    const jobs = new Map<QueueName, { name: string; data: DomainEvent; opts: { jobId: string } }[]>();
    const work: Promise<unknown>[] = [];
    for (const { event, skip } of batch) {
      const route = eventRoutes[event.type];
      for (const name of route.queues) {
        if (skip?.has(name)) continue;
        let list = jobs.get(name);
        if (!list) {
          list = [];
          jobs.set(name, list);
        }
        list.push({ name: event.type, data: event, opts: { jobId: event.id } });
      }
      if (route.invalidateLinkCache) work.push(this.publish(event, new Set(route.queues)));
    }
    for (const [name, list] of jobs) work.push(this.#queue(name).addBulk(list));
    if (work.length === 0) return;
    await withTimeout(Promise.all(work), this.#timeoutMs, `publishing a batch of ${batch.length} events`);
  }

  async confirm(): Promise<void> {
    if (this.#waitReplicas === 0 || this.#waitRefused) return;
    try {
      await this.#confirm();
    } catch (err) {
      if (!refusedCommand(err)) throw err;
      // Decision: an endpoint that hides replication from clients (INFO/WAIT refused by a managed proxy) is
      // published to without confirmation rather than never: the operator is told once, and README says which.
      this.#waitRefused = true;
      this.#warn(
        `Redis refused ${(err as Error).message.slice(0, 120)}: published jobs are not confirmed on a replica (README "Redis: one node, Sentinel or Cluster")`,
      );
    }
  }

  async #confirm(): Promise<void> {
    const acks = await withTimeout(
      Promise.all(this.#primaries().map((p) => this.#waitOn(p))),
      this.#waitTimeoutMs + this.#timeoutMs,
      'replicas to acknowledge the published jobs',
    );
    const short = acks.find((a) => a.acked < a.needed);
    if (short) {
      throw new Error(
        `only ${short.acked} of ${short.needed} Redis replica(s) acknowledged the published jobs within ${this.#waitTimeoutMs} ms: published again later`,
      );
    }
  }

  /**
   * WAIT on one primary for as many replicas as it has right now (at most waitReplicas). Asked each time, not
   * remembered: after a failover the promoted primary may have fewer replicas (none, on a cluster shard whose
   * old primary died), and WAIT for a replica that does not exist would hold every event back for good.
   */
  async #waitOn(primary: Redis): Promise<{ acked: number; needed: number }> {
    const info = await primary.info('replication');
    const replicas = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
    const needed = Math.min(this.#waitReplicas, replicas);
    if (needed === 0) return { acked: 0, needed };
    return { acked: Number(await primary.call('WAIT', needed, this.#waitTimeoutMs)), needed };
  }

  /** where the writes went: the one primary, or every primary of a cluster (WAIT counts per connection) */
  #primaries(): Redis[] {
    return this.#redis.isCluster ? (this.#redis as Cluster).nodes('master') : [this.#redis as Redis];
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    this.#redis.disconnect();
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
