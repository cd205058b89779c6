import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { waitFor } from '@immish/devstack';
import { createLogger, createRedis } from '@immish/runtime';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from '../../links-api/test/harness.ts';
import { startWebhookWorker } from '../src/worker.ts';

export const SECRET_KEY = 'test-webhook-sealing-key-0123456789';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A real receiver on loopback. `answer` decides each response from the request's index (0-based); returning
 * 'hang' never answers (until the server closes).
 */
export interface Receiver {
  url: string;
  received: Received[];
  answer: (index: number, res: ServerResponse) => undefined | 'hang';
  close(): Promise<void>;
}

export async function startReceiver(
  answer: Receiver['answer'] = (_, res) => {
    res.end('ok');
    return undefined;
  },
): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    received: [],
    answer,
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = r.received.length;
      r.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      r.answer(index, res);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  r.close = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return r;
}

/** Every delivery checked by the independent verifier (the `standardwebhooks` package); returns the parsed bodies. */
export function verifyAll(
  secret: string,
  received: Received[],
): { type: string; timestamp: string; data: Record<string, unknown> }[] {
  const wh = new Webhook(secret);
  return received.map((r) => {
    const headers = {
      'webhook-id': String(r.headers['webhook-id']),
      'webhook-timestamp': String(r.headers['webhook-timestamp']),
      'webhook-signature': String(r.headers['webhook-signature']),
    };
    return wh.verify(r.body, headers) as { type: string; timestamp: string; data: Record<string, unknown> };
  });
}

export const until = (what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 20_000) =>
  waitFor(async () => probe(), { timeoutMs, what, intervalMs: 50 });

export interface WebhookHarness {
  api: LinksApiHarness;
  owner: TestUser;
  call(
    method: string,
    url: string,
    user: TestUser,
    payload?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are inspected loosely in tests
  ): Promise<{ statusCode: number; json(): any }>;
  startWorker(env?: Partial<WorkerEnv>): Promise<{ close(): Promise<void> }>;
  close(): Promise<void>;
}

type WorkerEnv = {
  WEBHOOK_TIMEOUT_MS: number;
  WEBHOOK_RETRY_DELAYS_MS: string;
  WEBHOOK_RETRY_WINDOW_MS: number;
  WEBHOOK_ALLOW_PRIVATE: boolean;
};

/**
 * links-api (owner API), an outbox relay and webhook workers in this process, on this file's own database and
 * Redis prefix. Short retry waits (`WEBHOOK_RETRY_DELAYS_MS`) so a retry schedule runs in a test.
 */
export async function startWebhookHarness(apiEnv: Record<string, string> = {}): Promise<WebhookHarness> {
  const api = await startLinksApi({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_SECRET_KEY: SECRET_KEY, ...apiEnv });
  const owner = await api.newUser('owner');
  const publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: api.redisUrl }, 'producer'),
    prefix: api.prefix,
  });
  const relay = new OutboxRelay({ db: api.tdb.db, databaseUrl: api.tdb.url, publisher, pollIntervalMs: 100 });
  relay.start();
  const workers: { close(): Promise<void> }[] = [];
  const logger = createLogger({ service: 'webhook-test', level: 'silent' });
  return {
    api,
    owner,
    async call(method, url, user, payload) {
      const res = await api.app.inject({
        method: method as 'GET',
        url,
        headers: user.headers,
        ...(payload !== undefined ? { payload: payload as object } : {}),
      });
      return { statusCode: res.statusCode, json: () => res.json() };
    },
    async startWorker(env = {}) {
      const w = await startWebhookWorker({
        db: api.tdb.db,
        logger,
        config: {
          REDIS_URL: api.redisUrl,
          QUEUE_PREFIX: api.prefix,
          WEBHOOK_CONCURRENCY: 8,
          WEBHOOK_TIMEOUT_MS: env.WEBHOOK_TIMEOUT_MS ?? 10_000,
          WEBHOOK_RETRY_DELAYS_MS: env.WEBHOOK_RETRY_DELAYS_MS ?? '100',
          WEBHOOK_RETRY_WINDOW_MS: env.WEBHOOK_RETRY_WINDOW_MS ?? 24 * 3_600_000,
          WEBHOOK_LOCK_DURATION_MS: 30_000,
          WEBHOOK_ALLOW_PRIVATE: env.WEBHOOK_ALLOW_PRIVATE ?? true,
          WEBHOOK_SECRET_KEY: SECRET_KEY,
        },
      });
      workers.push(w);
      return w;
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await relay.stop();
      await publisher.close();
      await api.close();
    },
  };
}

/** Registers an endpoint for `events` and returns it with its secret (shown once). */
export async function register(
  h: WebhookHarness,
  url: string,
  events: string[],
  user: TestUser = h.owner,
): Promise<{ id: string; secret: string }> {
  const res = await h.call('POST', '/api/webhooks', user, { url, events });
  expect(res.statusCode, JSON.stringify(res.json())).toBe(201);
  return res.json();
}
