import { Agent, type IncomingMessage, request, ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpApp, createLogger, createMetrics, type FastAnswer, type FastPath } from '../src/index.ts';

// Issue 17: answers from memory written before fastify's request cycle (src/http/fast-path.ts). Whatever way a
// request is answered, createHttpApp's rules hold: default headers, correlation id, metrics, one access line.

const BODY = Buffer.from('from memory');
const DEFAULTS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(
  fastPath: FastPath,
  setup?: (app: FastifyInstance) => void,
  trustProxy?: string,
  onLine?: (line: Record<string, unknown>) => void,
  fastAnswerMsPerTurn?: number,
) {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        lines.push(JSON.parse(line));
        onLine?.(JSON.parse(line));
      }
      cb();
    },
  });
  const metrics = createMetrics('test');
  const app = createHttpApp({
    logger: createLogger({ service: 'test', level: 'info', destination }),
    metrics,
    defaultHeaders: DEFAULTS,
    fastPath,
    ...(trustProxy === undefined ? {} : { trustProxy }),
    ...(fastAnswerMsPerTurn === undefined ? {} : { fastAnswerMsPerTurn }),
  });
  app.get('/things/:id', async () => 'from fastify');
  app.post('/things/:id', async () => 'from fastify');
  setup?.(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  close = () => app.close();
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const observed = async (route: string) => {
    const metric = (await metrics.httpDuration.get()).values.find(
      (v) => v.metricName === 'http_request_duration_seconds_count' && v.labels.route === route,
    );
    return metric?.value ?? 0;
  };
  return { app, base, lines, observed };
}

const memory: FastPath = (req: IncomingMessage) =>
  req.url?.startsWith('/things/cached')
    ? {
        status: 200,
        route: '/things/:id',
        headers: { 'content-type': 'text/plain', 'cache-control': 'max-age=60' },
        body: BODY,
      }
    : undefined;

describe('createHttpApp fastPath', () => {
  it('should answer with the default headers (its own replacing one of the same name), an id, metrics and one access line', async () => {
    const { base, lines, observed } = await serve(memory);
    const res = await fetch(`${base}/things/cached?key=secret-link-key`, { headers: { 'x-correlation-id': 'c-1' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('from memory');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('cache-control')).toBe('max-age=60');
    expect(res.headers.get('content-length')).toBe(String(BODY.length));
    expect(res.headers.get('x-correlation-id')).toBe('c-1');
    expect(await observed('/things/:id')).toBe(1);
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      method: 'GET',
      route: '/things/:id',
      url: '/things/cached?key=[redacted]',
      status: 200,
      reqId: 'c-1',
      service: 'test',
    });
    expect(JSON.stringify(lines)).not.toContain('secret-link-key');
  });

  it('should leave to fastify what it does not answer, what is not a plain GET, and everything while closing', async () => {
    let offered = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let duringClose: { status: number; body: string } | undefined;
    const { app, base, lines } = await serve(
      (req, info) => {
        offered++;
        return memory(req, info);
      },
      (app) =>
        app.addHook('preClose', async () => {
          duringClose = await rawGet(`${base}/things/cached`, agent);
        }),
    );
    expect(await (await fetch(`${base}/things/other`)).text()).toBe('from fastify');
    expect(offered).toBe(1);
    expect(await (await fetch(`${base}/things/cached`, { method: 'POST', body: 'x' })).text()).toBe('from fastify');
    expect(await (await fetch(`${base}/things/cached`, { method: 'HEAD' })).status).toBe(200);
    expect(offered).toBe(1);
    // a GET with a body is fastify's too
    const withBody = await rawGet(`${base}/things/cached`, undefined, 'a body');
    expect(withBody.body).toBe('from fastify');
    expect(offered).toBe(1);
    expect(lines.filter((l) => l.msg === 'request')).toHaveLength(4);
    // closing: a request arriving meanwhile is fastify's (its 503 while closing), the fast path is not asked
    expect((await rawGet(`${base}/things/cached`, agent)).body).toBe('from memory');
    expect(offered).toBe(2);
    close = undefined;
    await app.close();
    agent.destroy();
    expect(duringClose?.status).toBe(503);
    expect(offered).toBe(2);
  });
});

describe('createHttpApp fastPath: the answers of one loop turn', () => {
  const plain = (url: string): FastAnswer => ({
    status: 200,
    route: '/things/:id',
    headers: { 'content-type': 'text/plain' },
    body: Buffer.from(`answer to ${url}`),
  });

  it('should decide every request a turn reads before writing any of their answers, and write each in order', async () => {
    const timeline: string[] = [];
    const { base } = await serve(
      (req) => {
        if (!req.url?.startsWith('/things/')) return undefined;
        timeline.push(`decided ${req.url}`);
        return plain(req.url);
      },
      undefined,
      undefined,
      (line) => {
        if (line.msg === 'request') timeline.push(`written ${line.url as string}`);
      },
    );
    // three requests pipelined in one packet: one read, one turn of the loop
    const received = await pipelined(base, [1, 2, 3], (n) => `x-correlation-id: p-${n}\r\n`);
    expect(timeline).toEqual([
      'decided /things/1',
      'decided /things/2',
      'decided /things/3',
      'written /things/1',
      'written /things/2',
      'written /things/3',
    ]);
    const answers = received.split('HTTP/1.1 200 OK').slice(1);
    expect(answers).toHaveLength(3);
    answers.forEach((answer, i) => {
      expect(answer).toContain(`x-correlation-id: p-${i + 1}`);
      expect(answer).toContain(`answer to /things/${i + 1}`);
    });
  });

  it.each([
    { bound: 'a bound of 1 s', msPerTurn: 1000, turns: 1 },
    { bound: 'a bound of 0 ms', msPerTurn: 0, turns: 3 },
  ])(
    'should write the answers of one turn in as many turns as $bound allows, whole and in order',
    async ({ msPerTurn, turns }) => {
      // a counter of the loop's turns: an immediate that schedules itself runs once per turn
      let turn = 0;
      let counting = true;
      const tick = () => {
        turn++;
        if (counting) setImmediate(tick);
      };
      const written: Array<{ turn: number; url: string | undefined }> = [];
      const writeHead = ServerResponse.prototype.writeHead;
      const spy = vi.spyOn(ServerResponse.prototype, 'writeHead').mockImplementation(function (
        this: ServerResponse,
        ...args: unknown[]
      ) {
        written.push({ turn, url: this.req.url });
        return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
      });
      try {
        const { base } = await serve(
          (req) => {
            if (!req.url?.startsWith('/things/')) return undefined;
            if (turn === 0) setImmediate(tick);
            return plain(req.url);
          },
          undefined,
          undefined,
          undefined,
          msPerTurn,
        );
        const received = await pipelined(base, [1, 2, 3]);
        expect(written.map((w) => w.url)).toEqual(['/things/1', '/things/2', '/things/3']);
        expect(new Set(written.map((w) => w.turn)).size).toBe(turns);
        const answers = received.split('HTTP/1.1 200 OK').slice(1);
        expect(answers.map((a) => a.slice(a.indexOf('\r\n\r\n') + 4))).toEqual(
          [1, 2, 3].map((n) => `answer to /things/${n}`),
        );
      } finally {
        counting = false;
        spy.mockRestore();
      }
    },
  );

  it('should answer 100 parallel clients whole and each its own, however few answers a turn may write', async () => {
    // one answer per turn (a bound of 0 ms): the most the waiting line can hold; nothing may be lost or mixed up
    const { base } = await serve(
      (req) => (req.url?.startsWith('/things/') ? plain(req.url) : undefined),
      undefined,
      undefined,
      undefined,
      0,
    );
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, n) => rawGet(`${base}/things/${n}`, new Agent({ keepAlive: false }))),
    );
    expect(answers).toEqual(Array.from({ length: 100 }, (_, n) => ({ status: 200, body: `answer to /things/${n}` })));
  });

  it('should close only the connection of an answer that cannot be written, log it, and still write the others', async () => {
    const { base, lines } = await serve((req) => {
      if (req.url === '/things/broken')
        return { ...plain(req.url), headers: { 'content-type': 'text/plain', 'x-note': 'line\nbreak' } };
      return req.url?.startsWith('/things/') ? plain(req.url) : undefined;
    });
    const [broken, ...fine] = await Promise.allSettled([
      rawGet(`${base}/things/broken`, new Agent()),
      ...[1, 2, 3].map((n) => rawGet(`${base}/things/${n}`, new Agent())),
    ]);
    expect(broken?.status).toBe('rejected');
    expect(fine.map((r) => (r.status === 'fulfilled' ? r.value : r.reason))).toEqual(
      [1, 2, 3].map((n) => ({ status: 200, body: `answer to /things/${n}` })),
    );
    expect(lines.filter((l) => l.msg === 'a fast answer could not be written; its connection was closed')).toEqual([
      expect.objectContaining({ level: 50, route: '/things/:id', url: '/things/broken' }),
    ]);
    // the service goes on
    expect(await rawGet(`${base}/things/4`, new Agent())).toEqual({ status: 200, body: 'answer to /things/4' });
  });
});

/**
 * GETs of `/things/<n>` for each n, pipelined in one write on one connection (the last asks to close it); what came
 * back, as latin1 text. Written, not ended: Node ends a half-closed connection (httpAllowHalfOpen) and would cut
 * the answers short.
 */
async function pipelined(base: string, ns: number[], extraHead: (n: number) => string = () => ''): Promise<string> {
  const socket = connect(Number(new URL(base).port), '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  const closed = new Promise((resolve) => socket.on('close', resolve));
  const ask = (n: number, last: boolean) =>
    `GET /things/${n} HTTP/1.1\r\nhost: x\r\n${extraHead(n)}${last ? 'connection: close\r\n' : ''}\r\n`;
  socket.write(ns.map((n, i) => ask(n, i === ns.length - 1)).join(''));
  await closed;
  return Buffer.concat(received).toString('latin1');
}

/** A GET through node:http (fetch refuses a GET with a body), on `agent`'s connection when given. */
function rawGet(url: string, agent?: Agent, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = request(url, { method: 'GET', headers, ...(agent ? { agent } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('createHttpApp fastPath: what it knows of the request', () => {
  it("should give the fast path fastify's client address under every TRUST_PROXY rule, and the answer's own correlation id", async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.9, 198.51.100.7' };
    for (const [trust, expected] of [
      [undefined, '127.0.0.1'], // X-Forwarded-For ignored
      ['false', '127.0.0.1'],
      ['1', '198.51.100.7'], // one hop: the proxy's view of its client
      ['2', '203.0.113.9'],
      ['127.0.0.1', '198.51.100.7'], // the listed proxy is trusted, the address it names is the client
      ['127.0.0.1,198.51.100.7', '203.0.113.9'],
      ['10.0.0.0/8', '127.0.0.1'], // the peer is not a listed proxy: its X-Forwarded-For is not believed
    ] as const) {
      const seen: Array<{ ip: string; id: string }> = [];
      let fastifyIp = '';
      const { base } = await serve(
        (req, info) => {
          if (!req.url?.startsWith('/things/cached')) return undefined;
          seen.push({ ip: info.ip(), id: info.id() });
          // asked twice: the same id (the one the answer carries)
          expect(info.id()).toBe(seen.at(-1)!.id);
          return memory(req, info);
        },
        (app) =>
          app.get('/ip', async (req) => {
            fastifyIp = req.ip;
            return 'ok';
          }),
        trust,
      );
      const res = await fetch(`${base}/things/cached`, { headers: forwarded });
      await fetch(`${base}/ip`, { headers: forwarded });
      expect(seen, `TRUST_PROXY=${trust}`).toHaveLength(1);
      expect(seen[0]!.ip, `TRUST_PROXY=${trust}`).toBe(expected);
      expect(fastifyIp, `TRUST_PROXY=${trust}`).toBe(expected);
      expect(res.headers.get('x-correlation-id')).toBe(seen[0]!.id);
      await close?.();
      close = undefined;
    }
  });
});
