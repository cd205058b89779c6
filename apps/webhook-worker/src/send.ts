import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AttemptOutcome, WebhookTarget } from '@immish/domain';

/** Response bytes kept for the delivery log (issue 18: ≤ 1 KB); the rest is never read. */
export const SNIPPET_BYTES = 1024;

/**
 * Kept-alive connections (README "Webhooks and link activity", delivery speed): one agent per (scheme, checked
 * address, host:port), so a connection is only ever reused for a request to the very address that request's own
 * check approved (a DNS answer that changes picks another agent, hence a new connection to the newly checked
 * address). Decision: reuse cuts a TCP (and TLS) handshake and a close per attempt, which at 200 deliveries/s was
 * a large share of the worker's CPU. An idle connection is closed after IDLE_MS (below the usual 5 s of servers'
 * keep-alive, so the receiver rarely closes one under us); at most MAX_AGENTS agents are remembered, the least
 * recently used forgotten (its idle connections then close by themselves after IDLE_MS).
 */
const IDLE_MS = 2000;
const MAX_AGENTS = 256;
const agents = new Map<string, http.Agent>();

function agentFor(target: WebhookTarget): http.Agent {
  const https_ = target.url.protocol === 'https:';
  const key = `${target.url.protocol}|${target.address}|${target.url.host}`;
  let agent = agents.get(key);
  if (agent) {
    agents.delete(key); // re-inserted last: most recently used
  } else {
    const options = { keepAlive: true, timeout: IDLE_MS, maxFreeSockets: 4, scheduling: 'lifo' as const };
    agent = https_ ? new https.Agent(options) : new http.Agent(options);
    if (agents.size >= MAX_AGENTS) agents.delete(agents.keys().next().value as string);
  }
  agents.set(key, agent);
  return agent;
}

/**
 * One POST to a checked target (issue 18 items 3–4): the connection goes to `target.address` — the address
 * resolveWebhookTarget checked — whatever the name resolves to now (the Host header and TLS name stay the URL's,
 * so certificates are verified against the name); no redirect is followed (a 3xx is a failed attempt); at most
 * SNIPPET_BYTES of the answer are read; the whole attempt — connect, send, headers, snippet — ends by `timeoutMs`.
 * The connection is kept for the next request to the same checked address only when the answer was read to its
 * end within all that; otherwise (timeout, error, an answer longer than SNIPPET_BYTES) it is destroyed.
 * Never throws: every failure is an outcome.
 */
export function sendWebhook(
  target: WebhookTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptOutcome> {
  const started = performance.now();
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) {
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    } else callback(null, target.address, target.family);
  };
  return new Promise((resolve) => {
    let done = false;
    const finish = (o: Omit<AttemptOutcome, 'latencyMs'>, reusable = false) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!reusable) req.destroy();
      resolve({ ...o, latencyMs: performance.now() - started });
    };
    const client = target.url.protocol === 'https:' ? https : http;
    const req = client.request(target.url, {
      method: 'POST',
      lookup: pinned,
      agent: agentFor(target),
      headers: {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'immish-webhooks/1',
        ...headers,
      },
    });
    const timer = setTimeout(
      () => finish({ statusCode: null, error: `no answer within ${timeoutMs} ms`, snippet: '' }),
      timeoutMs,
    );
    req.on('error', (err) => finish({ statusCode: null, error: describeError(err), snippet: '' }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const end = (complete: boolean) =>
        finish(
          {
            statusCode: res.statusCode ?? null,
            error: null,
            snippet: Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8'),
          },
          complete,
        );
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= SNIPPET_BYTES) end(false);
      });
      res.on('end', () => end(true));
      res.on('error', () => end(false));
    });
    req.end(body);
  });
}

function describeError(err: Error & { code?: string }): string {
  return (err.code ? `${err.code}: ${err.message}` : err.message).slice(0, 300);
}
