import {
  type DomainEvent,
  eventRoutes,
  LINK_INVALIDATION_CHANNEL,
  type LinkInvalidation,
  type QueueName,
} from '@immish/contracts';
import { Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

export interface EventPublisher {
  publish(event: DomainEvent): Promise<void>;
  close(): Promise<void>;
}

export interface BullPublisherOptions {
  redisUrl: string;
  prefix: string;
  /**
   * A publish that has not finished after this long counts as failed (Redis down or frozen → the outbox rows
   * are retried later, never hang). Default 2000 ms: the relay waits for it inside its transaction, so it stays
   * well below the pool's idle-in-transaction timeout (10 s).
   */
  timeoutMs?: number;
  /** each Redis command's bound (REDIS_COMMAND_TIMEOUT_MS); see producerRedisOptions */
  commandTimeoutMs?: number;
}

/** Default bound of one command on a fail-fast connection (REDIS_COMMAND_TIMEOUT_MS). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 500;

/**
 * Producer-side Redis options: fail fast instead of waiting. Unreachable Redis: no offline queue, so a command
 * fails at once instead of queueing in memory. Frozen Redis (connected, silent): `commandTimeout` fails each
 * command that has no answer after `commandTimeoutMs`, since the connection itself looks fine. Not for BullMQ
 * Worker connections: their blocking commands wait on purpose (workerRedisOptions in @immish/runtime).
 */
export function producerRedisOptions(commandTimeoutMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
}

/**
 * Publishes events per the routing table (contracts `eventRoutes`): one BullMQ job per target queue with
 * job id = event id (a re-publish is a no-op), and a pub/sub message for gateway cache invalidation.
 */
export class BullEventPublisher implements EventPublisher {
  readonly #redis: Redis;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(opts: BullPublisherOptions) {
    this.#redis = new Redis(opts.redisUrl, producerRedisOptions(opts.commandTimeoutMs));
    this.#redis.on('error', () => {}); // reported through failed publishes, not as process-level errors
    this.#prefix = opts.prefix;
    this.#timeoutMs = opts.timeoutMs ?? 2000;
  }

  #queue(name: QueueName): Queue {
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, {
        connection: this.#redis,
        prefix: this.#prefix,
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
      work.push(this.#redis.publish(`${this.#prefix}:${LINK_INVALIDATION_CHANNEL}`, JSON.stringify(msg)));
    }
    if (work.length === 0) return;
    await withTimeout(Promise.all(work), this.#timeoutMs, `publishing ${event.type} ${event.id}`);
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
