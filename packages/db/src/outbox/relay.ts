import { type DomainEvent, type QueueName, Queues } from '@immish/contracts';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../pool.ts';
import type { EventPublisher } from './publisher.ts';
import { eventsWithoutWebhookAudience } from './webhook-audience.ts';

const NO_WEBHOOKS: ReadonlySet<QueueName> = new Set([Queues.webhooks]);

export interface RelayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface OutboxRelayOptions {
  db: Db;
  /** a dedicated connection for LISTEN (not from the pool: it stays open) */
  databaseUrl: string;
  publisher: EventPublisher;
  batchSize?: number;
  /** polling fallback when no NOTIFY arrives (and while LISTEN is reconnecting) */
  pollIntervalMs?: number;
  logger?: RelayLogger;
  /** called after each published batch (metrics) */
  onPublished?: (events: DomainEvent[]) => void;
  /**
   * The LISTEN connection's bounds: connecting, and each statement on it. Default 2000 ms. A listener that
   * cannot answer its heartbeat within this is dropped and opened again (polling carries the events meanwhile).
   */
  listenerTimeoutMs?: number;
  /** how often the LISTEN connection proves it is alive (`SELECT 1`). Default 10000 ms. */
  listenerHeartbeatMs?: number;
  /**
   * The `application_name` of the pool this process writes its events with, when it was made by
   * `relayWriterTag` (the process runs this relay). Then a NOTIFY of events written by another process that runs
   * a relay of its own is left to that relay (this one catches up on its polling interval if it never claims
   * them); events this process wrote, or written by a process without a relay (a tool, a test), wake it at once.
   * Unset: every NOTIFY wakes it (each relay then runs a claim for every event, all but one finding nothing).
   */
  writerTag?: string;
  /**
   * Skip the `webhooks` queue for events whose owner has no enabled endpoint subscribed to their type
   * (webhook-audience.ts). Default true; false sends every subscribable event to the webhook worker (the
   * behaviour before, kept for the benchmark's comparison).
   */
  webhookAudience?: boolean;
}

/** pg keeps the socket of a client here (not in its types). */
type ListenerInternals = { connection?: { stream?: { destroy(): void } } };

/**
 * Ends a client politely when its server answers, and drops its socket when it does not within `ms`
 * (`end()` alone waits for a goodbye a frozen server never sends).
 */
async function endOrDrop(client: pg.Client, ms: number): Promise<void> {
  const drop = () => (client as unknown as ListenerInternals).connection?.stream?.destroy();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        drop();
        resolve();
      }, ms);
    }),
  ]);
  clearTimeout(timer);
}

const silent: RelayLogger = { info() {}, warn() {}, error() {} };

/** What marks the `application_name` of a process that runs a relay (relayWriterTag). */
const RELAY_WRITER_MARK = '+relay:';

/**
 * The `application_name` for the database pool of a process that runs an OutboxRelay, given to the relay as its
 * `writerTag`: the service's name (what PostgreSQL's views show), then a mark and an id of this process alone
 * (two processes of one service are two writers). The outbox's NOTIFY carries it (migration
 * 2026-12-08T1000_outbox_notify_writer), so each relay knows whose events woke it. Under PostgreSQL's 63 bytes.
 */
export function relayWriterTag(service: string, id: string): string {
  return `${service.slice(0, 24)}${RELAY_WRITER_MARK}${id.slice(0, 30)}`;
}

/** Whether a NOTIFY (its payload: the writer's `application_name`) is this relay's to claim now. */
export function claimsOnNotify(writerTag: string | undefined, payload: string): boolean {
  if (!writerTag) return true;
  return payload === writerTag || !payload.includes(RELAY_WRITER_MARK);
}

/**
 * Moves outbox rows to BullMQ (docs/spec.md §6). Several relays may run at once: each batch is claimed and marked
 * published in one statement (`FOR UPDATE SKIP LOCKED`) inside a transaction, then published and confirmed held by
 * a Redis replica (publisher `confirm()`), and only then committed; if publishing or the confirmation fails the
 * transaction rolls back and the rows are retried later (a re-publish of the same event is a no-op because the job
 * id is the event id). Woken by LISTEN/NOTIFY, with polling as fallback.
 */
export class OutboxRelay {
  readonly #opts: Required<Omit<OutboxRelayOptions, 'onPublished'>> & Pick<OutboxRelayOptions, 'onPublished'>;
  #heartbeat: NodeJS.Timeout | null = null;
  #running = false;
  #wake: (() => void) | null = null;
  #pending = false;
  #listener: pg.Client | null = null;
  #loop: Promise<void> | null = null;
  #failures = 0;

  constructor(opts: OutboxRelayOptions) {
    this.#opts = {
      batchSize: 500,
      pollIntervalMs: 1000,
      logger: silent,
      webhookAudience: true,
      writerTag: '',
      listenerTimeoutMs: 2000,
      listenerHeartbeatMs: 10_000,
      ...opts,
    };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#listen();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
    this.#poke();
    await this.#loop;
    const l = this.#listener;
    this.#listener = null;
    if (l) await endOrDrop(l, this.#opts.listenerTimeoutMs);
  }

  /** Publishes one batch; returns how many events it published. Exposed for tests and tools. */
  async drainOnce(): Promise<number> {
    const { db, publisher, batchSize, webhookAudience } = this.#opts;
    const published = await db.transaction().execute(async (trx) => {
      // Claimed and marked in one statement (one round trip fewer than SELECT … FOR UPDATE, then UPDATE): the mark
      // counts only if this transaction commits, and it commits only after every job is published and confirmed;
      // any failure below rolls it back and the rows are claimed again later (at least once, docs/spec.md §6).
      const rows = await trx
        .updateTable('outbox_events')
        .set({ published_at: sql`now()` as never })
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('outbox_events')
            .select('id')
            .where('published_at', 'is', null)
            .orderBy('id')
            .limit(batchSize)
            .forUpdate()
            .skipLocked(),
        )
        .returning(['id', 'payload'])
        .execute();
      if (rows.length === 0) return [];
      // RETURNING has no order; ids are UUIDv7, so their text order is the order the events were written in
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const events = rows.map((r) => r.payload as DomainEvent);
      // asked after the claim, in this transaction: an endpoint committed before an event was written is seen
      const unheard = webhookAudience ? await eventsWithoutWebhookAudience(trx, events) : new Set<string>();
      // all at once, in this order (a queue's jobs keep their order): one round trip per batch, not per event
      const skipOf = (event: DomainEvent) => (unheard.has(event.id) ? NO_WEBHOOKS : undefined);
      if (publisher.publishBatch) await publisher.publishBatch(events.map((event) => ({ event, skip: skipOf(event) })));
      else await Promise.all(events.map((event) => publisher.publish(event, skipOf(event))));
      // not committed (so not published) before the jobs would survive a Redis failover (BullEventPublisher.confirm)
      await publisher.confirm?.();
      return events;
    });
    if (published.length > 0) this.#opts.onPublished?.(published);
    return published.length;
  }

  #poke(): void {
    this.#pending = true;
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#pending = false;
  }

  async #run(): Promise<void> {
    const { batchSize, pollIntervalMs, logger } = this.#opts;
    while (this.#running) {
      try {
        const n = await this.drainOnce();
        if (this.#failures > 0) logger.info({ afterFailures: this.#failures }, 'outbox relay recovered');
        this.#failures = 0;
        if (n === batchSize) continue;
        await this.#sleep(pollIntervalMs);
      } catch (err) {
        this.#failures++;
        if (this.#failures === 1 || this.#failures % 30 === 0) {
          logger.warn({ err: (err as Error).message, failures: this.#failures }, 'outbox relay cannot publish yet');
        }
        // back off while Redis/Postgres is down; a NOTIFY does not cut this short
        await new Promise((r) => setTimeout(r, Math.min(250 * this.#failures, pollIntervalMs * 2)));
      }
    }
  }

  /**
   * A LISTEN connection only receives: one whose server froze or vanished would wait silently forever (no
   * NOTIFY, no error). So it proves itself alive every `listenerHeartbeatMs`; one that cannot is closed, and the
   * 'end' handler opens a new one. Events are never late by more than the polling interval meanwhile.
   */
  #startHeartbeat(): void {
    if (this.#heartbeat) return;
    this.#heartbeat = setInterval(() => {
      const client = this.#listener;
      if (!client) return;
      client.query('SELECT 1').catch(() => {
        if (this.#listener === client) void endOrDrop(client, 0);
      });
    }, this.#opts.listenerHeartbeatMs);
    this.#heartbeat.unref();
  }

  async #listen(): Promise<void> {
    this.#startHeartbeat();
    let attempt = 0;
    while (this.#running && !this.#listener) {
      const client = new pg.Client({
        connectionString: this.#opts.databaseUrl,
        connectionTimeoutMillis: this.#opts.listenerTimeoutMs,
        query_timeout: this.#opts.listenerTimeoutMs,
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
      });
      client.on('error', () => {});
      try {
        await client.connect();
        client.on('notification', (msg) => {
          if (claimsOnNotify(this.#opts.writerTag, msg.payload ?? '')) this.#poke();
        });
        client.on('end', () => {
          if (this.#listener === client) {
            this.#listener = null;
            if (this.#running) setTimeout(() => void this.#listen(), 500);
          }
        });
        await client.query('LISTEN outbox_events');
        if (!this.#running) {
          await endOrDrop(client, this.#opts.listenerTimeoutMs);
          return;
        }
        this.#listener = client;
        this.#poke(); // catch up on anything written while not listening
      } catch {
        await endOrDrop(client, this.#opts.listenerTimeoutMs);
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5000)));
      }
    }
  }
}
