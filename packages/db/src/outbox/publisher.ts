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
  publish(event: DomainEvent): Promise<void>;
  /**
   * Resolves once what was published so far would survive the loss of the Redis primary; rejects otherwise
   * (the relay then leaves the events unpublished and publishes them again). Optional: a publisher without
   * replicas to wait for has nothing to confirm.
   */
  confirm?(): Promise<void>;
  close(): Promise<void>;
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

/** A managed endpoint's "we do not offer this command" (not a failure of the command itself). */
const refusedCommand = (err: unknown) =>
  /unknown command|not supported|unsupported|not allowed|disabled|no permissions/i.test((err as Error)?.message ?? '');

/** How long "this primary has no replica" is believed before it is asked again. */
const REPLICA_RECHECK_MS = 5000;

/**
 * Publishes events per the routing table (contracts `eventRoutes`): one BullMQ job per target queue with
 * job id = event id (a re-publish is a no-op), and a pub/sub message for gateway cache invalidation.
 *
 * Failover safety (issue 20 item 3): Redis replicates asynchronously, so a job the primary acknowledged can
 * vanish when a replica is promoted. `confirm()` sends `WAIT <waitReplicas> <waitTimeoutMs>` on this
 * connection (on a cluster: to every primary; one that got no write answers at once) and rejects unless the
 * replicas hold every write so far; the relay marks a batch published only after that. Decision: a primary
 * without any replica (a plain single node) has nothing to wait for and is not waited on, but once a replica
 * was seen, its absence (a promoted replica whose peers have not re-attached yet) holds the events back
 * instead of publishing them unprotected: they wait in the outbox, delayed, never lost.
 */
export class BullEventPublisher implements EventPublisher {
  readonly #redis: Redis | Cluster;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #waitReplicas: number;
  readonly #waitTimeoutMs: number;
  #replicasSeen = false;
  #noReplicaUntil = 0;
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

  async publish(event: DomainEvent): Promise<void> {
    const route = eventRoutes[event.type];
    const work: Promise<unknown>[] = route.queues.map((name) =>
      this.#queue(name).add(event.type, event, { jobId: event.id }),
    );
    if (route.invalidateLinkCache) {
      const msg: LinkInvalidation = {};
      const data = event.data as Record<string, unknown>;
      if (typeof data.linkId === 'string') msg.linkId = data.linkId;
      if (typeof data.albumId === 'string') msg.albumId = data.albumId;
      // Plain PUBLISH (not sharded SPUBLISH): on a cluster every node forwards it to every other, so a gateway
      // subscribed on any node hears it (README "Redis: one node, Sentinel or Cluster" says why this one).
      work.push(this.#redis.publish(`${this.#prefix}:${LINK_INVALIDATION_CHANNEL}`, JSON.stringify(msg)));
    }
    if (work.length === 0) return;
    await withTimeout(Promise.all(work), this.#timeoutMs, `publishing ${event.type} ${event.id}`);
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
    if (!(await this.#hasReplicas())) return;
    const acked = await withTimeout(
      Promise.all(
        this.#primaries().map((p) => p.call('WAIT', this.#waitReplicas, this.#waitTimeoutMs) as Promise<number>),
      ),
      this.#waitTimeoutMs + this.#timeoutMs,
      'replicas to acknowledge the published jobs',
    );
    if (acked.some((n) => Number(n) < this.#waitReplicas)) {
      throw new Error(
        `only ${Math.min(...acked.map(Number))} of ${this.#waitReplicas} Redis replica(s) acknowledged the published jobs within ${this.#waitTimeoutMs} ms: published again later`,
      );
    }
  }

  /** where the writes went: the one primary, or every primary of a cluster (WAIT counts per connection) */
  #primaries(): Redis[] {
    return this.#redis.isCluster ? (this.#redis as Cluster).nodes('master') : [this.#redis as Redis];
  }

  async #hasReplicas(): Promise<boolean> {
    if (this.#replicasSeen) return true;
    if (Date.now() < this.#noReplicaUntil) return false;
    const infos = await Promise.all(this.#primaries().map((p) => p.info('replication')));
    const seen = infos.some((info) => Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0) > 0);
    if (seen) this.#replicasSeen = true;
    else this.#noReplicaUntil = Date.now() + REPLICA_RECHECK_MS;
    return seen;
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
