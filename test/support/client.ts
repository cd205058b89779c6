import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { Stack, StackProcess } from './stack.ts';

/** Small HTTP/observation helpers shared by the fault-injection and scale-out tests (real processes). */

export function ownerApi(stack: Stack, baseUrl = stack.linksUrl) {
  return (path: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}${path}`, {
      ...init,
      headers: {
        'x-api-key': stack.adminKey,
        ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
    });
}

export async function poll<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** A generated JPEG; `noise` makes it incompressible (a bigger file, slower to decode). */
export function jpeg(i: number, width = 320, height = 240, noise = false): Promise<Buffer> {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: (40 * i) % 256, g: 120, b: 200 },
      ...(noise ? { noise: { type: 'gaussian' as const, mean: 128, sigma: 40 } } : {}),
    },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Immich's `POST /api/assets` (multipart), as the mobile app and the CLI use it. */
export async function uploadAsset(
  stack: Stack,
  data: Buffer,
  name: string,
  signal?: AbortSignal,
): Promise<{ status: number; body: { id?: string; message?: string }; headers: Headers }> {
  const form = new FormData();
  form.append('deviceAssetId', name);
  form.append('deviceId', 'fault-test');
  form.append('fileCreatedAt', '2024-01-02T03:04:05.000Z');
  form.append('fileModifiedAt', '2024-01-02T03:04:05.000Z');
  form.append('assetData', new Blob([new Uint8Array(data)], { type: 'image/jpeg' }), name);
  const res = await ownerApi(stack)('/api/assets', { method: 'POST', body: form, ...(signal ? { signal } : {}) });
  return { status: res.status, body: (await res.json()) as { id?: string; message?: string }, headers: res.headers };
}

/** The process's pino JSON log lines (whatever it printed and kept). */
export function logLines(proc: StackProcess): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of proc.output.join('').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // a partial line: not a log record
    }
  }
  return out;
}

/** Job ids this worker process logged as completed (`startQueueWorker` logs `job completed` with the job id). */
export function completedJobs(proc: StackProcess, queue: string): string[] {
  return logLines(proc)
    .filter((l) => l.msg === 'job completed' && l.queue === queue)
    .map((l) => String(l.jobId));
}

export function exited(proc: StackProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const { child } = proc;
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return res({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => res({ code, signal }));
  });
}

/** An incompressible JPEG (random pixels): a few MB, and a decode that takes a moment. Fast to generate. */
export function noisyJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Multipart `POST /api/upload-batches` (files into an album); returns the batch id. */
export async function uploadBatch(stack: Stack, albumId: string, files: Buffer[], prefix: string): Promise<string> {
  const form = new FormData();
  form.append('albumId', albumId);
  for (const [i, f] of files.entries())
    form.append('files', new Blob([new Uint8Array(f)], { type: 'image/jpeg' }), `${prefix}-${i}.jpg`);
  const res = await ownerApi(stack)('/api/upload-batches', { method: 'POST', body: form });
  if (res.status !== 202) throw new Error(`upload batch: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** Calls `onLine` for every complete log line the process prints from now on. */
export function onLogLine(proc: StackProcess, onLine: (line: Record<string, unknown>) => void): void {
  let partial = '';
  proc.child.stdout?.on('data', (b: Buffer) => {
    const lines = (partial + b.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      try {
        onLine(JSON.parse(l));
      } catch {
        // not JSON: ignore
      }
    }
  });
}

/**
 * The job ids each worker logged as completed, once `expected` of them are logged in all: a job's result is
 * committed to the database a moment before the worker writes its `job completed` line.
 */
export async function settledJobs(procs: StackProcess[], queue: string, expected: number): Promise<string[][]> {
  return poll(async () => {
    const lists = procs.map((p) => completedJobs(p, queue));
    return lists.flat().length >= expected ? lists : undefined;
  }, `${expected} ${queue} jobs to be logged as completed`);
}
