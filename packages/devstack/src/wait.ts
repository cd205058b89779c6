import { createServer } from 'node:net';

export async function waitFor(
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; what: string; intervalMs?: number; fatal?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
      if (opts.fatal?.()) throw err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  throw new Error(
    `timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}

/** A TCP port that was free a moment ago (bind to port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
