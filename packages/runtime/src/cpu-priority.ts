import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

export interface LoweredPriority {
  /** the nice value asked for */
  nice: number;
  /** threads lowered to it (Linux); 1 where the whole process is set at once */
  threads: number;
  /** threads that could not be lowered (gone meanwhile, or refused), with the first reason */
  failed: number;
  reason?: string;
}

/**
 * Lowers this process's CPU priority to `nice` (docs/architecture.md "CPU priority"): the background workers call it
 * at start so that, on a busy machine, the services that answer people get the cores first.
 *
 * Linux keeps a nice value per thread, and a thread inherits its creator's when it starts. So every thread that
 * exists now is lowered one by one (`/proc/self/task`: the main thread, V8's helpers, libuv's pool if it has
 * started), and every one made later (libuv's pool, libvips's workers, the child processes a worker runs, such as
 * ffmpeg) starts lowered. Elsewhere (macOS, the BSDs) the value is the process's and is set once.
 *
 * Only ever lowers: a thread already at `nice` or below is left as it is, and raising a priority back would need
 * privileges anyway. Never throws: a worker that cannot lower itself still works, and says so in its log.
 */
export function lowerCpuPriority(nice: number): LoweredPriority {
  const result: LoweredPriority = { nice, threads: 0, failed: 0 };
  const fail = (err: unknown) => {
    result.failed++;
    result.reason ??= err instanceof Error ? err.message : String(err);
  };
  let tids: number[];
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch {
    try {
      if (getPriority(0) < nice) setPriority(0, nice);
      result.threads = 1;
    } catch (err) {
      fail(err);
    }
    return result;
  }
  for (const tid of tids) {
    try {
      if (getPriority(tid) < nice) setPriority(tid, nice);
      result.threads++;
    } catch (err) {
      fail(err);
    }
  }
  return result;
}
