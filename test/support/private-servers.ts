import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, createPool, migrateToLatest } from '@immish/db';
import { freePort, type PrivatePostgres, type PrivateRedis, startPostgres, startRedis } from '@immish/devstack';
import pg from 'pg';

/**
 * A PostgreSQL and/or a Redis that belong to one test file, so the file may stop and restart them (fault
 * injection) without touching the run's shared servers or the machine's own. Same binaries and settings as
 * the global test setup; "restart" = start again on the same data directory and port, as an operator would.
 * Redis runs with persistence on (append-only file), as in production: a restart keeps the queues.
 */
export interface PrivatePostgresServer {
  /** a migrated `immish` database on this server */
  databaseUrl: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP the whole server (postmaster and every backend): alive, connections open, no answers */
  freeze(): void;
  /** SIGCONT what `freeze` stopped */
  thaw(): void;
}

export interface PrivateRedisServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP the server: alive, connections open, no answers */
  freeze(): void;
  /** SIGCONT it */
  thaw(): void;
}

/** `pid` and every process below it (a PostgreSQL backend is a child of the postmaster), from /proc. */
function processTree(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [child, parent] of parentOf) if (parent === tree[i]) tree.push(child);
  }
  return tree;
}

/**
 * Freezes a server with SIGSTOP (the whole process tree: the parent first, so it forks nothing new meanwhile)
 * and returns the thaw, which sends SIGCONT to exactly the processes it stopped. Thawing twice is harmless.
 */
function freezer(pid: () => number | undefined): { freeze(): void; thaw(): void } {
  let frozen: number[] = [];
  const signal = (p: number, sig: NodeJS.Signals) => {
    try {
      process.kill(p, sig);
    } catch {
      // already gone
    }
  };
  return {
    freeze() {
      const root = pid();
      if (root === undefined) throw new Error('the server is not running');
      signal(root, 'SIGSTOP');
      frozen = processTree(root);
      for (const p of frozen) signal(p, 'SIGSTOP');
    },
    thaw() {
      for (const p of frozen.reverse()) signal(p, 'SIGCONT');
      frozen = [];
    },
  };
}

export interface PrivateServers {
  postgres?: PrivatePostgresServer;
  redis?: PrivateRedisServer;
  close(): Promise<void>;
}

export async function startPrivateServers(which: { postgres?: boolean; redis?: boolean }): Promise<PrivateServers> {
  const dir = mkdtempSync(join(tmpdir(), 'immish-fault-'));
  chmodSync(dir, 0o755); // as root, postgres runs as the `postgres` user and must reach its data dir
  const closers: (() => Promise<void>)[] = [];
  const servers: PrivateServers = {
    async close() {
      for (const c of closers.reverse()) await c().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    if (which.postgres) {
      const dataDir = join(dir, 'pg');
      const port = await freePort();
      let instance: PrivatePostgres | null = await startPostgres({ dataDir, port, ephemeral: true });
      const admin = new pg.Client({ connectionString: instance.url });
      await admin.connect();
      await admin.query('CREATE DATABASE immish');
      await admin.end();
      const databaseUrl = `postgres://postgres@127.0.0.1:${port}/immish`;
      const db = createDb(createPool({ connectionString: databaseUrl, max: 2 }));
      await migrateToLatest(db);
      await db.destroy();
      servers.postgres = {
        databaseUrl,
        ...freezer(() => instance?.pid),
        async stop() {
          await instance?.stop();
          instance = null;
        },
        async start() {
          if (!instance) instance = await startPostgres({ dataDir, port, ephemeral: true });
        },
      };
      closers.push(async () => {
        servers.postgres!.thaw();
        await servers.postgres!.stop();
      });
    }
    if (which.redis) {
      const dataDir = join(dir, 'redis');
      const port = await freePort();
      let instance: PrivateRedis | null = await startRedis({ dataDir, port, persistent: true });
      servers.redis = {
        url: instance.url,
        ...freezer(() => instance?.pid),
        async stop() {
          await instance?.stop();
          instance = null;
        },
        async start() {
          if (!instance) instance = await startRedis({ dataDir, port, persistent: true });
        },
      };
      closers.push(async () => {
        servers.redis!.thaw();
        await servers.redis!.stop();
      });
    }
  } catch (err) {
    await servers.close();
    throw err;
  }
  return servers;
}
