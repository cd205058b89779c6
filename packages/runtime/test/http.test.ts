import { LinksApiConfig } from '@immish/contracts';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import {
  ConcurrencyGate,
  ConfigError,
  createHttpApp,
  createMetrics,
  createOpsApp,
  DomainError,
  loadConfig,
  scrubText,
  scrubUrl,
} from '../src/index.ts';

describe('loadConfig', () => {
  const base = { DATABASE_URL: 'postgres://x@localhost/db', REDIS_URL: 'redis://localhost:6379' };

  it('should apply defaults and convert numbers and booleans', () => {
    const c = loadConfig(LinksApiConfig, { ...base, LINK_PASSWORD_REQUIRED: 'yes', LINKS_API_PORT: '4001' });
    expect(c.LINKS_API_PORT).toBe(4001);
    expect(c.LINK_PASSWORD_REQUIRED).toBe(true);
    expect(c.STORAGE_DRIVER).toBe('fs');
  });

  it('should name every bad or missing variable', () => {
    try {
      loadConfig(LinksApiConfig, { REDIS_URL: 'http://nope', LINKS_API_PORT: 'abc', STORAGE_DRIVER: 'ftp' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const name of ['DATABASE_URL', 'REDIS_URL', 'LINKS_API_PORT', 'STORAGE_DRIVER']) expect(msg).toContain(name);
    }
  });
});

describe('createHttpApp', () => {
  const build = () => {
    const app = createHttpApp({
      logger: false,
      readiness: { ok: async () => 1, down: () => Promise.reject(new Error('connect ECONNREFUSED')) },
    });
    app.post(
      '/echo',
      {
        schema: {
          body: Type.Object({ n: Type.Integer(), s: Type.Optional(Type.String()) }, { additionalProperties: false }),
        },
      },
      async (req) => req.body,
    );
    app.get('/domain', async () => {
      throw new DomainError('conflict', 'slug taken');
    });
    app.get('/db-down', async () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    });
    app.get('/bug', async () => {
      throw new Error('secret internals');
    });
    return app;
  };

  it('should refuse wrong types and unknown fields in a body with 400 in the error shape', async () => {
    const app = build();
    for (const payload of [{ n: '5' }, { n: 5, extra: 1 }, { s: 'x' }]) {
      const res = await app.inject({ method: 'POST', url: '/echo', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', correlationId: expect.any(String) });
    }
    expect((await app.inject({ method: 'POST', url: '/echo', payload: { n: 5 } })).json()).toEqual({ n: 5 });
  });

  it('should refuse malformed and too deeply nested JSON with 400', async () => {
    const app = build();
    const bad = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{"n":',
    });
    expect(bad.statusCode).toBe(400);
    const deep = `{"n":1,"s":${'['.repeat(100)}${']'.repeat(100)}}`;
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: deep,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/nested deeper/);
  });

  it('should refuse NUL in any text or field name of a JSON body, however nested, and accept the limit depth', async () => {
    const app = build();
    const post = (payload: string) =>
      app.inject({ method: 'POST', url: '/echo', headers: { 'content-type': 'application/json' }, payload });
    for (const [payload, message] of [
      ['{"n":1,"s":"a\\u0000b"}', /text must not contain NUL/],
      ['{"n":1,"list":[{"x":["ok","deep \\u0000"]}]}', /text must not contain NUL/],
      ['{"n":1,"o":{"k\\u0000":1}}', /field names must not contain NUL/],
      ['[[{"a\\u0000":true}]]', /field names must not contain NUL/],
    ] as const) {
      const res = await post(payload);
      expect(res.statusCode, payload).toBe(400);
      expect(res.json().message, payload).toMatch(message);
    }
    // 32 levels (the default limit) pass the depth check; 33 do not
    const nested = (levels: number) => `{"n":1,"s":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
    expect((await post(nested(32))).json().message ?? '').not.toMatch(/nested deeper/);
    expect((await post(nested(33))).json().message).toMatch(/nested deeper than 32/);
  });

  it('should map domain errors, backing-service faults and bugs to their statuses', async () => {
    const app = build();
    const c = await app.inject('/domain');
    expect(c.statusCode).toBe(409);
    expect(c.json().message).toBe('slug taken');
    const d = await app.inject('/db-down');
    expect(d.statusCode).toBe(503);
    expect(d.headers['retry-after']).toBe('5');
    const b = await app.inject('/bug');
    expect(b.statusCode).toBe(500);
    expect(b.body).not.toContain('secret internals');
    const nf = await app.inject('/nope');
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toMatchObject({ message: 'Cannot GET /nope', error: 'Not Found' });
  });

  it('should echo a sane correlation id and answer readiness plainly: 503, no check names, no errors', async () => {
    const app = build();
    const res = await app.inject({ url: '/health/ready', headers: { 'x-correlation-id': 'abc-123' } });
    expect(res.headers['x-correlation-id']).toBe('abc-123');
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toEqual({ status: 'unavailable' });
    expect(res.body).not.toMatch(/down|ECONNREFUSED|checks/);
    expect((await app.inject('/health/live')).statusCode).toBe(200);
  });

  // issue 12 item 11: operators' data (metrics, which backing service failed and why) stays off the public port
  it('should serve no /metrics on the public app, even with metrics registered', async () => {
    const app = createHttpApp({
      logger: false,
      metrics: createMetrics('test-public'),
      readiness: { ok: async () => 1 },
    });
    await app.ready();
    expect((await app.inject('/metrics')).statusCode).toBe(404);
    const ready = await app.inject('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok' });
  });
});

describe('createOpsApp (the internal port)', () => {
  it('should report readiness per check with the reason, and serve the metrics of the public app', async () => {
    const metrics = createMetrics('test-ops');
    const readiness = { ok: async () => 1, down: () => Promise.reject(new Error('connect ECONNREFUSED')) };
    const pub = createHttpApp({ logger: false, metrics, readiness });
    pub.get('/hello', async () => 'hi');
    await pub.inject('/hello');
    const ops = createOpsApp({ logger: false, metrics, readiness });
    const res = await ops.inject('/health/ready');
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({
      status: 'unavailable',
      checks: { ok: 'ok', down: expect.stringContaining('ECONNREFUSED') },
    });
    expect((await ops.inject('/health/live')).statusCode).toBe(200);
    const scrape = await ops.inject('/metrics');
    expect(scrape.statusCode).toBe(200);
    expect(scrape.body).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/hello"/);
    // event-loop delay, for the "no stalls" promise (issue 17): p99 in seconds, labelled with the service
    expect(scrape.body).toMatch(/nodejs_eventloop_lag_p99_seconds\{service="test-ops"\} \d/);
  });
});

describe('createHttpApp defaultHeaders', () => {
  it('should keep them (and the error shape) on router refusals and on a header Node cannot write', async () => {
    const app = createHttpApp({ logger: false, defaultHeaders: { 'x-frame-options': 'DENY' } });
    // a bug: user text reaching a header unencoded (Node refuses it when the response head is written)
    app.get('/bad-header', async (_req, reply) => reply.header('location', '/фото').status(303).send());
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as import('node:net').AddressInfo).port}`;
      for (const [path, status] of [
        ['/bad-header', 500],
        ['/%E0%A4%A', 400],
        ['/nope', 404],
      ] as const) {
        const res = await fetch(`${base}${path}`, { redirect: 'manual' });
        const body = (await res.json()) as Record<string, unknown>;
        expect({ path, status: res.status, frame: res.headers.get('x-frame-options') }).toEqual({
          path,
          status,
          frame: 'DENY',
        });
        expect(Object.keys(body).sort()).toEqual(['correlationId', 'error', 'message', 'statusCode']);
        expect(res.headers.get('x-correlation-id')).toBe(body.correlationId);
      }
    } finally {
      await app.close();
    }
  });
});

describe('scrubUrl', () => {
  it('should hide link keys in paths and query strings', () => {
    expect(scrubUrl('/share/abcDEF123/photos?key=zzz&page=2')).toBe('/share/[redacted]/photos?key=[redacted]&page=2');
  });

  it('should compare names and segments after decoding (issue 12 item 10)', () => {
    expect(scrubUrl('/api/shared-links/me?%6bey=zzz&page=1')).toBe('/api/shared-links/me?%6bey=[redacted]&page=1');
    expect(scrubUrl('/x?K%45Y=zzz&%73lug=s&pass%77ord=p&Token=t')).toBe(
      '/x?K%45Y=[redacted]&%73lug=[redacted]&pass%77ord=[redacted]&Token=[redacted]',
    );
    expect(scrubUrl('/%73hare/zzz/assets/1')).toBe('/%73hare/[redacted]/assets/1');
    expect(scrubUrl('/S/zzz?%E0%A4%A=1')).toBe('/S/[redacted]?%E0%A4%A=1');
    expect(scrubUrl('/static/share.js?v=1')).toBe('/static/share.js?v=1');
    expect(scrubText('Reply was already sent in the "/share/zzz?key=yyy" (GET) route')).toBe(
      'Reply was already sent in the "/share/[redacted]?key=[redacted]" (GET) route',
    );
  });
});

describe('ConcurrencyGate', () => {
  it('should run up to `slots` at once, queue up to `queue` in order, and refuse the rest with 503', async () => {
    const gate = new ConcurrencyGate({ name: 'checks', slots: 2, queue: 1 });
    const releases: (() => void)[] = [];
    const started: number[] = [];
    const job = (n: number) => () =>
      new Promise<number>((resolve) => {
        started.push(n);
        releases.push(() => resolve(n));
      });
    const runs = [gate.run(job(1)), gate.run(job(2)), gate.run(job(3))];
    await Promise.resolve();
    expect(started).toEqual([1, 2]);
    expect([gate.active, gate.waiting]).toEqual([2, 1]);
    const refused = await gate.run(job(4)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ statusCode: 503, retryAfterSeconds: 1 });
    releases[0]!();
    expect(await runs[0]).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([1, 2, 3]); // the queued one took the freed slot
    releases[1]!();
    releases[2]!();
    expect(await Promise.all(runs)).toEqual([1, 2, 3]);
    expect([gate.active, gate.waiting]).toEqual([0, 0]);
    // a failing job frees its slot too
    await expect(gate.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(gate.active).toBe(0);
  });

  it('should refuse one key past `perKey` (running + waiting) with 429, leave room for others, and free it as they end', async () => {
    const gate = new ConcurrencyGate({ name: 'lists', slots: 1, queue: 10, perKey: 2 });
    const releases: (() => void)[] = [];
    const job = () => () => new Promise<void>((resolve) => releases.push(resolve));
    const mine = [gate.run(job(), 'a'), gate.run(job(), 'a')]; // one running, one waiting
    const refused = await gate.run(job(), 'a').catch((e: unknown) => e);
    expect(refused).toMatchObject({ statusCode: 429, retryAfterSeconds: 1 });
    expect((refused as Error).message).toBe('Too many lists of yours in progress; retry in a moment');
    const theirs = gate.run(job(), 'b'); // another key still gets in line
    expect([gate.active, gate.waiting]).toEqual([1, 2]);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      releases[i]!();
    }
    await Promise.all([...mine, theirs]);
    // 'a' has nothing left in the gate: it may run again, refused or failed runs counted back too
    await expect(gate.run(() => Promise.reject(new Error('boom')), 'a')).rejects.toThrow('boom');
    expect(await Promise.all([gate.run(async () => 1, 'a'), gate.run(async () => 2, 'a')])).toEqual([1, 2]);
    expect(() => new ConcurrencyGate({ name: 'x', slots: 1, queue: 0, perKey: 0 })).toThrow(RangeError);
  });
});
