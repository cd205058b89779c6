import { createHash, randomBytes } from 'node:crypto';
import { Queues } from '@immish/contracts';
import { createBlobStore } from '@immish/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAsset } from '../apps/export-worker/test/export-helpers.ts';
import { completedJobs, exited, noisyJpeg, onLogLine, ownerApi, poll, uploadBatch } from './support/client.ts';
import { type Stack, startStack } from './support/stack.ts';

/**
 * Issue 7 item 3, docs/spec.md §12: SIGTERM during load → in-flight HTTP requests complete, jobs are finished or handed
 * back, exit code 0. Real processes on the run's Postgres/Redis; each test SIGTERMs a process of its own while
 * the first links-api (setup) keeps running. Sizes: a 1.5 MB upload streamed over ~1.5 s, a 32 MiB download read
 * slowly (larger than the socket buffers, so it is really in flight), a 32 MiB export throttled to ~2 s.
 */
const MiB = 1024 * 1024;
let stack: Stack;
let ownerId = '';
beforeAll(async () => {
  stack = await startStack(['links-api'], { outputLimit: 100_000 });
  const me = await ownerApi(stack)('/api/users/me');
  ownerId = ((await me.json()) as { id: string }).id;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

async function seedLargeAsset(fileName: string) {
  const store = createBlobStore({ driver: 'fs', root: stack.storageRoot });
  const data = randomBytes(32 * MiB);
  const asset = await seedAsset(stack.tdb.db, store, { ownerId, fileName, data });
  await store.close();
  return { ...asset, sha1: createHash('sha1').update(data).digest('hex') };
}

describe('SIGTERM to links-api during an upload', () => {
  it('should complete the in-flight upload, then exit 0', async () => {
    const victim = await stack.start('links-api');
    const photo = await noisyJpeg(1200, 900);
    const boundary = `----immish${randomBytes(8).toString('hex')}`;
    const field = (name: string, value: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const head = Buffer.from(
      field('deviceAssetId', 'slow') +
        field('deviceId', 'sigterm-test') +
        field('fileCreatedAt', '2024-01-02T03:04:05.000Z') +
        field('fileModifiedAt', '2024-01-02T03:04:05.000Z') +
        `--${boundary}\r\nContent-Disposition: form-data; name="assetData"; filename="slow.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const chunk = 64 * 1024;
    let sent = 0;
    let signalled = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 0) controller.enqueue(new Uint8Array(head));
        if (sent >= photo.length) {
          controller.enqueue(new Uint8Array(tail));
          controller.close();
          return;
        }
        await new Promise((r) => setTimeout(r, 60));
        controller.enqueue(new Uint8Array(photo.subarray(sent, sent + chunk)));
        sent += chunk;
        if (!signalled && sent >= 4 * chunk) {
          signalled = true; // a quarter of the file is on its way: the request is in flight
          victim.child.kill('SIGTERM');
        }
      },
    });
    const res = await fetch(`http://127.0.0.1:${victim.port}/api/assets`, {
      method: 'POST',
      headers: { 'x-api-key': stack.adminKey, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(signalled).toBe(true);
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    expect(await exited(victim)).toEqual({ code: 0, signal: null });
    const row = await stack.tdb.db.selectFrom('assets').select(['size']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(Number(row.size)).toBe(photo.length);
  });
});

describe('SIGTERM to share-gateway during a download', () => {
  it('should complete the in-flight download, then exit 0', async () => {
    const victim = await stack.start('share-gateway');
    const asset = await seedLargeAsset('large.bin');
    const link = await ownerApi(stack)('/api/shared-links', {
      method: 'POST',
      body: JSON.stringify({ type: 'INDIVIDUAL', assetIds: [asset.id], allowDownload: true, showMetadata: true }),
    });
    expect(link.status).toBe(201);
    const { key } = (await link.json()) as { key: string };
    const res = await fetch(`http://127.0.0.1:${victim.port}/share/${key}/assets/${asset.id}/original`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const hash = createHash('sha1');
    let received = 0;
    let signalled = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.length;
      if (!signalled) {
        signalled = true; // headers and the first bytes are here; the rest is still on the server's side
        victim.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 500));
      }
      if (received < 8 * MiB) await new Promise((r) => setTimeout(r, 5)); // a slow reader at first
    }
    expect(received).toBe(32 * MiB);
    expect(hash.digest('hex')).toBe(asset.sha1);
    expect(await exited(victim)).toEqual({ code: 0, signal: null });
  });
});

describe('SIGTERM to an ingest worker during a job', () => {
  it('should finish or hand back its job and exit 0; another worker completes the batch, each job once', async () => {
    const env = { INGEST_CONCURRENCY: '1', INGEST_LOCK_DURATION_MS: '5000', LOG_LEVEL: 'debug' };
    const victim = await stack.start('ingest-worker', env);
    const api = ownerApi(stack);
    const album = await api('/api/albums', { method: 'POST', body: JSON.stringify({ albumName: 'Draining' }) });
    const albumId = ((await album.json()) as { id: string }).id;
    let signalled = false;
    onLogLine(victim, (line) => {
      if (signalled || line.msg !== 'job started' || line.queue !== Queues.ingest) return;
      signalled = true;
      victim.child.kill('SIGTERM');
    });
    const files = await Promise.all([0, 1, 2, 3].map(() => noisyJpeg(1600, 1200)));
    const batchId = await uploadBatch(stack, albumId, files, 'drain');
    expect(await exited(victim)).toEqual({ code: 0, signal: null });
    expect(signalled).toBe(true);
    const successor = await stack.start('ingest-worker', env);
    const batch = await poll(
      async () => {
        const b = (await (await api(`/api/upload-batches/${batchId}`)).json()) as {
          status: string;
          items: { status: string; assetId: string }[];
        };
        return b.status === 'completed' ? b : undefined;
      },
      'the batch to complete',
      60_000,
    );
    expect(batch.items.map((i) => i.status)).toEqual(['ready', 'ready', 'ready', 'ready']);
    const stored = await stack.tdb.db
      .selectFrom('outbox_events')
      .select('id')
      .where('type', '=', 'asset.stored')
      .where(
        ({ ref }) => ref('aggregate_id'),
        'in',
        batch.items.map((i) => i.assetId),
      )
      .execute();
    expect(stored).toHaveLength(4);
    const storedIds = stored.map((s) => s.id);
    const done = await poll(async () => {
      const ids = [victim, successor]
        .flatMap((p) => completedJobs(p, Queues.ingest))
        .filter((j) => storedIds.includes(j));
      return ids.length >= storedIds.length ? ids : undefined;
    }, 'the jobs to be logged as completed');
    expect(done.sort()).toEqual(storedIds.sort());
  });
});

describe('SIGTERM to an export worker during an export', () => {
  it('should finish the export under way, then exit 0', async () => {
    const victim = await stack.start('export-worker', {
      LOG_LEVEL: 'debug',
      EXPORT_READ_BYTES_PER_SECOND: String(16 * MiB),
    });
    const asset = await seedLargeAsset('export.bin');
    let signalled = false;
    onLogLine(victim, (line) => {
      if (signalled || line.msg !== 'job started' || line.queue !== Queues.exports) return;
      signalled = true;
      victim.child.kill('SIGTERM');
    });
    const res = await ownerApi(stack)('/api/exports', {
      method: 'POST',
      body: JSON.stringify({ assetIds: [asset.id] }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect(await exited(victim)).toEqual({ code: 0, signal: null });
    expect(signalled).toBe(true);
    const row = await stack.tdb.db
      .selectFrom('exports')
      .select(['status'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('ready');
  });
});
