import { Queues } from '@immish/contracts';
import { createBlobStore } from '@immish/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAsset } from '../apps/export-worker/test/export-helpers.ts';
import { noisyJpeg, ownerApi, poll, settledJobs, uploadBatch } from './support/client.ts';
import { type Stack, type StackProcess, startStack } from './support/stack.ts';

/**
 * Issue 7 item 5: two gateways, two ingest workers and two export workers as separate processes against the
 * same Postgres, Redis and storage. Who processed what is read from each worker's own log (`job completed`
 * with the job id, written by the process that ran the job). Scaled down for a 2-core machine: 12 uploads
 * (800×600) and 4 exports of a 4 MiB file read at 4 MiB/s (≈1 s each), one job at a time per worker.
 * The gateways cache links for 60 s here (LINK_CACHE_TTL_MS), so only the invalidation published through
 * Redis can make them see a change within the few seconds the test allows.
 */
const UPLOADS = 12;
const EXPORTS = 4;
const MiB = 1024 * 1024;
let stack: Stack;
const gateways: StackProcess[] = [];
const ingesters: StackProcess[] = [];
const exporters: StackProcess[] = [];
beforeAll(async () => {
  stack = await startStack(['links-api'], {
    outputLimit: 100_000,
    env: { LINK_CACHE_TTL_MS: '60000', INGEST_CONCURRENCY: '1', EXPORT_READ_BYTES_PER_SECOND: String(4 * MiB) },
  });
  for (let i = 0; i < 2; i++) {
    gateways.push(await stack.start('share-gateway'));
    ingesters.push(await stack.start('ingest-worker', { LOG_LEVEL: 'info' }));
    exporters.push(await stack.start('export-worker', { LOG_LEVEL: 'info' }));
  }
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('two of each service on one Postgres, Redis and storage', () => {
  it('should spread the ingest jobs over both ingest workers, each job once', async () => {
    const api = ownerApi(stack);
    const album = await api('/api/albums', { method: 'POST', body: JSON.stringify({ albumName: 'Spread' }) });
    const albumId = ((await album.json()) as { id: string }).id;
    const files = await Promise.all(Array.from({ length: UPLOADS }, () => noisyJpeg(800, 600)));
    const batchId = await uploadBatch(stack, albumId, files, 'spread');
    const batch = await poll(
      async () => {
        const b = (await (await api(`/api/upload-batches/${batchId}`)).json()) as {
          status: string;
          items: { status: string }[];
        };
        return b.status === 'completed' ? b : undefined;
      },
      'the batch to complete',
      60_000,
    );
    expect(batch.items.map((i) => i.status)).toEqual(Array(UPLOADS).fill('ready'));
    const [a, b] = await settledJobs(ingesters, Queues.ingest, UPLOADS);
    expect(a!.length).toBeGreaterThan(0);
    expect(b!.length).toBeGreaterThan(0);
    const stored = await stack.tdb.db
      .selectFrom('outbox_events')
      .select('id')
      .where('type', '=', 'asset.stored')
      .execute();
    expect([...a!, ...b!].sort()).toEqual(stored.map((e) => e.id).sort());
  });

  it('should spread the exports over both export workers', async () => {
    const me = (await (await ownerApi(stack)('/api/users/me')).json()) as { id: string };
    const store = createBlobStore({ driver: 'fs', root: stack.storageRoot });
    const ids: string[] = [];
    for (let i = 0; i < EXPORTS; i++) {
      const asset = await seedAsset(stack.tdb.db, store, { ownerId: me.id, fileName: `big-${i}.bin`, size: 4 * MiB });
      const res = await ownerApi(stack)('/api/exports', {
        method: 'POST',
        body: JSON.stringify({ assetIds: [asset.id] }),
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await store.close();
    await poll(
      async () => {
        const rows = await stack.tdb.db.selectFrom('exports').select('status').where('id', 'in', ids).execute();
        if (rows.some((r) => r.status === 'failed')) throw new Error('an export failed');
        return rows.every((r) => r.status === 'ready') ? true : undefined;
      },
      'the exports to be ready',
      60_000,
    );
    const [a, b] = await settledJobs(exporters, Queues.exports, EXPORTS);
    expect(a!.length).toBeGreaterThan(0);
    expect(b!.length).toBeGreaterThan(0);
    expect(a!.length + b!.length).toBe(EXPORTS);
  });

  it('should show a link change made through links-api on both gateways within a second or so', async () => {
    const api = ownerApi(stack);
    const album = await api('/api/albums', { method: 'POST', body: JSON.stringify({ albumName: 'Watched' }) });
    const albumId = ((await album.json()) as { id: string }).id;
    const created = await api('/api/shared-links', {
      method: 'POST',
      body: JSON.stringify({ type: 'ALBUM', albumId, description: 'before' }),
    });
    const link = (await created.json()) as { id: string; key: string };
    const describe = async (g: StackProcess) => {
      const res = await fetch(`http://127.0.0.1:${g.port}/api/shared-links/me?key=${link.key}`);
      return ((await res.json()) as { description: string | null }).description;
    };
    // both gateways have the link cached (for 60 s)
    for (const g of gateways) expect(await describe(g)).toBe('before');
    const changed = await api(`/api/shared-links/${link.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ description: 'after' }),
    });
    expect(changed.status).toBe(200);
    // "within a second or so": a generous functional bound, far below the 60 s cache lifetime
    await Promise.all(
      gateways.map((g) =>
        poll(
          async () => ((await describe(g)) === 'after' ? true : undefined),
          `gateway :${g.port} to see the change`,
          3000,
        ),
      ),
    );
    const removed = await api(`/api/shared-links/${link.id}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    await Promise.all(
      gateways.map((g) =>
        poll(
          async () => {
            const res = await fetch(`http://127.0.0.1:${g.port}/api/shared-links/me?key=${link.key}`);
            return res.status === 401 ? true : undefined;
          },
          `gateway :${g.port} to stop serving the deleted link`,
          3000,
        ),
      ),
    );
  });
});
