import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * How fast a service is assumed to flush a received body to storage once its last byte is in (fsync of the
 * file, or the store completing the object). A request that brought a body gets this much extra time on top
 * of the deadline: a 10 GB upload may legitimately take a while to reach the disk after the client is done.
 */
export const BODY_FLUSH_BYTES_PER_SECOND = 50 * 1024 * 1024;

export interface ResponseDeadlineOptions {
  /** RESPONSE_DEADLINE_MS: the longest a request may wait for its answer to start, counted from its last progress */
  deadlineMs: number;
  /** answers the request (503 + Retry-After in the error shape); called at most once per request */
  onExpired(reply: FastifyReply): void;
}

interface Watch {
  /** when the request last made progress: arrived, or its body brought more bytes */
  lastProgress: number;
  /** the socket's bytesRead when last looked at (a request body being received moves it) */
  bytesRead: number;
  /** bytes received since the request started (≈ its body) */
  bodyBytes: number;
}

/**
 * The request-level deadline (SPEC §11, §14 "stalls are failures with a deadline"): every request whose
 * answer has not started `deadlineMs` after its last sign of progress is answered by `onExpired` (503 +
 * Retry-After). Progress is the request itself arriving and its body still coming in (a long upload that keeps
 * moving is not a stall; a client or a store that stops moving is). Once the response has started (a download
 * streaming, an SSE stream) the request is no longer watched: the stores' own stall timeouts cut a transfer
 * that stops.
 *
 * It is the backstop behind the bounds of each backing call (pool acquire and statement timeouts, Redis command
 * timeouts, S3 connection and stall timeouts): those fail the call itself, which rolls back what it was doing;
 * this one makes sure the client hears in time when several bounded waits add up in one request. The handler
 * still runs to its end after such an answer (its next backing call fails fast or at its own bound).
 *
 * One interval timer per app, only while requests are in flight, sweeping them every tenth of the deadline
 * (at most 100 ms): no timer per request on the hot paths.
 */
export function registerResponseDeadline(app: FastifyInstance, opts: ResponseDeadlineOptions): void {
  const watched = new Map<FastifyReply, Watch>();
  const tickMs = Math.max(10, Math.min(100, Math.floor(opts.deadlineMs / 10)));
  let timer: NodeJS.Timeout | null = null;

  const sweep = () => {
    const now = Date.now();
    for (const [reply, watch] of watched) {
      const res = reply.raw;
      if (reply.sent || res.headersSent || res.destroyed) {
        watched.delete(reply);
        continue;
      }
      const read = reply.request.raw.socket?.bytesRead ?? watch.bytesRead;
      if (read !== watch.bytesRead) {
        watch.bodyBytes += Math.max(0, read - watch.bytesRead);
        watch.bytesRead = read;
        watch.lastProgress = now;
        continue;
      }
      const allowance = opts.deadlineMs + (watch.bodyBytes * 1000) / BODY_FLUSH_BYTES_PER_SECOND;
      if (now - watch.lastProgress >= allowance) {
        watched.delete(reply);
        opts.onExpired(reply);
      }
    }
    if (watched.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };

  app.addHook('onRequest', (req, reply, done) => {
    watched.set(reply, { lastProgress: Date.now(), bytesRead: req.raw.socket?.bytesRead ?? 0, bodyBytes: 0 });
    if (!timer) {
      timer = setInterval(sweep, tickMs);
      timer.unref();
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
