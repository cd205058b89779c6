import { readFileSync } from 'node:fs';
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

/**
 * A TCP port for a server that will listen on it a moment later (a child process, or a server whose URL must be
 * known before it starts). Chosen below the kernel's ephemeral range (Linux: `ip_local_port_range`, 32768–60999 by
 * default), because a port from `listen(0)` lies inside it: between our check and the real listen, any outgoing
 * connection of this or a parallel test (PostgreSQL, Redis, S3) could be given the same port by the kernel — one CI
 * run failed with EADDRINUSE that way. Below the range only another test's `freePort` could pick it: a random pick
 * among thousands, checked free by binding it.
 */
export async function freePort(): Promise<number> {
  const [low] = ephemeralRange();
  const from = 20_000;
  const to = Math.max(from + 1_000, low);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from));
    if (await canListen(port)) return port;
  }
  return listenZero();
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high && low > 21_000) return [low, high];
  } catch {
    // not Linux: BSD and macOS default to 49152–65535
  }
  return [32_768, 65_535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function listenZero(): Promise<number> {
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
