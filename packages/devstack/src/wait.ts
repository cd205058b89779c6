import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
 * known before it starts). Two things could give the same port to two servers in the gap between this check and
 * the real listen:
 * - the kernel: a port from `listen(0)` lies inside the ephemeral range (Linux: `ip_local_port_range`, 32768–60999
 *   by default), where any outgoing connection of this or a parallel test (PostgreSQL, Redis, S3) could be given it.
 *   So ports are chosen below that range. One CI run failed with EADDRINUSE that way.
 * - another `freePort`, in this process or in any other on the machine (vitest's workers, the services they spawn,
 *   a benchmark): the port it just checked is free again until its server listens, which for a child process is
 *   seconds later. One CI run failed that way too (scale-out's links-api, 2026-12-07). So every port handed out is
 *   also reserved, for `RESERVATION_MS`, by a file created exclusively in a directory every process shares
 *   (`reservationDir`); a port with a live reservation is never handed out again.
 */
export async function freePort(): Promise<number> {
  const from = 20_000;
  const to = Math.max(from + 1_000, ephemeralRangeStart());
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = from + Math.floor(Math.random() * (to - from));
    if (!reserve(candidate)) continue;
    const port = await tryListen(candidate);
    if (port !== null) return port;
  }
  const any = await tryListen(0);
  if (any === null) throw new Error('no free TCP port on 127.0.0.1');
  return any;
}

/** How long a handed-out port stays reserved: longer than any service takes to start and listen (60 s at most). */
export const RESERVATION_MS = 120_000;

/** Where reservations live: one directory per machine user, shared by every process that calls `freePort`. */
export function reservationDir(): string {
  return join(tmpdir(), `immish-port-reservations-${process.getuid?.() ?? 'user'}`);
}

/**
 * Reserves `port` across processes: true when this call created its reservation file (O_EXCL), or took over one
 * older than `RESERVATION_MS`; false while another reservation is live. A stale file is first renamed to a name of
 * this call's own, which only one of two racing takers can do.
 */
export function reserve(port: number, now = Date.now()): boolean {
  const dir = reservationDir();
  const file = join(dir, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(file, 'wx'));
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        mkdirSync(dir, { recursive: true });
        continue;
      }
      if (code !== 'EEXIST') throw err;
    }
    let age: number;
    try {
      age = now - statSync(file).mtimeMs;
    } catch {
      continue; // removed in between: try to create it again
    }
    if (age < RESERVATION_MS) return false;
    const mine = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      renameSync(file, mine);
    } catch {
      return false; // another process took it over first
    }
    rmSync(mine, { force: true });
  }
  return false;
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
