import type { DomainEvent } from '@immish/contracts';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../pool.ts';
import type { EventPublisher } from './publisher.ts';

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
}

const silent: RelayLogger = { info() {}, warn() {}, error() {} };

/**
 * Moves outbox rows to BullMQ (SPEC §6). Several relays may run at once: each batch is claimed with
 * `FOR UPDATE SKIP LOCKED` inside a transaction, published, and marked published before commit; if
 * publishing fails the transaction rolls back and the rows are retried later (a re-publish of the same
 * event is a no-op because the job id is the event id). Woken by LISTEN/NOTIFY, with polling as fallback.
 */
export class OutboxRelay {
  readonly #opts: Required<Omit<OutboxRelayOptions, 'onPublished'>> & Pick<OutboxRelayOptions, 'onPublished'>;
  #running = false;
  #wake: (() => void) | null = null;
  #pending = false;
  #listener: pg.Client | null = null;
  #loop: Promise<void> | null = null;
  #failures = 0;

  constructor(opts: OutboxRelayOptions) {
    this.#opts = { batchSize: 100, pollIntervalMs: 1000, logger: silent, ...opts };
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#listen();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#poke();
    await this.#loop;
    const l = this.#listener;
    this.#listener = null;
    await l?.end().catch(() => {});
  }

  /** Publishes one batch; returns how many events it published. Exposed for tests and tools. */
  async drainOnce(): Promise<number> {
    const { db, publisher, batchSize } = this.#opts;
    const published = await db.transaction().execute(async (trx) => {
      const rows = await trx
        .selectFrom('outbox_events')
        .select(['id', 'payload'])
        .where('published_at', 'is', null)
        .orderBy('id')
        .limit(batchSize)
        .forUpdate()
        .skipLocked()
        .execute();
      if (rows.length === 0) return [];
      const events = rows.map((r) => r.payload as DomainEvent);
      for (const event of events) await publisher.publish(event);
      await trx
        .updateTable('outbox_events')
        .set({ published_at: sql`now()` as never })
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .execute();
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

  async #listen(): Promise<void> {
    let attempt = 0;
    while (this.#running && !this.#listener) {
      const client = new pg.Client({ connectionString: this.#opts.databaseUrl, connectionTimeoutMillis: 2000 });
      client.on('error', () => {});
      try {
        await client.connect();
        client.on('notification', () => this.#poke());
        client.on('end', () => {
          if (this.#listener === client) {
            this.#listener = null;
            if (this.#running) setTimeout(() => void this.#listen(), 500);
          }
        });
        await client.query('LISTEN outbox_events');
        if (!this.#running) {
          await client.end().catch(() => {});
          return;
        }
        this.#listener = client;
        this.#poke(); // catch up on anything written while not listening
      } catch {
        await client.end().catch(() => {});
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5000)));
      }
    }
  }
}
