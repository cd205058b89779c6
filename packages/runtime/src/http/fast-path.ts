import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * A fast path: answers a service can give from memory alone, written to the socket without fastify's request
 * cycle (routing, the hook chains, the reply object, a child logger). Measured on the gateway's cached thumbnail
 * (issue 17), that cycle cost about half of the CPU of the answer; a grid of thumbnails is the recipient's
 * hottest request.
 *
 * The rules that every answer follows stay in one place, `createHttpApp`, which applies them here too: the
 * default (security) headers, the correlation id (`x-correlation-id`, the same `genReqId`), the latency histogram
 * and the access-log line. The service's `FastPath` decides only WHAT to answer, from its caches, and answers
 * nothing (undefined) whenever anything is not in memory or not plain — the request then goes through fastify as
 * usual, which gives the same answer the long way. Only GET requests without a body are offered to it, and
 * none while the service is closing (fastify's 503 and `connection: close` apply then).
 */
export interface FastAnswer {
  status: number;
  /** the route pattern fastify would have matched (metrics label, access log) */
  route: string;
  /** the answer's own headers, lower-case names (content type, ETag, cache control…); content-length is added */
  headers: Readonly<Record<string, string>>;
  body?: Buffer;
}

/**
 * What createHttpApp knows of a request that its fast path may need, computed only when asked: the correlation
 * id the answer will carry (the same one, however often asked) and the client's address as fastify's `req.ip`
 * gives it (X-Forwarded-For only from the TRUST_PROXY hops).
 */
export interface FastRequest {
  id(): string;
  ip(): string;
}

export type FastPath = (req: IncomingMessage, info: FastRequest) => FastAnswer | undefined;

/** What createHttpApp does around a fast answer: its headers for every response, and its bookkeeping. */
export interface FastPathHost {
  fastPath: FastPath;
  /** false while the service is closing */
  open: () => boolean;
  /** the correlation id of the request (createHttpApp's genReqId) */
  requestId: (req: IncomingMessage) => string;
  /** the client's address as fastify's `req.ip` reads it (createHttpApp's TRUST_PROXY rule) */
  clientIp: (req: IncomingMessage) => string;
  defaultHeaders?: Readonly<Record<string, string>>;
  /** after the answer is written: metrics and the access line */
  answered: (req: IncomingMessage, id: string, route: string, status: number, ms: number) => void;
  /** an answer that could not be written (its connection was closed instead): for the error log */
  failed?: (err: unknown, req: IncomingMessage, id: string, route: string) => void;
  /** FAST_ANSWER_MS_PER_TURN unless given (tests: 0 writes one answer per turn) */
  msPerTurn?: number;
}

/** FastRequest computed on demand: most answers never need the address, a refusal needs neither. */
class LazyRequestInfo implements FastRequest {
  readonly #req: IncomingMessage;
  readonly #host: FastPathHost;
  #id: string | undefined;

  constructor(req: IncomingMessage, host: FastPathHost) {
    this.#req = req;
    this.#host = host;
  }

  id(): string {
    this.#id ??= this.#host.requestId(this.#req);
    return this.#id;
  }

  ip(): string {
    return this.#host.clientIp(this.#req);
  }
}

/** Whether a request may be offered to the fast path: a GET that carries no body. */
function plainGet(req: IncomingMessage): boolean {
  return (
    req.method === 'GET' &&
    req.headers['content-length'] === undefined &&
    req.headers['transfer-encoding'] === undefined
  );
}

/** The response, written at once: the default headers, the answer's, the correlation id and the length. */
function writeFast(res: ServerResponse, host: FastPathHost, answer: FastAnswer, id: string): void {
  const head: string[] = [];
  // the answer's own header replaces a default of the same name (cache-control: no-store), as reply.header does
  const defaults = host.defaultHeaders;
  if (defaults) for (const name in defaults) if (!(name in answer.headers)) head.push(name, defaults[name]!);
  for (const name in answer.headers) head.push(name, answer.headers[name]!);
  head.push('x-correlation-id', id);
  const body = answer.status === 304 ? undefined : answer.body;
  if (body) head.push('content-length', String(body.length));
  res.writeHead(answer.status, head);
  res.end(body);
}

/**
 * How long a turn of the event loop may spend writing fast answers before it leaves the rest to the next turn
 * (`AnswerBatch`; at least one answer is written per turn, each whole). Why (issue 17 item 3): at saturation a turn
 * used to write every answer its requests asked for — 50 connections asking the 1.2 MB uncompressed `/me` meant
 * ~60 MB copied into sockets in one turn and an event-loop delay p99 of 17–34 ms, as a bare route sending the same
 * bytes has. A bound in time rather than bytes holds on a slower machine too. Measured 2026-12-07
 * (docs/benchmarks.md "Answers of one loop turn written together"): small answers (thumbnails, 50 compressed `/me`
 * of 83 KB) never reach it.
 */
export const FAST_ANSWER_MS_PER_TURN = 4;

/** An answer decided while its request was read, written at the end of the loop turn (`AnswerBatch`). */
interface Decided {
  req: IncomingMessage;
  res: ServerResponse;
  answer: FastAnswer;
  id: string;
  started: number;
}

/**
 * The fast answers of one turn of the event loop, written together once every request that turn read has been
 * handled (`setImmediate`: the loop's check phase follows the poll phase that ran the requests).
 *
 * Why (issue 17, docs/benchmarks.md "Where the rest of the thumbnail's gap is"): written one by one, each answer
 * to a busy peer — wrk, a reverse proxy, a browser's parallel connections — woke that peer again just after it had
 * gone back to sleep, and the kernel's wake-up cost the gateway about as much CPU per thumbnail as all of the fast
 * path's own work. Written back to back, the first wakes the peer and the rest find it awake. Alternating runs,
 * 2026-12-07: thumbnails 26,857 and 30,514 answers/s against 14,901 and 20,038 one by one.
 *
 * What it costs an answer: the rest of its turn (the other requests that arrived with it; at most one turn, a few
 * milliseconds at saturation, nothing on an idle service), which its duration in the access line and the latency
 * histogram includes. Each answer is written on its own: one that fails (a header Node refuses) closes its own
 * connection and is reported through `failed`, and the others are still written — before, such a throw escaped the
 * request handler.
 */
class AnswerBatch {
  /** answers decided and not yet written: a flush is scheduled exactly when this is not empty */
  #pending: Decided[] = [];
  readonly #host: FastPathHost;
  readonly #msPerTurn: number;

  constructor(host: FastPathHost) {
    this.#host = host;
    this.#msPerTurn = host.msPerTurn ?? FAST_ANSWER_MS_PER_TURN;
  }

  add(decided: Decided): void {
    if (this.#pending.push(decided) === 1) setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    const batch = this.#pending;
    const until = performance.now() + this.#msPerTurn;
    let i = 0;
    do {
      this.#write(batch[i++]!);
    } while (i < batch.length && performance.now() < until);
    // What the bound left waits for the next turn's check phase, ahead of what that turn's requests add: a
    // setImmediate made inside a check-phase callback runs after the loop's timers and I/O have had their turn.
    this.#pending = i === batch.length ? [] : batch.slice(i);
    if (this.#pending.length > 0) setImmediate(this.#flush);
  };

  /** One answer, on its own: one Node refuses closes its connection and is reported, the others go on. */
  #write({ req, res, answer, id, started }: Decided): void {
    const host = this.#host;
    try {
      writeFast(res, host, answer, id);
    } catch (err) {
      res.destroy();
      host.failed?.(err, req, id, answer.route);
      return;
    }
    host.answered(req, id, answer.route, answer.status, performance.now() - started);
  }
}

/**
 * fastify's `serverFactory`: the HTTP/1.1 server fastify would build (its keep-alive, request and connection
 * timeouts), whose requests go to the fast path first and to fastify when it has no answer.
 */
export function fastPathServerFactory(host: FastPathHost) {
  return (
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    opts: {
      http?: ServerOptions;
      keepAliveTimeout?: number;
      requestTimeout?: number;
      connectionTimeout?: number;
      maxRequestsPerSocket?: number;
    },
  ): Server => {
    const answers = new AnswerBatch(host);
    const server = createServer(opts.http ?? {}, (req, res) => {
      if (plainGet(req) && host.open()) {
        const started = performance.now();
        const info = new LazyRequestInfo(req, host);
        const answer = host.fastPath(req, info);
        if (answer) {
          answers.add({ req, res, answer, id: info.id(), started });
          return;
        }
      }
      handler(req, res);
    });
    if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
    if (opts.requestTimeout !== undefined) server.requestTimeout = opts.requestTimeout;
    if (opts.connectionTimeout !== undefined) server.setTimeout(opts.connectionTimeout);
    if (opts.maxRequestsPerSocket) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
    return server;
  };
}
