import pino, { type DestinationStream, type Logger } from 'pino';
import { memoByText } from './memo.ts';

export type { Logger };

/** docs/spec.md §10: logs never contain passwords, keys or unlock tokens. */
const SECRET_HEADERS = ['authorization', '"x-api-key"', 'cookie', '"x-immich-share-key"', '"x-immich-share-slug"'];
export const redactPaths = [
  ...SECRET_HEADERS.flatMap((h) => [`req.headers.${h}`, `headers.${h}`, `*.headers.${h}`]),
  'req.headers["x-immich-checksum"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'key',
  '*.key',
  'token',
  '*.token',
];

const REDACTED = '[redacted]';

/**
 * Query parameters whose value is a secret, compared after percent-decoding and lower-casing the name: the
 * parser reads `?%6bey=` as `key`, so the log must too (issue 12 item 10).
 */
const SECRET_PARAMS = new Set(['key', 'slug', 'token', 'password', 'secret', 'apikey', 'api_key', 'api-key']);
/** Path segments followed by a link key or slug (`/share/:key`, `/s/:slug`), compared after decoding. */
const LINK_SEGMENTS = new Set(['share', 's']);

/** Percent-decoding that never throws: a malformed sequence is left as it is, the valid ones around it decoded. */
function decodeLoosely(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
}

/** `/`-separated path: the segment after a `share` or `s` segment (however encoded) is replaced. */
function scrubPath(path: string): string {
  if (!path.includes('/')) return path;
  const segments = path.split('/');
  let changed = false;
  for (let i = 0; i < segments.length - 1; i++) {
    if (LINK_SEGMENTS.has(decodeLoosely(segments[i]!).trim().toLowerCase()) && segments[i + 1] !== '') {
      segments[i + 1] = REDACTED;
      changed = true;
      i++;
    }
  }
  return changed ? segments.join('/') : path;
}

/** `a=1&key=…`: the value of every secret parameter is replaced, whatever the spelling of its name. */
function scrubQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      return SECRET_PARAMS.has(decodeLoosely(name).trim().toLowerCase()) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
}

/**
 * Replaces link keys, slugs, passwords and tokens in a request URL with a placeholder, on every form a route
 * accepts: `/share/:key`, `/s/:slug` (also percent-encoded, `/%73hare/…`) and query parameters whose decoded
 * name is a secret's (`?key=`, `?%6bey=`, `?SLUG=`, `?password=`…).
 */
export function scrubUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return scrubPath(url);
  return `${scrubPath(url.slice(0, q))}?${scrubQuery(url.slice(q + 1))}`;
}

/**
 * `scrubUrl` of request URLs, remembered: a share page asks for the same URLs again and again (its `/me`, the
 * thumbnails of its grid), and scrubbing one for the access line was ~1.5% of the gateway's CPU per cached answer
 * (issue 17, `perf`). Bounded (URLs up to 512 characters, 4,096 of them; when full the memory starts over).
 */
export const scrubRequestUrl: (url: string) => string = memoByText((url) => scrubUrl(url), {
  maxEntries: 4096,
  maxKeyLength: 512,
});

const URL_LIKE = /[/?][^\s"'`<>()[\]{}]*/g;

/** Scrubs every URL-looking part of a free text (an error message quoting the request's URL, a stack). */
export function scrubText(text: string): string {
  if (!text.includes('/') && !text.includes('?')) return text;
  return text.replace(URL_LIKE, scrubUrl);
}

/** pino's error serializer, with the message and stack scrubbed (errors may quote the request's URL). */
function serializeError(err: unknown): unknown {
  if (typeof err === 'string') return scrubText(err);
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  for (const field of ['message', 'stack'] as const) {
    if (typeof out[field] === 'string') out[field] = scrubText(out[field] as string);
  }
  return out;
}

/**
 * The default destination: stdout, written asynchronously (issue 17). A log call only appends to a buffer; the
 * buffer goes out in one write while the next lines gather, so a busy service writes many lines per system call
 * and never blocks on a slow reader of its stdout. Nothing waits for a minimum size, so a quiet service's lines
 * appear at once. pino flushes the buffer synchronously when the process exits. If stdout stops draining (a
 * stuck pipe) the buffer is capped: lines beyond LOG_BUFFER_MAX_BYTES are dropped, and counted, rather than
 * growing memory or stalling requests; once it drains, a warning line says how many were lost.
 */
const LOG_BUFFER_MAX_BYTES = 16 * 1024 * 1024;

function asyncStdout(service: string): DestinationStream {
  // the batcher's exit hook is registered before pino's for the stream: its lines are handed over first
  const batched = new LineBatcher();
  const stream = pino.destination({ dest: 1, sync: false, maxLength: LOG_BUFFER_MAX_BYTES });
  batched.target = stream;
  let dropped = 0;
  // a dropped write is a batch of lines: each counts
  stream.on('drop', (data: unknown) => {
    dropped += typeof data === 'string' ? countLines(data) : 1;
  });
  // said once the buffer has drained (room again), not on the next line: a still-full buffer would drop it too
  stream.on('drain', () => {
    if (dropped === 0) return;
    const notice = {
      level: 40,
      time: new Date().toISOString(),
      service,
      msg: `${dropped} log lines dropped: stdout was not draining`,
    };
    dropped = 0;
    stream.write(`${JSON.stringify(notice)}\n`);
  });
  return batched;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The batchers to flush at exit: one process listener for all of them (tests build many loggers), each held
 * weakly (a logger dropped with its batcher is not kept alive by it).
 */
const batchers = new Set<WeakRef<LineBatcher>>();
function flushedAtExit(batcher: LineBatcher): void {
  if (batchers.size === 0) {
    process.on('exit', () => {
      for (const ref of batchers) ref.deref()?.exit();
    });
  }
  for (const ref of batchers) if (ref.deref() === undefined) batchers.delete(ref);
  batchers.add(new WeakRef(batcher));
}

/** A batch is handed to the stream at the end of the loop's turn, or once it holds this many characters. */
const BATCH_MAX_CHARS = 64 * 1024;

/**
 * The lines of one turn of the event loop handed to pino's asynchronous destination (sonic-boom) as one string.
 * sonic-boom measures the UTF-8 length of its whole pending buffer on every write (a flatten and a scan of up to
 * 16 KB per line): on the gateway's cached answers that was ~2-3% of the CPU (issue 17, `perf`:
 * `String::Utf8Length`). Batched, it measures once per turn. Order is kept (one queue); nothing waits for a
 * minimum size (a quiet service's line goes out at the end of its turn); at exit the pending batch is handed over
 * and flushed synchronously, as pino does for its destination.
 */
class LineBatcher {
  target: DestinationStream & { flushSync?: () => void; destroyed?: boolean } = { write: () => undefined };
  #lines: string[] = [];
  #chars = 0;
  #scheduled = false;

  constructor() {
    flushedAtExit(this);
  }

  /** at exit: the pending batch handed over and written synchronously */
  exit(): void {
    this.#flush();
    try {
      if (!this.target.destroyed) this.target.flushSync?.();
    } catch {
      // nothing more can be done at exit
    }
  }

  write(line: string): boolean {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= BATCH_MAX_CHARS) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return true;
  }

  #flush = (): void => {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const batch = this.#lines.length === 1 ? this.#lines[0]! : this.#lines.join('');
    this.#lines = [];
    this.#chars = 0;
    if (!this.target.destroyed) this.target.write(batch);
  };

  /** pino's `logger.flush()`: the pending batch handed over, then the stream's own flush */
  flush(cb?: (err?: Error) => void): void {
    this.#flush();
    const flush = (this.target as { flush?: (cb?: (err?: Error) => void) => void }).flush;
    if (flush) flush.call(this.target, cb);
    else cb?.();
  }

  flushSync(): void {
    this.#flush();
    this.target.flushSync?.();
  }
}

/** `destination`: where the JSON lines go (default: stdout, asynchronously); tests pass a stream to inspect them. */
export function createLogger(opts: { service: string; level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: opts.service },
      redact: { paths: redactPaths, censor: REDACTED },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: {
        // URLs may carry a link key (?key=…): never log it. Headers are not logged at all.
        req: (req: { method: string; url: string; id: string }) => ({
          method: req.method,
          url: scrubUrl(req.url),
          id: req.id,
        }),
        err: serializeError,
      },
      hooks: {
        // messages may quote a URL (fastify's own warnings do: "…in the "/share/<key>" route")
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            if (typeof args[i] === 'string') args[i] = scrubText(args[i] as string);
          }
          return method.apply(this, args as Parameters<typeof method>);
        },
      },
    },
    opts.destination ?? asyncStdout(opts.service),
  );
}

const { chindingsSym, streamSym } = pino.symbols;

/**
 * The access-log line of a request (`msg: "request"`, createHttpApp's ACCESS_LOG), written straight to the
 * logger's destination as the line pino would write: level, time, the request logger's bindings (service, reqId),
 * then `fields`. Not through `log.info`: pino runs every line through the redaction of `redactPaths`, which
 * clones and walks the object (wildcard paths) and cost most of the access log's time (issue 17: the line of a
 * cached thumbnail took as long as answering it). Nothing here needs redacting: the URL is scrubbed (`scrubUrl`)
 * by the caller, the other fields are the method, route pattern, status and duration.
 */
export function writeAccessLine(
  log: Logger,
  fields: { method: string; route: string; url: string; status: number; ms: number },
  reqId?: string,
): void {
  let bindings = (log as unknown as Record<symbol, string>)[chindingsSym] ?? '';
  const stream = (log as unknown as Record<symbol, DestinationStream | undefined>)[streamSym];
  if (!stream) {
    (reqId === undefined ? log : log.child({ reqId })).info(fields, 'request');
    return;
  }
  // `reqId` given: the line of a request answered without a request logger (the fast path), bound here
  if (reqId !== undefined) bindings += `,"reqId":${JSON.stringify(reqId)}`;
  stream.write(
    `{"level":30,"time":"${isoNow()}"${bindings},"method":${JSON.stringify(fields.method)},"route":${JSON.stringify(fields.route)},"url":${JSON.stringify(fields.url)},"status":${fields.status},"ms":${fields.ms},"msg":"request"}\n`,
  );
}

/** `new Date().toISOString()`, made once per millisecond: a busy service writes many lines in each. */
let isoAt = 0;
let isoText = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * A logger with `bindings` added, as `logger.child(bindings)` would make it, without pino's child machinery: the
 * logger of every request (createHttpApp's `childLoggerFactory`) and of every job (`startQueueWorker`). pino's
 * `child()` runs the bindings through the redaction of `redactPaths` (a clone and a walk each time) and, given
 * fastify's empty options object, its slow path: ~7% of the gateway's CPU per cached thumbnail (issue 17 profile).
 * The bindings given here are identifiers (a correlation id, a queue, a job id and name, an attempt), nothing to
 * redact: strings are written as JSON strings, numbers as numbers. Everything else — level, serializers, the
 * redaction of what is logged, the destination — is inherited from `logger`, as in a pino child.
 */
export function boundLogger(logger: Logger, bindings: Record<string, string | number | undefined>): Logger {
  const child = Object.create(logger) as Logger;
  let chindings = (logger as unknown as Record<symbol, string | undefined>)[chindingsSym] ?? '';
  for (const [key, value] of Object.entries(bindings)) {
    if (value === undefined) continue;
    const json = typeof value === 'number' && Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
    chindings += `,${JSON.stringify(key)}:${json}`;
  }
  (child as unknown as Record<symbol, string>)[chindingsSym] = chindings;
  return child;
}
