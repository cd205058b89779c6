import { appendEvents, type Db } from '@immish/db';
import { sql } from 'kysely';

export type LinkActivity = 'view' | 'download' | 'upload';

export interface LinkActivityCounts {
  view: number;
  download: number;
  upload: number;
}

/**
 * Adds to a link's counters in one UPDATE (+ `last_accessed_at`), with one `shared-link.viewed` event for
 * the views it adds (`data.views`; the envelope carries the first view's correlation id) in the same
 * transaction. One event per counter write rather than per view: a popular link's views arrive by the
 * hundred per second and are written together (LinkActivityRecorder), and an outbox row per view would make
 * every view cost an event insert and a relay publish. Media requests (thumbnails…) are not views: a page
 * of 200 thumbnails is one view.
 */
async function writeLinkActivity(
  db: Db,
  linkId: string,
  counts: LinkActivityCounts,
  viewCorrelationId?: string,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (counts.view > 0) {
      await appendEvents(trx, [
        {
          type: 'shared-link.viewed' as const,
          actor: { type: 'link' as const, id: linkId },
          subject: { type: 'shared-link' as const, id: linkId },
          data: { linkId, views: counts.view },
          ...(viewCorrelationId ? { correlationId: viewCorrelationId } : {}),
        },
      ]);
    }
    // last: the row lock (every view of a popular link takes it) is held only until the commit
    await trx
      .updateTable('shared_links')
      .set({
        view_count: sql`view_count + ${counts.view}`,
        download_count: sql`download_count + ${counts.download}`,
        upload_count: sql`upload_count + ${counts.upload}`,
        last_accessed_at: sql`now()`,
      } as never)
      .where('id', '=', linkId)
      .execute();
  });
}

interface PendingActivity extends LinkActivityCounts {
  /** the first view's correlation id (carried by the event) */
  viewCorrelationId: string | undefined;
}

/** A link's counters are written at most this often (the first increment after a quiet spell at once). */
export const LINK_COUNTER_INTERVAL_MS = 1000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * A link's counters (views, completed downloads, uploads), written in the background: the answer to a
 * recipient does not wait for a counter write. A quiet link's increment is written at once; after a write,
 * what arrives within LINK_COUNTER_INTERVAL_MS is added up and written together when the interval ends, so a
 * popular link costs one UPDATE (and one `shared-link.viewed` event to relay) per second, not one per view
 * queueing on the row lock. A failed write (database down) keeps its increments and is retried with backoff
 * (1 s, doubling, at most 30 s) while the process runs; `drain()` at shutdown writes what is left, one last
 * time. Decision: a counter is eventually exact (within ~1 s), not committed before the response — a view
 * must not cost a recipient a database round trip; nothing reads the counters within the request, and a
 * crash loses at most the last second's increments.
 */
export class LinkActivityRecorder {
  readonly #db: Db;
  readonly #onError: (err: unknown, linkId: string, counts: LinkActivityCounts) => void;
  readonly #intervalMs: number;
  readonly #pending = new Map<string, PendingActivity>();
  readonly #writing = new Set<string>();
  readonly #inFlight = new Set<Promise<unknown>>();
  /** links that must not be written before a timer fires: the interval after a write, or a retry's backoff */
  readonly #waiting = new Map<string, { timer: NodeJS.Timeout; retry: boolean }>();
  /** the backoff of links whose last write failed */
  readonly #backoffMs = new Map<string, number>();
  #closing = false;

  constructor(
    db: Db,
    onError: (err: unknown, linkId: string, counts: LinkActivityCounts) => void = () => {},
    intervalMs = LINK_COUNTER_INTERVAL_MS,
  ) {
    this.#db = db;
    this.#onError = onError;
    this.#intervalMs = intervalMs;
  }

  /** Adds to a link's counter; written in the background (see the class comment). */
  count(linkId: string, activity: LinkActivity, by = 1, correlationId?: string): void {
    const counts = { view: 0, download: 0, upload: 0, [activity]: by };
    this.#add(linkId, counts, activity === 'view' ? correlationId : undefined);
    this.#next(linkId);
  }

  /**
   * Resolves once every increment counted so far is written (or its write failed), without waiting out the
   * interval: tests read the counters after it. Retries are not hurried.
   */
  async settled(): Promise<void> {
    for (;;) {
      for (const [linkId, w] of this.#waiting) if (!w.retry) this.#wake(linkId);
      if (this.#inFlight.size === 0) return;
      await Promise.allSettled([...this.#inFlight]);
    }
  }

  /**
   * Shutdown (after the HTTP server has stopped, before the pool closes): writes everything pending now,
   * retries included, once. What cannot be written then is reported through onError and lost.
   */
  async drain(): Promise<void> {
    this.#closing = true;
    for (const linkId of [...this.#waiting.keys()]) this.#wake(linkId);
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #add(linkId: string, counts: LinkActivityCounts, viewCorrelationId: string | undefined): void {
    let p = this.#pending.get(linkId);
    if (!p) {
      p = { view: 0, download: 0, upload: 0, viewCorrelationId: undefined };
      this.#pending.set(linkId, p);
    }
    p.view += counts.view;
    p.download += counts.download;
    p.upload += counts.upload;
    if (counts.view > 0) p.viewCorrelationId ??= viewCorrelationId;
  }

  #wake(linkId: string): void {
    const w = this.#waiting.get(linkId);
    if (w) clearTimeout(w.timer);
    this.#waiting.delete(linkId);
    this.#next(linkId);
  }

  #wait(linkId: string, delayMs: number, retry: boolean): void {
    const timer = setTimeout(() => this.#wake(linkId), delayMs);
    timer.unref(); // a pending counter does not keep the process alive; drain() writes it at shutdown
    this.#waiting.set(linkId, { timer, retry });
  }

  #next(linkId: string): void {
    if (this.#writing.has(linkId) || this.#waiting.has(linkId)) return;
    const p = this.#pending.get(linkId);
    if (!p) return;
    this.#pending.delete(linkId);
    this.#writing.add(linkId);
    const started = Date.now();
    const write = writeLinkActivity(this.#db, linkId, p, p.viewCorrelationId).then(
      () => true,
      (e: unknown) => {
        this.#onError(e, linkId, p);
        if (!this.#closing) this.#add(linkId, p, p.viewCorrelationId); // kept for the retry
        return false;
      },
    );
    this.#inFlight.add(write);
    void write.then((ok) => {
      this.#writing.delete(linkId);
      if (this.#closing) {
        this.#next(linkId);
      } else if (ok) {
        this.#backoffMs.delete(linkId);
        this.#wait(linkId, Math.max(0, started + this.#intervalMs - Date.now()), false);
      } else {
        const delayMs = Math.min((this.#backoffMs.get(linkId) ?? RETRY_FIRST_MS / 2) * 2, RETRY_MAX_MS);
        this.#backoffMs.set(linkId, delayMs);
        this.#wait(linkId, delayMs, true);
      }
      this.#inFlight.delete(write);
    });
  }
}
