import { Queues } from '@immish/contracts';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, noisyJpeg, onLogLine, ownerApi, poll, settledJobs, uploadBatch } from './support/client.ts';
import { type Stack, type StackProcess, startStack } from './support/stack.ts';

/**
 * Issue 7 item 3: kill -9 of an ingest worker mid-job → the job completes on another worker process.
 * Real processes: links-api and two ingest workers (one job at a time each) on the run's Postgres/Redis.
 * Scaled down: the job lock is 5 s (INGEST_LOCK_DURATION_MS; production default 120 s) so the survivor takes
 * the dead worker's job over within seconds. The export-worker case is `apps/export-worker/test/export-fault.test.ts`.
 */
const FILES = 6;
let stack: Stack;
const workers: StackProcess[] = [];
beforeAll(async () => {
  stack = await startStack(['links-api'], { outputLimit: 100_000 });
  const env = { INGEST_CONCURRENCY: '1', INGEST_LOCK_DURATION_MS: '5000', LOG_LEVEL: 'debug' };
  workers.push(await stack.start('ingest-worker', env), await stack.start('ingest-worker', env));
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('an ingest worker killed with SIGKILL mid-job', () => {
  it('should have its job completed by the other worker process, once', async () => {
    const api = ownerApi(stack);
    const album = await api('/api/albums', { method: 'POST', body: JSON.stringify({ albumName: 'Killed' }) });
    const albumId = ((await album.json()) as { id: string }).id;
    const files = await Promise.all(Array.from({ length: FILES }, () => noisyJpeg(1600, 1200)));

    // The first worker to start a job is killed right then: the job is certainly under way.
    let killed: { victim: StackProcess; jobId: string } | null = null;
    for (const w of workers) {
      onLogLine(w, (line) => {
        if (killed || line.msg !== 'job started' || line.queue !== Queues.ingest) return;
        w.child.kill('SIGKILL');
        killed = { victim: w, jobId: String(line.jobId) };
      });
    }
    const batchId = await uploadBatch(stack, albumId, files, 'kill');
    const { victim, jobId } = await poll(async () => killed ?? undefined, 'a worker to start a job');
    expect(await exited(victim)).toEqual({ code: null, signal: 'SIGKILL' });
    const survivor = workers.find((w) => w !== victim)!;

    const batch = await poll(
      async () => {
        const b = (await (await api(`/api/upload-batches/${batchId}`)).json()) as {
          status: string;
          items: { status: string; assetId: string | null }[];
        };
        return b.status === 'completed' ? b : undefined;
      },
      'the batch to complete',
      60_000,
    );
    expect(batch.items.map((i) => i.status)).toEqual(Array(FILES).fill('ready'));

    // the killed job was finished by the survivor, and every job completed exactly once
    const [died, survived] = await settledJobs([victim, survivor], Queues.ingest, FILES);
    expect(died).not.toContain(jobId);
    expect(survived).toContain(jobId);
    const stored = await stack.tdb.db
      .selectFrom('outbox_events')
      .select('id')
      .where('type', '=', 'asset.stored')
      .execute();
    expect([...died!, ...survived!].sort()).toEqual(stored.map((e) => e.id).sort());
    const ingested = await stack.tdb.db
      .selectFrom('outbox_events')
      .select(sql<string>`payload->'data'->>'assetId'`.as('assetId'))
      .where('type', '=', 'asset.ingested')
      .execute();
    expect(ingested.map((e) => e.assetId).sort()).toEqual(batch.items.map((i) => i.assetId).sort());
  });
});
