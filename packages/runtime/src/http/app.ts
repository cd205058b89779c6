import { randomUUID } from 'node:crypto';
import { type IncomingMessage, validateHeaderValue } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { type ErrorResponse, parseTrustProxy, reasonPhrase } from '@immish/contracts';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger, pino } from 'pino';
import { registerResponseDeadline } from '../deadline.ts';
import {
  DomainError,
  isBackingServiceDown,
  isStatementTimeout,
  isStorageFull,
  STORAGE_FULL_MESSAGE,
} from '../errors.ts';
import { boundLogger, scrubRequestUrl, writeAccessLine } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { type FastPath, fastPathServerFactory } from './fast-path.ts';
import { buildResponseSerializer } from './serializer.ts';

export interface RouteInfo {
  method: string;
  url: string;
  schema: { body?: unknown; params?: unknown; querystring?: unknown; headers?: unknown };
  /** the route's `config` (what it declares: public, permission…), for checks that walk every route */
  config: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyInstance {
    routeTable: RouteInfo[];
  }
}

export interface HttpAppOptions {
  logger: Logger | false;
  bodyLimit?: number;
  requestTimeoutMs?: number;
  /** TRUST_PROXY (validated by the config): whose X-Forwarded-* are believed (`parseTrustProxy`) */
  trustProxy?: string;
  /** records the request latency histogram (served by createOpsApp on the internal port, never here) */
  metrics?: Metrics;
  /** readiness checks by name (postgres, redis, storage…): each must resolve within READINESS_CHECK_DEADLINE_MS;
   * the public `/health/ready` says only whether all passed (the detail is on the internal port: createOpsApp) */
  readiness?: Record<string, () => Promise<unknown>>;
  /**
   * RESPONSE_DEADLINE_MS: a read (GET/HEAD) whose answer has not started this long after it arrived gets 503 +
   * Retry-After (deadline.ts). Absent: no request-level deadline (the health/metrics servers of the workers
   * bound their only backing calls, the readiness checks, themselves).
   */
  responseDeadlineMs?: number;
  /** JSON nesting deeper than this is refused with 400 (docs/spec.md §10) */
  maxJsonDepth?: number;
  /**
   * Headers every response carries, errors included (the gateway's security headers): set before any route
   * runs and by the router's own refusals (malformed URL, over-long parameter), which no hook sees.
   */
  defaultHeaders?: Readonly<Record<string, string>>;
  /** answers given from memory without fastify's request cycle (fast-path.ts); GET only */
  fastPath?: FastPath;
  /** how long one turn of the event loop may spend writing fast answers (fast-path.ts FAST_ANSWER_MS_PER_TURN) */
  fastAnswerMsPerTurn?: number;
  /**
   * ACCESS_LOG: one `request` line per request, written when the answer is complete (method, route, scrubbed
   * URL, status, duration in ms, correlation id as `reqId`). Default true. Fastify's own two lines per request
   * ("incoming request", "request completed") are always off: they doubled the logging cost (issue 17).
   */
  accessLog?: boolean;
}

// CommonJS modules: their default export is the module object; the class/plugin is its `.default`.
const Ajv = AjvModule.default;
const addFormats = addFormatsModule.default;

const MULTIPART_PARSE_ERROR =
  /^(Unexpected end of (multipart data|form)|Part terminated early|Malformed part header|Multipart: Boundary not found)/;

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** A request's correlation id: the caller's `X-Correlation-Id` (or `X-Request-Id`) when it is plain, else a UUID. */
function requestId(req: IncomingMessage): string {
  const h = req.headers['x-correlation-id'] ?? req.headers['x-request-id'];
  return typeof h === 'string' && CORRELATION_ID.test(h) ? h : randomUUID();
}

/**
 * Each readiness check's bound. Readiness is asked by orchestrators and by clients deciding whether to retry, so
 * it must answer within the same 2 s as every request, even when a check hangs on a frozen service; the checks
 * run in parallel, so this is the whole answer's wait.
 */
export const READINESS_CHECK_DEADLINE_MS = 1000;

/** Seconds a client is told to wait (Retry-After) when a backing service is down or stalled. */
export const BACKING_RETRY_AFTER_SECONDS = 5;
const BACKING_UNAVAILABLE_MESSAGE = 'A backing service (database, queue or storage) is unavailable; retry shortly';

/**
 * Why a parsed JSON body is refused before validation: too deep, or text PostgreSQL cannot store (NUL). A walk of
 * the parsed value without allocating per node (it had built a [value, depth] pair and an entries array per
 * object: ~9% of the links-api's CPU on the 5,000-checksum bulk-upload-check bodies, issue 17 profile). Recursion
 * is bounded by `maxDepth` (the walk stops one level below it).
 */
function jsonProblem(value: unknown, maxDepth: number): string | null {
  return walkJson(value, 1, maxDepth);
}

function walkJson(v: unknown, depth: number, maxDepth: number): string | null {
  if (typeof v === 'string') return v.includes('\u0000') ? 'text must not contain NUL (\\u0000) characters' : null;
  if (v === null || typeof v !== 'object') return null;
  if (depth > maxDepth) return `JSON nested deeper than ${maxDepth} levels`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const problem = walkJson(v[i], depth + 1, maxDepth);
      if (problem) return problem;
    }
    return null;
  }
  for (const k in v) {
    if (k.includes('\u0000')) return 'field names must not contain NUL (\\u0000) characters';
    const problem = walkJson((v as Record<string, unknown>)[k], depth + 1, maxDepth);
    if (problem) return problem;
  }
  return null;
}

export function errorBody(statusCode: number, message: string, correlationId: string): ErrorResponse {
  return { message, error: reasonPhrase(statusCode), statusCode, correlationId };
}

/** Node's refusals of a header value or name it cannot write (raised when the response head is written). */
const UNWRITABLE_HEADER = new Set(['ERR_INVALID_CHAR', 'ERR_HTTP_INVALID_HEADER_VALUE', 'ERR_INVALID_HTTP_TOKEN']);

/**
 * Removes the headers Node would refuse to write. Such a header is a bug (text reaching a header unencoded),
 * and without this the error answer fails the same way and fastify's last resort sends the status without
 * ANY header (no security headers, no content type).
 */
function dropUnwritableHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    try {
      for (const v of Array.isArray(value) ? value : [value]) validateHeaderValue(name, String(v ?? ''));
    } catch {
      reply.removeHeader(name);
    }
  }
}

/**
 * TRUST_PROXY as fastify's `trustProxy`. A hop count becomes a function trusting the first `n` hops back from
 * the TCP peer: fastify ≥ 5.12 reads a plain number as "trust nothing" (a client that reaches the service
 * directly could otherwise prepend addresses), so the count is the operator's statement that every request
 * comes through exactly that many proxies (README: use it only when the service is reachable through them
 * alone, else list their addresses). A value the config did not validate falls back to ignoring X-Forwarded-*.
 */
function trustProxyOption(value: string | undefined): false | string[] | ((address: string, hop: number) => boolean) {
  const parsed = parseTrustProxy(value ?? 'false') ?? false;
  if (typeof parsed !== 'number') return parsed;
  if (parsed === 0) return false;
  return (_address, hop) => hop < parsed;
}

/**
 * The client's address of a raw request as fastify's `req.ip` reads it with this `trustProxy` value (the same
 * library, @fastify/proxy-addr, and the same rule: the nearest address not trusted), for answers given outside
 * fastify's request cycle (the fast path).
 */
function clientIpOf(trust: ReturnType<typeof trustProxyOption>): (req: IncomingMessage) => string {
  if (trust === false) return (req) => req.socket.remoteAddress ?? '';
  const fn = typeof trust === 'function' ? trust : proxyAddr.compile(trust);
  return (req) => {
    const addrs = proxyAddr.all(req, fn);
    return addrs[addrs.length - 1] ?? '';
  };
}

/** Multipart/body-parser error codes that are the client's fault, with the status they deserve. */
const clientErrorCodes: Record<string, number> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 413,
  FST_REQ_FILE_TOO_LARGE: 413,
  FST_FILES_LIMIT: 413,
  FST_PARTS_LIMIT: 413,
  FST_FIELDS_LIMIT: 413,
  FST_PROTO_VIOLATION: 400,
  FST_INVALID_MULTIPART_CONTENT_TYPE: 415,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 415,
  FST_ERR_CTP_EMPTY_JSON_BODY: 400,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 400,
  FST_ERR_CTP_INVALID_JSON_BODY: 400,
  FST_ERR_VALIDATION: 400,
};

/**
 * The fastify base every HTTP service is built on: correlation ids, the docs/spec.md §11 error shape for every
 * failure, strict body validation (no type coercion, unknown fields refused), JSON depth limit, plain health
 * endpoints. No listening here: `main.ts` listens, tests use `inject` or port 0.
 */
export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  let closing = false;
  const metrics = opts.metrics?.httpDuration;
  const accessLog = opts.logger !== false && opts.accessLog !== false;
  /** What is recorded of every answer, through fastify or the fast path: latency histogram and access line. */
  const answered = (
    log: Logger,
    method: string,
    route: string,
    url: string,
    status: number,
    ms: number,
    reqId?: string,
  ): void => {
    metrics?.observe({ method, route, status: String(status) }, ms / 1000);
    if (accessLog && log.isLevelEnabled('info')) {
      writeAccessLine(log, { method, route, url: scrubRequestUrl(url), status, ms: Math.round(ms * 10) / 10 }, reqId);
    }
  };
  const logger = opts.logger;
  const fastPath = opts.fastPath;
  const trustProxy = trustProxyOption(opts.trustProxy);
  const app = Fastify({
    ...(fastPath
      ? {
          serverFactory: fastPathServerFactory({
            fastPath,
            open: () => !closing,
            requestId,
            clientIp: clientIpOf(trustProxy),
            ...(opts.defaultHeaders ? { defaultHeaders: opts.defaultHeaders } : {}),
            ...(opts.fastAnswerMsPerTurn === undefined ? {} : { msPerTurn: opts.fastAnswerMsPerTurn }),
            answered: (req, id, route, status, ms) => {
              if (logger) answered(logger, 'GET', route, req.url ?? '', status, ms, id);
              else metrics?.observe({ method: 'GET', route, status: String(status) }, ms / 1000);
            },
            failed: (err, req, id, route) => {
              if (logger)
                logger.error(
                  { err, reqId: id, method: 'GET', route, url: scrubRequestUrl(req.url ?? '') },
                  'a fast answer could not be written; its connection was closed',
                );
            },
          }),
        }
      : {}),
    loggerInstance: opts.logger || undefined,
    logger: opts.logger ? undefined : false,
    logController: new LogController({ disableRequestLogging: true }),
    // a route with its own log level or serializers gets a pino child; every other request the cheap request logger
    childLoggerFactory: (logger: Logger, bindings: Record<string, unknown>, childOpts: pino.ChildLoggerOptions) =>
      (childOpts.level === undefined || childOpts.level === logger.level) && childOpts.serializers === undefined
        ? boundLogger(logger, bindings as Record<string, string>)
        : logger.child(bindings, childOpts),
    bodyLimit: opts.bodyLimit ?? 1_048_576,
    requestTimeout: opts.requestTimeoutMs ?? 120_000,
    trustProxy,
    genReqId: requestId,
    forceCloseConnections: 'idle',
    // errors the router raises before any hook (bad URL encoding, over-long parameters): same error shape and
    // the same headers as every other answer
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      if (opts.defaultHeaders) reply.headers(opts.defaultHeaders);
      reply
        .header('x-correlation-id', req.id)
        .status(status)
        .type('application/json')
        .send(errorBody(status, err.message, String(req.id)));
    },
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // response schemas serialized without validating their nullable unions (serializer.ts says why)
    schemaController: { compilersFactory: { buildSerializer: buildResponseSerializer } },
  } as never) as unknown as FastifyInstance;

  // Every route with its schema, for tools that walk the API (the bad-input fuzz test, docs checks).
  const routeTable: RouteInfo[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) {
      routeTable.push({
        method: String(method),
        url: r.url,
        schema: (r.schema ?? {}) as RouteInfo['schema'],
        config: (r.config ?? {}) as Record<string, unknown>,
      });
    }
  });

  // Body: strict (a string is not a number, unknown fields are an error). Query/params/headers: coerced,
  // since everything there arrives as text.
  const strict = addFormats(
    new Ajv({ allErrors: false, coerceTypes: false, removeAdditional: false, useDefaults: true, strict: false }),
  );
  const coercing = addFormats(
    new Ajv({ allErrors: false, coerceTypes: 'array', removeAdditional: false, useDefaults: true, strict: false }),
  );
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));

  const maxDepth = opts.maxJsonDepth ?? 32;
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    defaultJson(req, body as string, (err, value) => {
      if (err) {
        (err as FastifyError).statusCode = 400;
        return done(err, undefined);
      }
      const problem = jsonProblem(value, maxDepth);
      if (problem) return done(new DomainError('invalid', problem), undefined);
      done(null, value);
    });
  });

  // Per-request hooks are callback-style (`done`), not async: an async hook costs a promise and a microtask
  // turn on every request, which the small cached routes (thumbnails) feel.
  const defaultHeaders = opts.defaultHeaders;
  app.addHook('onRequest', (req, reply, done) => {
    if (defaultHeaders) reply.headers(defaultHeaders);
    reply.header('x-correlation-id', req.id);
    done();
  });

  // SIGTERM with requests in flight (docs/spec.md §12): they complete, but their keep-alive connections must not hold
  // the shutdown open afterwards (server.close() only closes the connections idle at that moment).
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
    answered(
      req.log as Logger,
      req.method,
      req.routeOptions.url ?? 'unmatched',
      req.url,
      reply.statusCode,
      reply.elapsedTime,
    );
    done();
  });

  if (opts.responseDeadlineMs !== undefined) {
    registerResponseDeadline(app, {
      deadlineMs: opts.responseDeadlineMs,
      onExpired: (reply) => {
        reply.log.warn(
          { route: reply.request.routeOptions.url, deadlineMs: opts.responseDeadlineMs },
          'no answer within the response deadline: a backing service is stalled; answered 503',
        );
        reply
          .status(503)
          .header('retry-after', String(BACKING_RETRY_AFTER_SECONDS))
          .type('application/json')
          .send(
            errorBody(
              503,
              'No answer in time: a backing service (database, queue or storage) is not responding; retry shortly',
              String(reply.request.id),
            ),
          );
      },
    });
  }

  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    const send = (status: number, message: string, retryAfter?: number) => {
      if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
      return reply
        .status(status)
        .type('application/json')
        .send(errorBody(status, message, String(req.id)));
    };
    if (err instanceof DomainError) return send(err.statusCode, err.message, err.retryAfterSeconds);
    if (err.validation) return send(400, err.message);
    const code = err.code ?? '';
    if (clientErrorCodes[code]) return send(clientErrorCodes[code], err.message);
    // the multipart parser's complaints about a malformed body are the client's fault
    if (MULTIPART_PARSE_ERROR.test(err.message ?? '')) return send(400, `Malformed multipart body: ${err.message}`);
    // text PostgreSQL cannot store (NUL bytes, invalid encoding) reaching a query through a path or query string
    if (code === '22021' || code === '22P05') return send(400, 'text must not contain NUL characters or invalid UTF-8');
    if (isStorageFull(err)) {
      req.log.warn({ err: err.message }, 'storage full');
      return send(507, STORAGE_FULL_MESSAGE);
    }
    // a stalled or unreachable service, or one statement the database could not finish in time: not the
    // client's fault and not a bug
    if (isBackingServiceDown(err) || isStatementTimeout(err)) {
      req.log.warn({ err: err.message }, 'backing service unavailable');
      return send(503, BACKING_UNAVAILABLE_MESSAGE, BACKING_RETRY_AFTER_SECONDS);
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return send(err.statusCode, err.message);
    if (UNWRITABLE_HEADER.has(code)) dropUnwritableHeaders(reply);
    req.log.error({ err }, 'unhandled error');
    return send(500, 'Internal server error');
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send(errorBody(404, `Cannot ${req.method} ${req.url.split('?')[0]}`, String(req.id)));
  });

  // The public port answers liveness and a plain readiness only (issue 12 item 11): which backing service failed
  // and why, and the metrics, are operators' data, served on the internal port (ops.ts, METRICS_HOST:*_METRICS_PORT).
  app.get('/health/live', { logLevel: 'warn', schema: { hide: true } as never }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { logLevel: 'warn', schema: { hide: true } as never }, async (_req, reply) => {
    const { ok } = await readinessReport(opts.readiness);
    if (!ok) reply.status(503).header('retry-after', String(BACKING_RETRY_AFTER_SECONDS));
    return { status: ok ? 'ok' : 'unavailable' };
  });
  return app;
}

/**
 * Runs every readiness check (in parallel, each bounded by READINESS_CHECK_DEADLINE_MS): all fine, and each
 * check's outcome or error.
 */
export async function readinessReport(
  readiness: Record<string, () => Promise<unknown>> = {},
): Promise<{ ok: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  let ok = true;
  await Promise.all(
    Object.entries(readiness).map(async ([name, check]) => {
      try {
        await withDeadline(check(), READINESS_CHECK_DEADLINE_MS, name);
        checks[name] = 'ok';
      } catch (err) {
        ok = false;
        checks[name] = (err as Error).message || 'failed';
      }
    }),
  );
  return { ok, checks };
}

export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}
