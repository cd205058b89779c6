import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../src/index.ts';

/**
 * The request-level deadline (deadline.ts, RESPONSE_DEADLINE_MS): a read whose answer has not started in time
 * is answered 503 + Retry-After; an answer that has started is never cut, a write is never answered early, and
 * time the process itself could not run does not count. A short deadline (150 ms) stands in for the real one; nothing here measures
 * how long anything took.
 */
const DEADLINE_MS = 150;
const never = () => new Promise<never>(() => {});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
});

function build(): FastifyInstance {
  app = createHttpApp({ logger: false, responseDeadlineMs: DEADLINE_MS });
  app.get('/stuck', async () => never());
  app.get('/streaming', (_req, reply) => {
    const body = new PassThrough();
    reply.type('text/plain').send(body);
    // the answer has started; its end comes well past the deadline
    void (async () => {
      for (let i = 0; i < 4; i++) {
        body.write(`part ${i}\n`);
        await sleep(DEADLINE_MS);
      }
      body.end('done\n');
    })();
    return reply;
  });
  return app;
}

describe('the response deadline', () => {
  it('should answer 503 with Retry-After in the error shape when a request waits past it', async () => {
    const res = await build().inject({ method: 'GET', url: '/stuck' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toEqual({
      message: expect.stringMatching(/^No answer in time: a backing service .* is not responding; retry shortly$/),
      error: 'Service Unavailable',
      statusCode: 503,
      correlationId: expect.any(String),
    });
  });

  it('should not cut an answer that has started', async () => {
    const res = await build().inject({ method: 'GET', url: '/streaming' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('part 0\npart 1\npart 2\npart 3\ndone\n');
  });

  it('should not answer a write early: a write is answered by its own outcome', async () => {
    build();
    app.post('/slow-write', async () => {
      await sleep(DEADLINE_MS * 3);
      return { written: true };
    });
    const res = await app.inject({ method: 'POST', url: '/slow-write' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ written: true });
  });

  it('should not count time the process could not run (a starved CPU) against a read', async () => {
    build();
    app.get('/busy', async () => {
      await sleep(DEADLINE_MS / 3);
      const until = Date.now() + DEADLINE_MS * 2; // the event loop is blocked: nothing else runs meanwhile
      while (Date.now() < until) {}
      await sleep(DEADLINE_MS / 3); // the deadline's sweep runs meanwhile, and sees how late it is
      return { done: true };
    });
    const res = await app.inject({ method: 'GET', url: '/busy' });
    expect(res.statusCode).toBe(200);
  });
});
