import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SNIPPET_BYTES, sendWebhook } from '../src/send.ts';

/**
 * One attempt's connection (README "Webhooks and link activity", delivery speed): kept alive for the next request
 * to the same checked address, never reused for another address, dropped when the answer was not read to its end.
 */
describe('the connection of an attempt', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((ok) => s.close(ok));
    }
  });

  /** a receiver counting the TCP connections it accepted; answers `answer` bytes */
  async function receiver(answer: string, host = '127.0.0.1') {
    let connections = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(answer));
    });
    server.on('connection', () => connections++);
    await new Promise<void>((ok) => server.listen(0, host, ok));
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    return { port, connections: () => connections };
  }

  it('should send consecutive attempts to one checked address over one kept-alive connection', async () => {
    const r = await receiver('ok');
    const target = { url: new URL(`http://hooks.invalid:${r.port}/hook`), address: '127.0.0.1', family: 4 as const };
    for (let i = 0; i < 3; i++) {
      const outcome = await sendWebhook(target, { 'webhook-id': `e${i}` }, '{}', 2000);
      expect(outcome).toMatchObject({ statusCode: 200, error: null, snippet: 'ok' });
    }
    expect(r.connections()).toBe(1);
  });

  it('should wait for a receiver slower than the idle-connection timeout, up to the attempt timeout', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => setTimeout(() => res.end('late'), 2600));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    servers.push(server);
    const port = (server.address() as AddressInfo).port;
    const target = { url: new URL(`http://127.0.0.1:${port}/hook`), address: '127.0.0.1', family: 4 as const };
    const outcome = await sendWebhook(target, {}, '{}', 5000);
    expect(outcome).toMatchObject({ statusCode: 200, error: null, snippet: 'late' });
  });

  it('should open a new connection after an answer longer than the snippet (never read to its end)', async () => {
    const r = await receiver('x'.repeat(SNIPPET_BYTES * 64));
    const target = { url: new URL(`http://127.0.0.1:${r.port}/hook`), address: '127.0.0.1', family: 4 as const };
    for (let i = 0; i < 2; i++) {
      const outcome = await sendWebhook(target, {}, '{}', 2000);
      expect(outcome.statusCode).toBe(200);
      expect(outcome.snippet).toHaveLength(SNIPPET_BYTES);
    }
    expect(r.connections()).toBe(2);
  });

  it('should not reuse a connection to one checked address for another (a changed DNS answer)', async () => {
    // on every address, so that both 127.0.0.1 and 127.0.0.2 reach it (the whole of 127/8 is loopback on Linux)
    const r = await receiver('ok', '0.0.0.0');
    const url = new URL(`http://hooks.invalid:${r.port}/hook`);
    await sendWebhook({ url, address: '127.0.0.1', family: 4 }, {}, '{}', 2000);
    // the same name, now checked to another loopback address: a connection of its own to that address
    const outcome = await sendWebhook({ url, address: '127.0.0.2', family: 4 }, {}, '{}', 2000);
    expect(outcome.statusCode).toBe(200);
    expect(r.connections()).toBe(2);
  });
});
