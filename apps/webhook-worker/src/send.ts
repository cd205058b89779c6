import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { AttemptOutcome, WebhookTarget } from '@immish/domain';

/** Response bytes kept for the delivery log (issue 18: ≤ 1 KB); the rest is never read. */
export const SNIPPET_BYTES = 1024;

/**
 * One POST to a checked target (issue 18 items 3–4): the connection goes to `target.address` — the address
 * resolveWebhookTarget checked — whatever the name resolves to now (the Host header and TLS name stay the URL's,
 * so certificates are verified against the name); no redirect is followed (a 3xx is a failed attempt); at most
 * SNIPPET_BYTES of the answer are read; the whole attempt — connect, send, headers, snippet — ends by `timeoutMs`.
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
    const finish = (o: Omit<AttemptOutcome, 'latencyMs'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...o, latencyMs: performance.now() - started });
    };
    const client = target.url.protocol === 'https:' ? https : http;
    const req = client.request(target.url, {
      method: 'POST',
      lookup: pinned,
      agent: false,
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
      const end = () =>
        finish({
          statusCode: res.statusCode ?? null,
          error: null,
          snippet: Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8'),
        });
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= SNIPPET_BYTES) end();
      });
      res.on('end', end);
      res.on('error', end);
    });
    req.end(body);
  });
}

function describeError(err: Error & { code?: string }): string {
  return (err.code ? `${err.code}: ${err.message}` : err.message).slice(0, 300);
}
