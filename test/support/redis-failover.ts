import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queues } from '@immish/contracts';
import { createBlobStore } from '@immish/storage';
import { sql } from 'kysely';
import { expect } from 'vitest';
import { seedAsset } from '../../apps/export-worker/test/export-helpers.ts';
import { completedJobs, jpeg, ownerApi, poll, uploadAsset } from './client.ts';
import type { Stack, StackProcess } from './stack.ts';

/**
 * The "a failover loses nothing" scenario of issue 20 item 4, shared by the Sentinel and the Cluster test: the
 * four services as processes on a real topology, under load (LINKS links created, UPLOADS uploads, an export
 * running), and the primary killed with SIGKILL in the middle of it. Afterwards every write was answered 2xx
 * (or 503 + Retry-After inside the failover window), every event delivered, every upload ingested once, the
 * export ready and a valid zip, and the gateways' throttling and cache invalidation work on the new primary.
 */
export const LINKS = 200;
export const UPLOADS = 30;
const MiB = 1024 * 1024;

/** Environment of every service in these tests: failover-sized bounds (seconds, not minutes). */
export const failoverEnv = {
  // a link cached for 60 s: only the invalidation through Redis makes a gateway see a change within the test's bound
  LINK_CACHE_TTL_MS: '60000',
  UNLOCK_MAX_FAILURES_PER_IP: '3',
  INGEST_CONCURRENCY: '2',
  // a job whose completion the failover lost is handed to a worker again after this long (stalled-job check)
  INGEST_LOCK_DURATION_MS: '5000',
  EXPORT_LOCK_DURATION_MS: '5000',
  // the export reads its 6 MiB at 2 MiB/s: still running when the primary dies
  EXPORT_READ_BYTES_PER_SECOND: String(2 * MiB),
};

/** Runs `task(i)` for i in [0, n) with at most `width` in flight. */
async function inParallel<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

interface Answer {
  status: number;
  retryAfter: string | null;
  at: number;
}

export interface FailoverFigures {
  /** from the kill to a replica serving (as the test saw it) */
  failoverMs: number;
  /** password unlocks sent through a gateway during the failover (2xx, or 503 + Retry-After in the window) */
  unlocks: number;
  writes: number;
  answered503: number;
  eventsUnpublished: number;
  uploadsReady: number;
  ingestedEvents: number;
  duplicateIngestJobs: number;
  exportStatus: string;
}

/**
 * Runs the scenario. `killPrimary` kills the primary the queues live on and returns once it is dead;
 * `waitForFailover` resolves once a replica serves in its place.
 */
export async function runFailoverScenario(
  stack: Stack,
  gateways: StackProcess[],
  topology: { killPrimary(): Promise<void>; waitForFailover(): Promise<void> },
): Promise<FailoverFigures> {
  try {
    return await scenario(stack, gateways, topology);
  } catch (err) {
    // what the services said about it (warnings and errors: the relay's, the workers')
    for (const p of stack.procs.values()) {
      const lines = p.output
        .join('')
        .split('\n')
        .filter((l) => /"level":(40|50|60)/.test(l));
      console.error(`--- ${p.name}:${p.port}\n${lines.slice(-15).join('\n')}`);
    }
    throw err;
  }
}

async function scenario(
  stack: Stack,
  gateways: StackProcess[],
  topology: { killPrimary(): Promise<void>; waitForFailover(): Promise<void> },
): Promise<FailoverFigures> {
  const api = ownerApi(stack);
  const album = await api('/api/albums', { method: 'POST', body: JSON.stringify({ albumName: 'Failover' }) });
  expect(album.status).toBe(201);
  const albumId = ((await album.json()) as { id: string }).id;
  const photos = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => jpeg(i)));

  // an export that is running when the primary dies
  const me = (await (await api('/api/users/me')).json()) as { id: string };
  const store = createBlobStore({ driver: 'fs', root: stack.storageRoot });
  const big = await seedAsset(stack.tdb.db, store, { ownerId: me.id, fileName: 'big.bin', size: 6 * MiB });
  await store.close();
  const exp = await api('/api/exports', { method: 'POST', body: JSON.stringify({ assetIds: [big.id] }) });
  expect(exp.status).toBe(202);
  const exportId = ((await exp.json()) as { id: string }).id;
  await poll(async () => {
    const row = await stack.tdb.db.selectFrom('exports').select('status').where('id', '=', exportId).executeTakeFirst();
    return row?.status === 'running' ? true : undefined;
  }, 'the export to start');

  // a password link unlocked again and again through a gateway while the primary dies: unlocking reserves an
  // attempt in Redis first, so this is the write that meets the failover (links and uploads go to PostgreSQL)
  const locked = await api('/api/shared-links', {
    method: 'POST',
    body: JSON.stringify({ type: 'ALBUM', albumId, password: 'open sesame' }),
  });
  expect(locked.status).toBe(201);
  const lockedKey = ((await locked.json()) as { key: string }).key;

  let killedAt = 0;
  let failedOverAt = 0;
  let done = 0;
  let failover: Promise<void> | null = null;
  const answered = (res: Response): Answer => {
    if (++done === 60) {
      killedAt = Date.now();
      failover = topology
        .killPrimary()
        .then(() => topology.waitForFailover())
        .then(() => {
          failedOverAt = Date.now();
        });
    }
    return { status: res.status, retryAfter: res.headers.get('retry-after'), at: Date.now() };
  };
  const unlocks: Answer[] = [];
  let loadDone = false;
  const unlocking = (async () => {
    // until the load is done and a replica has served for a second, and then until an unlock is answered or the
    // failover window below (kill → replica serving + 5 s) is over: a loaded host's gateway may reconnect later
    // than one second, never later than the window the refusals are held to
    const answeredAgain = () => unlocks.at(-1)?.status === 201 || Date.now() > failedOverAt + 5000;
    while (!loadDone || !failedOverAt || Date.now() < failedOverAt + 1000 || !answeredAgain()) {
      const res = await fetch(`http://127.0.0.1:${gateways[0]!.port}/api/shared-links/login?key=${lockedKey}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password: 'open sesame' }),
      });
      unlocks.push({ status: res.status, retryAfter: res.headers.get('retry-after'), at: Date.now() });
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const [links, uploads] = await Promise.all([
    inParallel(LINKS, 6, async () =>
      answered(
        await api('/api/shared-links', {
          method: 'POST',
          body: JSON.stringify({ type: 'ALBUM', albumId, allowDownload: true }),
        }),
      ),
    ),
    inParallel(UPLOADS, 2, async (i) => {
      const r = await uploadAsset(stack, photos[i]!, `failover-${i}.jpg`);
      return { ...answered(new Response(null, { status: r.status, headers: r.headers })), id: r.body.id };
    }),
  ]);
  loadDone = true;
  expect(killedAt).toBeGreaterThan(0);
  await failover;
  await unlocking;

  // every write answered 2xx, or 503 + Retry-After inside the failover window (kill → replica serving + 5 s)
  const all = [...links, ...uploads, ...unlocks];
  const refused = all.filter((a) => a.status === 503);
  expect(all.filter((a) => !(a.status >= 200 && a.status < 300) && a.status !== 503)).toEqual([]);
  for (const r of refused) {
    expect(r.retryAfter).not.toBeNull();
    expect(r.at).toBeGreaterThanOrEqual(killedAt);
    expect(r.at).toBeLessThanOrEqual(failedOverAt + 5000);
  }
  // and unlocking works again on the new primary
  expect(unlocks.at(-1)!.status).toBe(201);
  const assetIds = uploads.filter((u) => u.status === 201).map((u) => u.id as string);
  // every link answered 201 is there (plus the password link made before the load)
  const createdLinks = links.filter((l) => l.status === 201).length;
  const linkRows = await stack.tdb.db
    .selectFrom('shared_links')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('album_id', '=', albumId)
    .executeTakeFirstOrThrow();
  expect(Number(linkRows.n)).toBe(createdLinks + 1);

  // every event delivered: the outbox empties on the new primary
  const unpublished = async () =>
    Number(
      (
        await stack.tdb.db
          .selectFrom('outbox_events')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('published_at', 'is', null)
          .executeTakeFirstOrThrow()
      ).n,
    );
  await poll(
    async () => ((await unpublished()) === 0 ? true : undefined),
    'every outbox event to be published',
    90_000,
  );

  // every upload ingested, once in effect: one asset.ingested event per asset
  await poll(
    async () => {
      const rows = await stack.tdb.db.selectFrom('assets').select('status').where('id', 'in', assetIds).execute();
      return rows.length === assetIds.length && rows.every((r) => r.status === 'ready') ? true : undefined;
    },
    'every upload to be ingested',
    90_000,
  );
  const ingested = await stack.tdb.db
    .selectFrom('outbox_events')
    .select(sql<string>`payload->'data'->>'assetId'`.as('assetId'))
    .where('type', '=', 'asset.ingested')
    .execute();
  expect(ingested.map((e) => e.assetId).sort()).toEqual([...assetIds].sort());
  const stored = await stack.tdb.db
    .selectFrom('outbox_events')
    .select('id')
    .where('type', '=', 'asset.stored')
    .execute();
  const workers = [...stack.procs.values()].filter((p) => p.name === 'ingest-worker');
  const completed = await poll(async () => {
    const ids = workers.flatMap((w) => completedJobs(w, Queues.ingest));
    return stored.every((e) => ids.includes(e.id)) ? ids : undefined;
  }, 'every ingest job to be logged as completed');

  // the export completed and is a valid zip holding the file
  const ready = await poll(
    async () => {
      const e = (await (await api(`/api/exports/${exportId}`)).json()) as {
        status: string;
        error?: string;
        parts: { downloadUrl: string }[];
      };
      if (e.status === 'failed') throw new Error(`export failed: ${e.error}`);
      return e.status === 'ready' ? e : undefined;
    },
    'the export to be ready',
    90_000,
  );
  const zip = await api(new URL(ready.parts[0]!.downloadUrl, stack.linksUrl).pathname);
  expect(zip.status).toBe(200);
  const dir = mkdtempSync(join(tmpdir(), 'immish-failover-zip-'));
  try {
    const file = join(dir, 'export.zip');
    writeFileSync(file, Buffer.from(await zip.arrayBuffer()));
    execFileSync('unzip', ['-tq', file]);
    const listing = execFileSync('unzip', ['-Zl', file], { encoding: 'utf8' });
    expect(listing).toContain(String(6 * MiB));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  await gatewaysWorkOnTheNewPrimary(stack, gateways, albumId);

  return {
    failoverMs: failedOverAt - killedAt,
    writes: links.length + uploads.length,
    unlocks: unlocks.length,
    answered503: refused.length,
    // the gateway checks wrote events too: every one of them delivered as well
    eventsUnpublished: await poll(async () => ((await unpublished()) === 0 ? 0 : undefined), 'the last events', 30_000),
    uploadsReady: assetIds.length,
    ingestedEvents: ingested.length,
    duplicateIngestJobs: completed.length - new Set(completed).size,
    exportStatus: ready.status,
  };
}

/** Throttling counters (wrong passwords) and link-cache invalidation, on every gateway, after the failover. */
async function gatewaysWorkOnTheNewPrimary(stack: Stack, gateways: StackProcess[], albumId: string): Promise<void> {
  const api = ownerApi(stack);
  const created = await api('/api/shared-links', {
    method: 'POST',
    body: JSON.stringify({ type: 'ALBUM', albumId, password: 'correct horse', description: 'before' }),
  });
  expect(created.status).toBe(201);
  const link = (await created.json()) as { id: string; key: string };
  const guess = (g: StackProcess) =>
    fetch(`http://127.0.0.1:${g.port}/api/shared-links/login?key=${link.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'nope' }),
    });
  // UNLOCK_MAX_FAILURES_PER_IP=3, counted in Redis across the gateways: 3 wrong answers, then 429
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await guess(gateways[i % gateways.length]!)).status);
  expect(statuses).toEqual([401, 401, 401, 429]);

  // every gateway caches the link (60 s), then sees an owner's change through the invalidation
  const open = await api('/api/shared-links', {
    method: 'POST',
    body: JSON.stringify({ type: 'ALBUM', albumId, description: 'before' }),
  });
  const openLink = (await open.json()) as { id: string; key: string };
  const describe = async (g: StackProcess) => {
    const res = await fetch(`http://127.0.0.1:${g.port}/api/shared-links/me?key=${openLink.key}`);
    return ((await res.json()) as { description: string | null }).description;
  };
  for (const g of gateways) expect(await describe(g)).toBe('before');
  const changed = await api(`/api/shared-links/${openLink.id}`, {
    method: 'PATCH',
    body: JSON.stringify({ description: 'after' }),
  });
  expect(changed.status).toBe(200);
  await Promise.all(
    gateways.map((g) =>
      poll(
        async () => ((await describe(g)) === 'after' ? true : undefined),
        `gateway :${g.port} to see the change`,
        5000,
      ),
    ),
  );
}
