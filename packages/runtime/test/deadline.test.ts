import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp } from '../src/index.ts';

/**
 * The request-level deadline (deadline.ts, RESPONSE_DEADLINE_MS): a request whose answer has not started in
 * time after its last progress is answered 503 + Retry-After; a body still arriving is progress, and an answer
 * that has started is never cut. A short deadline (150 ms) stands in for the real one; nothing here measures
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
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.post('/upload', async (req) => {
    let bytes = 0;
    for await (const chunk of req.body as AsyncIterable<Buffer>) bytes += chunk.length;
    return { bytes };
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

  it('should count a request body that keeps arriving as progress (a long upload is not a stall)', async () => {
    await build().listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/upload',
          headers: { 'content-type': 'application/octet-stream' },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      void (async () => {
        // six chunks, each a third of the deadline apart: the whole body takes twice the deadline
        for (let i = 0; i < 6; i++) {
          req.write(Buffer.alloc(1000, i));
          await sleep(DEADLINE_MS / 3);
        }
        req.end();
      })();
    });
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ bytes: 6000 }) });
  });
});
