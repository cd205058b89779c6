import { createHash } from 'node:crypto';
import type { Db, LinkActivityAction, NewLinkActivity } from '@immish/db';
import { type ActivityClient, insertActivity } from '@immish/domain';

/** Repeated views by one client within this long are one visit (issue 18 item 1). */
export const VISIT_WINDOW_MS = 30 * 60_000;
const FLUSH_EVERY_MS = 1000;
const FLUSH_AT = 500;
const RETRY_MAX_MS = 30_000;
/** at most this many entries kept while the database is unreachable; beyond it the oldest go (reported) */
const MAX_BUFFERED = 50_000;
/** at most this many (link, client) "last seen" times in memory; the oldest are forgotten first */
const MAX_VISITORS = 100_000;

export interface ActivityEntry {
  linkId: string;
  action: LinkActivityAction;
  client: ActivityClient;
  assetId?: string;
  exportId?: string;
}

/**
 * The per-link activity log's writer in the gateway (README "Webhooks and link activity"): `record()` only
 * appends to a buffer — a recipient's request never waits for it — and the buffer is written in one INSERT
 * every second or every FLUSH_AT entries. A failed write keeps its entries (in front of newer ones) and is
 * retried with backoff (1 s doubling, ≤ 30 s); `drain()` at shutdown writes what is left once.
 * Visits: a `visit` from a (link, client) seen within VISIT_WINDOW_MS is not a new visit. Decision: the "last
 * seen" lives in memory only (a bounded map, oldest forgotten first), so after a restart or on another gateway
 * replica a returning client may count as one more visit; the database is not consulted on the request path.
 */
export class ActivityLogRecorder {
  readonly #db: Db;
  readonly #onError: (err: unknown, entries: number) => void;
  readonly #now: () => number;
  #buffer: NewLinkActivity[] = [];
  readonly #lastSeen = new Map<string, { at: number; visitKey: string }>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #backoffMs = 0;

  constructor(db: Db, opts: { onError?: (err: unknown, entries: number) => void; now?: () => number } = {}) {
    this.#db = db;
    this.#onError = opts.onError ?? (() => {});
    this.#now = opts.now ?? Date.now;
  }

  /** Appends an entry (a visit only if it opens a new 30-minute visit); written in the background. */
  record(entry: ActivityEntry): void {
    const now = this.#now();
    let visitKey: string | null = null;
    if (entry.action === 'visit') {
      const who = `${entry.linkId}|${entry.client.network}|${entry.client.browser}|${entry.client.os}`;
      const seen = this.#lastSeen.get(who);
      this.#lastSeen.delete(who); // re-inserted last: the map's order is least recently seen first
      if (seen && now - seen.at < VISIT_WINDOW_MS) {
        this.#lastSeen.set(who, { at: now, visitKey: seen.visitKey });
        return;
      }
      visitKey = createHash('sha256').update(`${who}|${now}`).digest('base64url').slice(0, 22);
      this.#lastSeen.set(who, { at: now, visitKey });
      if (this.#lastSeen.size > MAX_VISITORS) this.#lastSeen.delete(this.#lastSeen.keys().next().value!);
    }
    this.#buffer.push({
      link_id: entry.linkId,
      at: new Date(now),
      action: entry.action,
      asset_id: entry.assetId ?? null,
      export_id: entry.exportId ?? null,
      client_net: entry.client.network,
      browser: entry.client.browser,
      os: entry.client.os,
      bot: entry.client.bot,
      visit_key: visitKey,
    });
    if (this.#buffer.length > MAX_BUFFERED)
      this.#onError(new Error('activity buffer full'), this.#buffer.splice(0, 1).length);
    if (this.#buffer.length >= FLUSH_AT) this.#flushSoon(0);
    else this.#flushSoon(FLUSH_EVERY_MS);
  }

  /** Resolves once everything recorded so far has been written (or its write failed). */
  async settled(): Promise<void> {
    while (this.#writing) await this.#writing;
    if (this.#buffer.length > 0) await this.#flush();
  }

  /** Shutdown: writes what is left, once. */
  async drain(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.settled();
  }

  #flushSoon(delayMs: number): void {
    if (this.#writing) return;
    if (this.#timer && delayMs > 0) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, delayMs);
    this.#timer.unref();
  }

  /** One INSERT; entries of a link deleted meanwhile (foreign key) are dropped, not retried forever. */
  async #write(batch: NewLinkActivity[]): Promise<void> {
    try {
      await insertActivity(this.#db, batch);
    } catch (err) {
      if ((err as { code?: string }).code !== '23503') throw err;
      const ids = [...new Set(batch.map((e) => e.link_id))];
      const alive = new Set(
        (await this.#db.selectFrom('shared_links').select('id').where('id', 'in', ids).execute()).map((r) => r.id),
      );
      await insertActivity(
        this.#db,
        batch.filter((e) => alive.has(e.link_id)),
      );
    }
  }

  #flush(): Promise<void> {
    if (this.#writing) return this.#writing;
    const batch = this.#buffer;
    this.#buffer = [];
    if (batch.length === 0) return Promise.resolve();
    this.#writing = this.#write(batch).then(
      () => {
        this.#backoffMs = 0;
        this.#writing = undefined;
        if (this.#buffer.length > 0) this.#flushSoon(FLUSH_EVERY_MS);
      },
      (err: unknown) => {
        this.#onError(err, batch.length);
        this.#buffer = [...batch, ...this.#buffer]; // kept, in order, for the retry
        this.#writing = undefined;
        this.#backoffMs = Math.min(Math.max(this.#backoffMs * 2, FLUSH_EVERY_MS), RETRY_MAX_MS);
        this.#flushSoon(this.#backoffMs);
      },
    );
    return this.#writing;
  }
}
