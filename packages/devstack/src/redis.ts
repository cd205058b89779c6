import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { findRedisServer } from './binaries.ts';
import { redisCli } from './redis-topologies.ts';
import { waitFor } from './wait.ts';

export interface PrivateRedis {
  url: string;
  port: number;
  /** the server's process id (fault tests freeze it with SIGSTOP) */
  pid: number;
  stop(): Promise<void>;
}

export interface RedisOptions {
  dataDir: string;
  port: number;
  /** keep data across restarts (npm start) or not (tests) */
  persistent?: boolean;
}

/** Starts a private redis-server from the system binary as a child process. */
export async function startRedis(opts: RedisOptions): Promise<PrivateRedis> {
  const bin = findRedisServer();
  const dir = resolve(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(opts.port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no'];
  args.push(...(opts.persistent ? ['--appendonly', 'yes', '--save', '60 1'] : ['--appendonly', 'no', '--save', '']));
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  const exitPromise = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const output: string[] = [];
  const collect = (b: Buffer) => {
    output.push(b.toString());
    if (output.length > 30) output.shift();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `redis://127.0.0.1:${opts.port}`;
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`redis-server exited during start-up:\n${output.join('')}`);
        // redis-cli, not a client library: the services' connections all come from @immish/runtime createRedis
        return (await redisCli(opts.port, 'PING')) === 'PONG';
      },
      { timeoutMs: 20_000, what: 'Redis to answer PING', fatal: () => exited },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    port: opts.port,
    pid: child.pid!,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exitPromise;
      clearTimeout(t);
    },
  };
}
