import { randomBytes } from 'node:crypto';
import { type S3Emulator, startS3Emulator } from '@immish/testkit';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jpeg, logLines, noisyJpeg, ownerApi, poll } from './support/client.ts';
import { type PrivateServers, startPrivateServers } from './support/private-servers.ts';
import { type Stack, startStack } from './support/stack.ts';
import { type StallRelay, startStallRelay } from './support/stall-relay.ts';

/**
 * Issue 12 item 13, docs/spec.md §11/§14: a stalled backing service is a failure with a deadline. PostgreSQL and Redis
 * are frozen with SIGSTOP (alive, connections open, no answers) and S3 through a TCP relay that accepts and
 * then forwards nothing. While each is stalled, every probed request of the owner API, the share gateway and
 * the workers' health endpoints answers — 2xx (a cached or unaffected answer) or 503 + Retry-After in the error
 * shape, never a 4xx/500 — before the CLIENT gives up at 2 s. That is a functional deadline (the client aborts
 * and the test fails if it had to), not a performance assertion. After the stall every probe works again by
 * itself, with attempts started within 2 s of the thaw, and nothing accepted is lost: every 2xx write is in
 * the database with its outbox event, every event is delivered, every accepted upload is ingested.
 *
 * Real processes (the four services) on a PRIVATE PostgreSQL and Redis this file freezes, and S3 (s3rver, the
 * emulator: the real store cannot run here) behind the relay. Freezing is always undone in afterEach.
 */
const CLIENT_DEADLINE_MS = 2000;
/** the link cache's TTL in the gateway (LINK_CACHE_TTL_MS): a second round of probes reaches the database */
const LINK_CACHE_TTL_MS = 1000;

let servers: PrivateServers;
let s3: S3Emulator;
let relay: StallRelay;
let stack: Stack;
let fixture: { albumId: string; key: string; assetId: string };

beforeAll(async () => {
  servers = await startPrivateServers({ postgres: true, redis: true });
  s3 = await startS3Emulator();
  const bucket = await s3.bucket('immish-stall');
  relay = await startStallRelay(Number(new URL(bucket.endpoint!).port));
  stack = await startStack([], {
    databaseUrl: servers.postgres!.databaseUrl,
    redisUrl: servers.redis!.url,
    outputLimit: 100_000,
    env: {
      STORAGE_DRIVER: 's3',
      S3_BUCKET: bucket.bucket,
      S3_ENDPOINT: relay.url,
      S3_ACCESS_KEY_ID: bucket.accessKeyId!,
      S3_SECRET_ACCESS_KEY: bucket.secretAccessKey!,
      S3_FORCE_PATH_STYLE: 'true',
      S3_CHECKSUM_MODE: 'WHEN_REQUIRED',
      INGEST_CONCURRENCY: '1',
      LINK_CACHE_TTL_MS: String(LINK_CACHE_TTL_MS),
    },
  });
  for (const s of ['links-api', 'share-gateway', 'ingest-worker', 'export-worker'] as const) await stack.start(s);

  const api = ownerApi(stack);
  const album = await api('/api/albums', { method: 'POST', body: JSON.stringify({ albumName: 'Stall' }) });
  const albumId = ((await album.json()) as { id: string }).id;
  const form = photoForm(await jpeg(1), 'first.jpg', true);
  const up = await api('/api/assets', { method: 'POST', body: form });
  expect(up.status).toBe(201);
  const assetId = ((await up.json()) as { id: string }).id;
  await poll(async () => ((await assetStatus(assetId)) === 'ready' ? true : undefined), 'the first photo ingested');
  expect(
    (await api(`/api/albums/${albumId}/assets`, { method: 'PUT', body: JSON.stringify({ ids: [assetId] }) })).status,
  ).toBe(200);
  const link = await api('/api/shared-links', {
    method: 'POST',
    body: JSON.stringify({ type: 'ALBUM', albumId, allowUpload: true, allowDownload: true, showMetadata: true }),
  });
  expect(link.status).toBe(201);
  fixture = { albumId, key: ((await link.json()) as { key: string }).key, assetId };
}, 180_000);

afterEach(() => {
  // whatever happened in the test: nothing stays frozen
  servers?.postgres?.thaw();
  servers?.redis?.thaw();
  relay?.resume();
});

afterAll(async () => {
  await stack?.stop();
  await relay?.close();
  await s3?.close();
  await servers?.close();
});

async function assetStatus(id: string): Promise<string | undefined> {
  const row = await stack.tdb.db.selectFrom('assets').select('status').where('id', '=', id).executeTakeFirst();
  return row?.status;
}

function photoForm(photo: Buffer, name: string, immichFields: boolean): FormData {
  const form = new FormData();
  if (immichFields) {
    form.append('deviceAssetId', name);
    form.append('deviceId', 'stall-test');
    form.append('fileCreatedAt', '2024-01-02T03:04:05.000Z');
    form.append('fileModifiedAt', '2024-01-02T03:04:05.000Z');
  }
  form.append(immichFields ? 'assetData' : 'files', new Blob([new Uint8Array(photo)], { type: 'image/jpeg' }), name);
  return form;
}

/** A photo no earlier request sent (its own checksum, so it is never a duplicate). */
const freshPhoto = () => jpeg(randomBytes(1)[0]! + Math.floor(Math.random() * 1e6));

interface Probe {
  name: string;
  /** what the request sends, made before the client's clock starts (a generated photo) */
  prepare?: () => Promise<FormData>;
  send(signal: AbortSignal, body?: FormData): Promise<Response>;
}

interface Answer {
  probe: string;
  status: number;
  retryAfter: string | null;
  body: string;
  /** the client's deadline ran out: no answer */
  aborted: boolean;
}

function probes(): Probe[] {
  const api = ownerApi(stack);
  const gw = (path: string, init: RequestInit = {}) => fetch(`${stack.gatewayUrl}${path}`, init);
  const json = (body: unknown) => ({
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const { albumId, key, assetId } = fixture;
  // readiness on the public port and the detailed one and the metrics on the internal port (the workers' only one)
  const health = [...stack.procs.values()].flatMap<Probe>((p) => [
    {
      name: `${p.name} GET /health/ready`,
      send: (signal) => fetch(`http://127.0.0.1:${p.port}/health/ready`, { signal }),
    },
    ...(p.opsPort !== p.port
      ? [
          {
            name: `${p.name} internal GET /health/ready`,
            send: (signal: AbortSignal) => fetch(`http://127.0.0.1:${p.opsPort}/health/ready`, { signal }),
          },
        ]
      : []),
    {
      name: `${p.name} internal GET /metrics`,
      send: (signal) => fetch(`http://127.0.0.1:${p.opsPort}/metrics`, { signal }),
    },
  ]);
  return [
    { name: 'links-api GET /api/shared-links', send: (signal) => api('/api/shared-links', { signal }) },
    { name: 'links-api GET /api/albums/:id', send: (signal) => api(`/api/albums/${albumId}`, { signal }) },
    {
      name: 'links-api POST /api/shared-links',
      send: (signal) =>
        api('/api/shared-links', { method: 'POST', body: JSON.stringify({ type: 'ALBUM', albumId }), signal }),
    },
    {
      name: 'links-api POST /api/assets',
      prepare: async () => photoForm(await freshPhoto(), 'stall.jpg', true),
      send: (signal, body) => api('/api/assets', { method: 'POST', body: body!, signal }),
    },
    {
      name: 'links-api POST /api/exports',
      send: (signal) => api('/api/exports', { method: 'POST', body: JSON.stringify({ albumId }), signal }),
    },
    {
      name: 'links-api GET /api/assets/:id/thumbnail',
      send: (signal) => api(`/api/assets/${assetId}/thumbnail`, { signal }),
    },
    {
      name: 'share-gateway GET /api/shared-links/me',
      send: (signal) => gw(`/api/shared-links/me?key=${key}`, { signal }),
    },
    { name: 'share-gateway GET /share/:key (page)', send: (signal) => gw(`/share/${key}`, { signal }) },
    {
      name: 'share-gateway GET /share/:key/assets/:id/thumbnail',
      send: (signal) => gw(`/share/${key}/assets/${assetId}/thumbnail`, { signal }),
    },
    {
      name: 'share-gateway POST /share/:key/uploads',
      prepare: async () => photoForm(await freshPhoto(), 'guest.jpg', false),
      send: (signal, body) => gw(`/share/${key}/uploads`, { method: 'POST', body: body!, signal }),
    },
    {
      name: 'share-gateway POST /share/:key/exports',
      send: (signal) => gw(`/share/${key}/exports`, { ...json({}), signal }),
    },
    ...health,
  ];
}

async function ask(probe: Probe): Promise<Answer> {
  const payload = await probe.prepare?.();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CLIENT_DEADLINE_MS);
  try {
    const res = await probe.send(controller.signal, payload);
    const body = await res.text();
    return { probe: probe.name, status: res.status, retryAfter: res.headers.get('retry-after'), body, aborted: false };
  } catch (err) {
    if (controller.signal.aborted) return { probe: probe.name, status: 0, retryAfter: null, body: '', aborted: true };
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** What a probe may answer while a backing service stalls: success, or 503 + Retry-After in the error shape. */
function acceptableDuringStall(a: Answer): boolean {
  if (a.aborted) return false;
  if (a.status >= 200 && a.status < 300) return true;
  if (a.status !== 503 || a.retryAfter === null) return false;
  if (a.probe.endsWith('/health/ready')) return true; // readiness answers in its own shape
  try {
    const body = JSON.parse(a.body) as Record<string, unknown>;
    return body.statusCode === 503 && typeof body.message === 'string' && typeof body.correlationId === 'string';
  } catch {
    return false;
  }
}

/** Every probe once, all at once. */
const round = () => Promise.all(probes().map(ask));

/** After the thaw: each probe is retried until it succeeds; every attempt must start within 2 s of the thaw. */
async function recovered(thawedAt: number): Promise<{ probe: string; last: Answer }[]> {
  const failures: { probe: string; last: Answer }[] = [];
  await Promise.all(
    probes().map(async (probe) => {
      let last = await ask(probe);
      while (!(last.status >= 200 && last.status < 300) && Date.now() - thawedAt < CLIENT_DEADLINE_MS) {
        await new Promise((r) => setTimeout(r, 100));
        last = await ask(probe);
      }
      if (!(last.status >= 200 && last.status < 300)) failures.push({ probe: probe.name, last });
    }),
  );
  return failures;
}

/**
 * Uploads a large photo and waits until the ingest worker is decoding it, so the stall meets a job in flight
 * (it must come back to the queue without spending an attempt, and finish after the stall).
 */
async function ingestUnderWay(): Promise<void> {
  const up = await ownerApi(stack)('/api/assets', {
    method: 'POST',
    body: photoForm(await noisyJpeg(2400, 1600), 'in-flight.jpg', true),
  });
  expect(up.status).toBe(201);
  const id = ((await up.json()) as { id: string }).id;
  await poll(async () => ((await assetStatus(id)) !== 'uploaded' ? true : undefined), 'its ingest to start');
}

/**
 * With an ingest under way, freezes `what`, probes right away (caches still warm) and again past the link
 * cache's TTL, thaws, checks the recovery, and returns every answer given during the stall.
 */
async function stallAndProbe(freeze: () => void, thaw: () => void): Promise<Answer[]> {
  await ingestUnderWay();
  const answers: Answer[] = [];
  freeze();
  try {
    answers.push(...(await round()));
    await new Promise((r) => setTimeout(r, LINK_CACHE_TTL_MS + 200));
    answers.push(...(await round()));
  } finally {
    thaw();
  }
  const thawedAt = Date.now();
  expect(await recovered(thawedAt)).toEqual([]);
  return answers;
}

const summary = (answers: Answer[]) =>
  answers
    .filter((a) => !acceptableDuringStall(a))
    .map((a) => ({
      probe: a.probe,
      status: a.aborted ? 'no answer within 2 s' : a.status,
      body: a.body.slice(0, 300),
    }));

/** Nothing accepted is lost, nothing half-written: each row has its event, every event is delivered. */
async function nothingLost(): Promise<void> {
  const { db } = stack.tdb;
  await poll(async () => {
    const { n } = await db
      .selectFrom('outbox_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('published_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(n) === 0 ? true : undefined;
  }, 'every outbox event to be delivered');
  const orphans = await sql<{ what: string; id: string }>`
    SELECT 'asset without asset.stored' AS what, a.id::text AS id FROM assets a
      WHERE NOT EXISTS (SELECT 1 FROM outbox_events e WHERE e.type = 'asset.stored' AND e.aggregate_id = a.id)
    UNION ALL
    SELECT 'link without shared-link.created', l.id::text FROM shared_links l
      WHERE NOT EXISTS (SELECT 1 FROM outbox_events e WHERE e.type = 'shared-link.created' AND e.aggregate_id = l.id)
    UNION ALL
    SELECT 'export without export.requested', x.id::text FROM exports x
      WHERE NOT EXISTS (SELECT 1 FROM outbox_events e WHERE e.type = 'export.requested' AND e.aggregate_id = x.id)
  `.execute(db);
  expect(orphans.rows).toEqual([]);
  const settled = await poll(async () => {
    const assets = await db.selectFrom('assets').select(['id', 'status', 'error']).execute();
    const exports = await db.selectFrom('exports').select(['id', 'status', 'error']).execute();
    const all = [...assets, ...exports];
    return all.every((r) => r.status === 'ready' || r.status === 'failed') ? all : undefined;
  }, 'every accepted upload and export to be finished');
  expect(settled.filter((r) => r.status !== 'ready')).toEqual([]);
  for (const p of stack.procs.values()) {
    expect({ name: p.name, exitCode: p.child.exitCode }).toEqual({ name: p.name, exitCode: null });
    expect(logLines(p).filter((l) => l.msg === 'job failed' || l.msg === 'unhandled error')).toEqual([]);
  }
}

describe('a stalled backing service', () => {
  it('PostgreSQL frozen: every request answers within the deadline, then everything works again and nothing is lost', async () => {
    const answers = await stallAndProbe(
      () => servers.postgres!.freeze(),
      () => servers.postgres!.thaw(),
    );
    expect(summary(answers)).toEqual([]);
    // a frozen database cannot be written: the owner API's writes were refused (not hung, not half-written)
    expect(answers.filter((a) => a.probe === 'links-api POST /api/shared-links').map((a) => a.status)).toContain(503);
    await nothingLost();
  });

  it('Redis frozen: every request answers within the deadline, then everything works again and nothing is lost', async () => {
    const answers = await stallAndProbe(
      () => servers.redis!.freeze(),
      () => servers.redis!.thaw(),
    );
    expect(summary(answers)).toEqual([]);
    // writes go through the outbox: Redis is not needed to accept them
    expect(answers.filter((a) => a.probe === 'links-api POST /api/shared-links').map((a) => a.status)).toEqual([
      201, 201,
    ]);
    await nothingLost();
  });

  it('S3 stalled: every request answers within the deadline, then everything works again and nothing is lost', async () => {
    const answers = await stallAndProbe(
      () => relay.stall(),
      () => relay.resume(),
    );
    expect(summary(answers)).toEqual([]);
    expect(answers.filter((a) => a.probe === 'links-api POST /api/assets').map((a) => a.status)).toContain(503);
    await nothingLost();
  });
});
