import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * A small file system of its own (tmpfs) for disk-full tests: real ENOSPC from the kernel, no fake. Mounting
 * needs root (CI runs as root); `smallDiskUnavailable()` says why it cannot be had, for the test to skip LOUDLY.
 */
export interface SmallDisk {
  /** the mount point (empty at first) */
  dir: string;
  /** bytes still free for a file's data */
  free(): number;
  /** fills the disk with filler files until at most `leaveBytes` are free (0: until the kernel says ENOSPC) */
  fill(leaveBytes?: number): Promise<void>;
  /** removes every filler file */
  unfill(): Promise<void>;
  unmount(): void;
}

/** Why a small disk cannot be mounted here, or null when it can. */
export function smallDiskUnavailable(): string | null {
  if (process.platform !== 'linux') return `tmpfs mounts need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root (CI runs as root; run the tests as root)';
  return null;
}

const FILLER_CHUNK = 64 * 1024;

export function mountSmallDisk(sizeMiB: number): SmallDisk {
  const why = smallDiskUnavailable();
  if (why) throw new Error(`cannot mount a small disk: ${why}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'immish-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  const fillers: string[] = [];
  const free = () => {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  };
  return {
    dir,
    free,
    async fill(leaveBytes = 0) {
      // filler files live at the root, outside any key prefix the services use
      const file = path.join(dir, `filler-${fillers.length}`);
      fillers.push(file);
      const handle = await open(file, 'w');
      const chunk = Buffer.alloc(FILLER_CHUNK, 0xa5);
      try {
        while (free() > leaveBytes) {
          const want = Math.min(FILLER_CHUNK, Math.max(1, free() - leaveBytes));
          await handle.write(chunk, 0, want);
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        await handle.close();
      }
    },
    async unfill() {
      for (const f of fillers.splice(0)) await rm(f, { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', [dir]);
      } catch {
        execFileSync('umount', ['-l', dir]); // something still holds a file open: detach now, freed when closed
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
