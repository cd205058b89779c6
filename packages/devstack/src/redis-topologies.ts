import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findRedisServer, MissingBinaryError } from './binaries.ts';
import { freePort, waitFor } from './wait.ts';

const run = promisify(execFile);

/**
 * Redis topologies for tests and benchmarks (issue 20 item 4): a Sentinel group and a Redis Cluster, from the
 * system's redis-server on loopback ports, in a temp dir. Nothing persists; `stop()` kills every process and
 * removes the dir, and so does a failed start-up. Timeouts are short on purpose (a failover in seconds, not the
 * production defaults' 30 s), so a test can watch one happen.
 */
export interface RedisNode {
  port: number;
  pid: number;
  /** kill -9 (a crashed machine): no goodbye to replicas, sentinels or cluster peers */
  kill(): void;
  get alive(): boolean;
}

/** redis-cli next to redis-server (Debian's redis-tools, a dependency of redis-server). */
export function findRedisCli(): string {
  const cli = join(dirname(findRedisServer()), 'redis-cli');
  return cli;
}

/** One command through redis-cli, its raw output (lines). Used for probes; the services use ioredis. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run(findRedisCli(), ['-h', '127.0.0.1', '-p', String(port), ...args], {
      timeout: 5000,
    });
    return stdout.trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MissingBinaryError('redis-cli not found (Debian: apt-get install redis-tools)');
    }
    throw err;
  }
}

class Processes {
  readonly children: ChildProcess[] = [];
  readonly dir: string;
  readonly #onExit = () => this.killAll();
  constructor(dir: string) {
    this.dir = dir;
    process.once('exit', this.#onExit);
  }
  spawn(args: string[], port: number): RedisNode {
    const child = spawn(findRedisServer(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.resume();
    this.children.push(child);
    return {
      port,
      pid: child.pid!,
      kill: () => {
        child.kill('SIGKILL');
      },
      get alive() {
        return child.exitCode === null && child.signalCode === null;
      },
    };
  }
  killAll(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  async stop(): Promise<void> {
    process.off('exit', this.#onExit);
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const dataArgs = (dir: string, port: number) => {
  const d = join(dir, String(port));
  mkdirSync(d, { recursive: true });
  return ['--port', String(port), '--bind', '127.0.0.1', '--dir', d, '--save', '', '--appendonly', 'no'];
};

const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

export interface SentinelGroup {
  /** REDIS_SENTINELS */
  sentinels: string;
  /** REDIS_SENTINEL_NAME */
  name: string;
  /** the data nodes (primary first at start-up; roles change on failover) */
  nodes: RedisNode[];
  sentinelNodes: RedisNode[];
  /** the port the sentinels currently name as primary */
  primaryPort(): Promise<number>;
  /** waits until the sentinels name a primary other than `oldPort`, and it answers as a primary */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  stop(): Promise<void>;
}

/**
 * One primary, `replicas` replicas and `sentinels` sentinels (quorum: a majority). `downAfterMs` is the
 * sentinels' `down-after-milliseconds`: how long a silent primary takes to be declared down.
 */
export async function startSentinelGroup(
  opts: { replicas?: number; sentinels?: number; downAfterMs?: number; name?: string } = {},
): Promise<SentinelGroup> {
  const replicas = opts.replicas ?? 2;
  const sentinelCount = opts.sentinels ?? 3;
  const name = opts.name ?? 'immish';
  const downAfterMs = opts.downAfterMs ?? 1000;
  const procs = new Processes(mkdtempSync(join(tmpdir(), 'immish-sentinel-')));
  try {
    const ports: number[] = []; // distinct: freePort never hands out a port it reserved a moment ago
    for (let i = 0; i < 1 + replicas + sentinelCount; i++) ports.push(await freePort());
    const [primaryPort, ...rest] = ports as [number, ...number[]];
    const replicaPorts = rest.slice(0, replicas);
    const sentinelPorts = rest.slice(replicas);
    const nodes = [procs.spawn(dataArgs(procs.dir, primaryPort), primaryPort)];
    for (const p of replicaPorts) {
      nodes.push(procs.spawn([...dataArgs(procs.dir, p), '--replicaof', '127.0.0.1', String(primaryPort)], p));
    }
    await Promise.all(
      replicaPorts.map((p) =>
        waitFor(async () => field(await redisCli(p, 'INFO', 'replication'), 'master_link_status') === 'up', {
          timeoutMs: 20_000,
          what: `replica ${p} to sync`,
        }),
      ),
    );
    const sentinelNodes = sentinelPorts.map((p) => {
      const conf = join(procs.dir, `sentinel-${p}.conf`);
      writeFileSync(
        conf,
        [
          `port ${p}`,
          'bind 127.0.0.1',
          `dir ${procs.dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primaryPort} ${Math.floor(sentinelCount / 2) + 1}`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} ${Math.max(5000, downAfterMs * 5)}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      return procs.spawn([conf, '--sentinel'], p);
    });
    // a group is ready when every sentinel knows the replicas and the other sentinels (hello messages, ~2 s)
    await Promise.all(
      sentinelPorts.map((p) =>
        waitFor(
          async () => {
            const r = await redisCli(p, 'SENTINEL', 'master', name);
            const lines = r.split('\n');
            const value = (k: string) => lines[lines.indexOf(k) + 1];
            return (
              Number(value('num-slaves')) === replicas && Number(value('num-other-sentinels')) === sentinelCount - 1
            );
          },
          { timeoutMs: 30_000, what: `sentinel ${p} to discover the group`, intervalMs: 250 },
        ),
      ),
    );
    const primaryPortNow = async () => {
      for (const p of sentinelPorts) {
        try {
          const [, port] = (await redisCli(p, 'SENTINEL', 'get-master-addr-by-name', name)).split('\n');
          if (port) return Number(port);
        } catch {}
      }
      throw new Error('no sentinel answers');
    };
    return {
      sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
      name,
      nodes,
      sentinelNodes,
      primaryPort: primaryPortNow,
      async waitForFailover(oldPort, timeoutMs = 30_000) {
        let now = oldPort;
        await waitFor(
          async () => {
            now = await primaryPortNow();
            return now !== oldPort && field(await redisCli(now, 'INFO', 'replication'), 'role') === 'master';
          },
          { timeoutMs, what: 'the sentinels to promote a replica', intervalMs: 200 },
        );
        return now;
      },
      stop: () => procs.stop(),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}

export interface RedisClusterTopology {
  /** REDIS_CLUSTER_NODES (every node; a client needs only one to discover the rest) */
  nodes: string;
  members: RedisNode[];
  /** the slot's current primary port (CLUSTER SHARDS / SLOTS through a live node) */
  primaryOfSlot(slot: number): Promise<number>;
  /** the ports of the current primaries */
  primaries(): Promise<number[]>;
  /** waits until every slot is served again (a replica promoted in place of a killed primary) */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A Redis Cluster of `primaries` primaries with `replicasPerPrimary` replicas each, made with
 * `redis-cli --cluster create`. `nodeTimeoutMs` is `cluster-node-timeout`: how long a silent primary takes to be
 * failed over. Bus ports are chosen free too (`cluster-port`, Redis ≥ 7), not port + 10000.
 */
export async function startCluster(
  opts: { primaries?: number; replicasPerPrimary?: number; nodeTimeoutMs?: number } = {},
): Promise<RedisClusterTopology> {
  const primaries = opts.primaries ?? 3;
  const replicasPerPrimary = opts.replicasPerPrimary ?? 1;
  const count = primaries * (1 + replicasPerPrimary);
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1000;
  const procs = new Processes(mkdtempSync(join(tmpdir(), 'immish-cluster-')));
  try {
    const ports: number[] = []; // distinct: freePort never hands out a port it reserved a moment ago
    while (ports.length < count * 2) ports.push(await freePort());
    const dataPorts = ports.slice(0, count);
    const members = dataPorts.map((p, i) =>
      procs.spawn(
        [
          ...dataArgs(procs.dir, p),
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(procs.dir, String(p), 'nodes.conf'),
          '--cluster-node-timeout',
          String(nodeTimeoutMs),
          '--cluster-port',
          String(ports[count + i]),
          // a replica promoted after a short outage is what the tests want to see
          '--cluster-replica-validity-factor',
          '0',
        ],
        p,
      ),
    );
    await Promise.all(
      dataPorts.map((p) =>
        waitFor(async () => (await redisCli(p, 'PING')) === 'PONG', { timeoutMs: 20_000, what: `node ${p}` }),
      ),
    );
    await run(
      findRedisCli(),
      [
        '--cluster',
        'create',
        ...dataPorts.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        String(replicasPerPrimary),
        '--cluster-yes',
      ],
      { timeout: 60_000 },
    );
    const live = () => members.filter((m) => m.alive);
    const slotsMap = async () => {
      for (const m of live()) {
        try {
          // `redis-cli --csv`-free parse: CLUSTER NODES is one line per node
          const lines = (await redisCli(m.port, 'CLUSTER', 'NODES')).split('\n');
          return lines
            .map((l) => l.split(' '))
            .filter((f) => f[2]?.includes('master') && !f[2].includes('fail') && f.length > 8)
            .map((f) => ({
              port: Number(f[1]!.split('@')[0]!.split(':')[1]),
              ranges: f.slice(8).map((r) => r.split('-').map(Number) as [number, number?]),
            }));
        } catch {}
      }
      throw new Error('no cluster node answers');
    };
    const topology: RedisClusterTopology = {
      nodes: dataPorts.map((p) => `127.0.0.1:${p}`).join(','),
      members,
      async primaryOfSlot(slot) {
        for (const { port, ranges } of await slotsMap()) {
          if (ranges.some(([a, b]) => slot >= a && slot <= (b ?? a))) return port;
        }
        throw new Error(`slot ${slot} is served by no primary`);
      },
      async primaries() {
        return (await slotsMap()).map((m) => m.port);
      },
      async waitForHealthy(timeoutMs = 30_000) {
        await waitFor(
          async () => {
            const states = await Promise.all(
              live().map(async (m) => field(await redisCli(m.port, 'CLUSTER', 'INFO'), 'cluster_state')),
            );
            if (!states.every((s) => s === 'ok')) return false;
            // right after a kill the survivors still say ok (the node timeout has not run out): healthy means every
            // slot is served by a primary that is alive, i.e. the dead one's replica has been promoted
            const alive = new Set(live().map((m) => m.port));
            let served = 0;
            for (const { port, ranges } of await slotsMap()) {
              if (!alive.has(port)) return false;
              for (const [a, b] of ranges) if (Number.isInteger(a)) served += (b ?? a) - a + 1;
            }
            return served === 16384;
          },
          { timeoutMs, what: 'every cluster node to report cluster_state:ok', intervalMs: 250 },
        );
      },
      stop: () => procs.stop(),
    };
    await topology.waitForHealthy();
    // Served slots are not enough: a replica that has not finished its first sync acknowledges nothing, so a
    // `WAIT` sent right after the start times out (the relay's confirm() then holds every event back for its
    // retry: bench/redis-modes measured the cluster at 0.3× one node for that alone). Ready means every replica's
    // link to its primary is up, as startSentinelGroup waits for too.
    await waitFor(
      async () => {
        const links = await Promise.all(
          members.map(async (m) => {
            const info = await redisCli(m.port, 'INFO', 'replication');
            return field(info, 'role') === 'slave' && field(info, 'master_link_status') === 'up';
          }),
        );
        return links.filter(Boolean).length === primaries * replicasPerPrimary;
      },
      { timeoutMs: 30_000, what: 'every cluster replica to finish its first sync', intervalMs: 100 },
    );
    return topology;
  } catch (err) {
    await procs.stop();
    throw err;
  }
}
