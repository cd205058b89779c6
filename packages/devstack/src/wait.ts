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
  const from = 20_000;
  const to = Math.max(from + 1_000, ephemeralRangeStart());
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tryListen(from + Math.floor(Math.random() * (to - from)));
    if (port !== null) return port;
  }
  const any = await tryListen(0);
  if (any === null) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

let ephemeralStart: number | undefined;
/** The first port of the kernel's ephemeral range (read once); 32768 where it cannot be read (BSD, macOS: 49152). */
function ephemeralRangeStart(): number {
  if (ephemeralStart === undefined) {
    ephemeralStart = 32_768;
    try {
      const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
      if (low > 21_000) ephemeralStart = low;
    } catch {
      // not Linux
    }
  }
  return ephemeralStart;
}

/** Binds `port` (0: any) on loopback and closes it again: the port it got, or null when it was taken. */
function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(null));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const addr = srv.address();
      const bound = typeof addr === 'object' && addr ? addr.port : null;
      srv.close(() => resolve(bound));
    });
  });
}
