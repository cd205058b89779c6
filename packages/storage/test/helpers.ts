import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';

export const MiB = 1024 * 1024;

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfStream(stream: Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { digest: hash.digest('hex'), size };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** A stream of `total` random bytes in `chunkSize` pieces, generated lazily; `digest()` once it has been read. */
export function randomStream(total: number, chunkSize = 256 * 1024): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let remaining = total;
  let digest: string | undefined;
  const stream = new Readable({
    read() {
      if (remaining === 0) {
        digest = hash.digest('hex');
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(chunkSize, remaining));
      remaining -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return {
    stream,
    digest: () => {
      if (!digest) throw new Error('the stream has not been read to the end');
      return digest;
    },
  };
}

/**
 * Writes `total` random bytes in chunks, waiting for 'drain' whenever write() says so, and records
 * the most the stream ever buffered: it must stay bounded by one chunk plus its highWaterMark.
 */
export async function writeWithBackpressure(
  stream: Writable,
  total: number,
  chunkSize = 256 * 1024,
): Promise<{ digest: string; drains: number; maxBuffered: number }> {
  const hash = createHash('sha256');
  let drains = 0;
  let maxBuffered = 0;
  for (let written = 0; written < total; ) {
    const chunk = randomBytes(Math.min(chunkSize, total - written));
    hash.update(chunk);
    written += chunk.length;
    const ok = stream.write(chunk);
    maxBuffered = Math.max(maxBuffered, stream.writableLength);
    if (!ok) {
      drains++;
      await once(stream, 'drain');
    }
  }
  return { digest: hash.digest('hex'), drains, maxBuffered };
}

/** Every file and folder below `dir`, as relative paths, sorted; `skip` names top-level entries to leave out. */
export async function snapshotTree(dir: string, skip: string[] = []): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const rel = path.relative(dir, path.join(entry.parentPath, entry.name));
    if (skip.some((s) => rel === s || rel.startsWith(`${s}${path.sep}`))) continue;
    out.push(rel);
  }
  return out.sort();
}

/** Polls `probe` until it returns true (for state another component reaches asynchronously). */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
