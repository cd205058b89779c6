import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { findPostgresBinDir, postgresUser } from './binaries.ts';
import { waitFor } from './wait.ts';

export interface PrivatePostgres {
  url: string;
  port: number;
  /** the postmaster's process id (fault tests freeze the server with SIGSTOP) */
  pid: number;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  dataDir: string;
  port: number;
  /** durability off: for throwaway test clusters only */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
}

function chownTree(dir: string, owner: { uid: number; gid: number }) {
  chownSync(dir, owner.uid, owner.gid);
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) chownTree(p, owner);
    else chownSync(p, owner.uid, owner.gid);
  }
}

/**
 * Starts a private PostgreSQL from the system binaries, as a child process (initdb on first use).
 * As root, initdb and postgres run as the `postgres` user (they refuse root), so the data directory and
 * every parent must be reachable by that user.
 */
export async function startPostgres(opts: PostgresOptions): Promise<PrivatePostgres> {
  const bin = findPostgresBinDir();
  const owner = postgresUser();
  const dataDir = resolve(opts.dataDir);
  const socketDir = join(dataDir, 'socket');
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    if (owner) chownSync(dataDir, owner.uid, owner.gid);
    const init = spawnSync(
      join(bin, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        ...(opts.ephemeral ? ['--no-sync'] : []),
      ],
      { encoding: 'utf8', ...(owner ?? {}) },
    );
    if (init.status !== 0) {
      throw new Error(`initdb failed in ${dataDir}: ${init.stderr || init.stdout || init.error?.message}`);
    }
  }
  mkdirSync(socketDir, { recursive: true });
  if (owner) chownTree(socketDir, owner);
  const args = ['-D', dataDir, '-p', String(opts.port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1'];
  if (opts.ephemeral) args.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  args.push('-c', 'max_connections=300');
  const child: ChildProcess = spawn(join(bin, 'postgres'), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(owner ?? {}),
  });
  let exited = false;
  const exitPromise = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const output: string[] = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString().split('\n')) {
      if (!line) continue;
      output.push(line);
      if (output.length > 50) output.shift();
      opts.onLog?.(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const url = `postgres://postgres@127.0.0.1:${opts.port}/postgres`;
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(`postgres exited during start-up:\n${output.join('\n')}`);
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
        c.on('error', () => {});
        try {
          await c.connect();
          await c.query('SELECT 1');
          return true;
        } finally {
          await c.end().catch(() => {});
        }
      },
      { timeoutMs: 60_000, what: 'PostgreSQL to accept connections', fatal: () => exited },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output.join('\n')}`);
  }
  return {
    url,
    port: opts.port,
    pid: child.pid!,
    async stop() {
      if (exited) return;
      child.kill('SIGINT'); // fast shutdown
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exitPromise;
      clearTimeout(t);
    },
  };
}
