import type { FastifyInstance, FastifyReply } from 'fastify';

export interface ResponseDeadlineOptions {
  /** RESPONSE_DEADLINE_MS: the longest a read may wait for its answer to start */
  deadlineMs: number;
  /** answers the request (503 + Retry-After in the error shape); called at most once per request */
  onExpired(reply: FastifyReply): void;
}

/** Requests the deadline may answer early: reads, which leave nothing behind whatever happens after. */
const READS = new Set(['GET', 'HEAD']);

/**
 * The request-level deadline (docs/spec.md §11, §14 "stalls are failures with a deadline"), the backstop behind the
 * bounds of each backing call (pool acquire and statement timeouts, Redis command timeouts, S3 connection and
 * stall timeouts): a read whose answer has not started `deadlineMs` after it arrived is answered by
 * `onExpired` (503 + Retry-After), whatever it is still waiting for, so the client hears in time even when
 * several bounded waits add up in one request. Once its answer has started (a download streaming, an SSE
 * stream) a request is no longer watched: the stores' own stall timeouts cut a transfer that stops.
 *
 * Writes are not answered early: their handler would still run on and might commit after the client was told
 * 503. A write is answered by its own outcome instead, and every backing call it makes is bounded (its first
 * wait on a stalled database ends at the statement timeout and rolls it back; later ones fail at once).
 *
 * Time the process itself could not run (a starved CPU: the sweep comes late) does not count against a
 * request: the deadline is about a backing service not answering, not about this machine being busy.
 * One interval timer per app, only while reads are in flight, sweeping them every tenth of the deadline (at
 * most 100 ms): no timer per request on the hot paths.
 */
export function registerResponseDeadline(app: FastifyInstance, opts: ResponseDeadlineOptions): void {
  /** each watched read with the time it started waiting (moved on by the time the process was starved) */
  const watched = new Map<FastifyReply, number>();
  const tickMs = Math.max(10, Math.min(100, Math.floor(opts.deadlineMs / 10)));
  let timer: NodeJS.Timeout | null = null;
  let lastSweep = 0;

  const sweep = () => {
    const now = Date.now();
    const starved = Math.max(0, now - lastSweep - tickMs);
    lastSweep = now;
    for (const [reply, since] of watched) {
      const res = reply.raw;
      if (reply.sent || res.headersSent || res.destroyed) {
        watched.delete(reply);
        continue;
      }
      const waited = now - since - starved;
      if (waited >= opts.deadlineMs) {
        watched.delete(reply);
        opts.onExpired(reply);
      } else if (starved > 0) {
        watched.set(reply, since + starved);
      }
    }
    if (watched.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };

  app.addHook('onRequest', (req, reply, done) => {
    if (READS.has(req.method)) {
      watched.set(reply, Date.now());
      if (!timer) {
        lastSweep = Date.now();
        timer = setInterval(sweep, tickMs);
        timer.unref();
      }
    }
    done();
  });
  app.addHook('onResponse', (_req, reply, done) => {
    watched.delete(reply);
    done();
  });
  app.addHook('onClose', (_app, done) => {
    if (timer) clearInterval(timer);
    timer = null;
    watched.clear();
    done();
  });
}
