import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DomainEvent } from '@immish/contracts';
import { detectMediaTools, type MediaTools } from '@immish/media';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVideo } from '../../../packages/media/test/phone-fixtures.ts';
import { processIngestJob } from '../../ingest-worker/src/processor.ts';
import { processRenditionJob } from '../../ingest-worker/src/renditions.ts';
import { assetForm } from '../../ingest-worker/test/http-helpers.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/** Owner side of video playback (Immich's `GET /api/assets/:id/video/playback`): README "Formats". */

let h: LinksApiHarness;
let storage: BlobStore;
let owner: TestUser;
let other: TestUser;
let tools: MediaTools;
let work: string;

beforeAll(async () => {
  h = await startLinksApi();
  storage = createBlobStore({ driver: 'fs', root: h.storageRoot });
  owner = await h.newUser('owner');
  other = await h.newUser('other');
  tools = await detectMediaTools();
  work = mkdtempSync(join(tmpdir(), 'immish-playback-'));
});
afterAll(async () => {
  await storage?.close();
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

async function uploadVideo(name: string, codec: 'libx264' | 'libx265'): Promise<{ id: string; bytes: Buffer }> {
  makeVideo(join(work, name), { codec, colour: 'gray', seconds: 1 });
  const bytes = readFileSync(join(work, name));
  const form = assetForm(bytes, name);
  const res = await h.app.inject({
    method: 'POST',
    url: '/api/assets',
    headers: { ...owner.headers, ...form.headers },
    payload: form.payload,
  });
  expect(res.statusCode).toBe(201);
  const id = res.json().id as string;
  const event = await h.tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'asset.stored')
    .where('aggregate_id', '=', id)
    .executeTakeFirstOrThrow();
  await processIngestJob(event.payload as DomainEvent, {
    db: h.tdb.db,
    storage,
    maxPixels: 100_000_000,
    keepFailedOriginals: true,
    tools,
  });
  return { id, bytes };
}

const playback = (id: string, user: TestUser, headers: Record<string, string> = {}) =>
  h.app.inject({ url: `/api/assets/${id}/video/playback`, headers: { ...user.headers, ...headers } });

describe('GET /api/assets/:id/video/playback', () => {
  it('should serve a web-playable original with ranges, and refuse other users', async () => {
    const { id, bytes } = await uploadVideo('plain.mp4', 'libx264');
    const full = await playback(id, owner);
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-type']).toBe('video/mp4');
    expect(full.rawPayload.equals(bytes)).toBe(true);
    const part = await playback(id, owner, { range: 'bytes=10-19' });
    expect(part.statusCode).toBe(206);
    expect(part.rawPayload.equals(bytes.subarray(10, 20))).toBe(true);
    expect((await playback(id, other)).statusCode).toBe(400);
  });

  it('should answer 503 with the progress while an HEVC rendition is made, then serve the rendition', async () => {
    const { id } = await uploadVideo('hevc.mov', 'libx265');
    const asset = await h.app.inject({ url: `/api/assets/${id}`, headers: owner.headers });
    expect(asset.json().rendition).toEqual({ status: 'queued', progress: 0 });
    const waiting = await playback(id, owner);
    expect(waiting.statusCode).toBe(503);
    expect(waiting.headers['retry-after']).toBeDefined();
    expect(waiting.json().message).toMatch(/being converted/);

    const event = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', 'asset.rendition-requested')
      .where('aggregate_id', '=', id)
      .executeTakeFirstOrThrow();
    const progress: number[] = [];
    const outcome = await processRenditionJob(event.payload as DomainEvent, {
      db: h.tdb.db,
      storage,
      tools,
      onProgress: (p) => {
        progress.push(p);
      },
    });
    expect(outcome.outcome).toBe('ready');
    expect(progress.at(-1)).toBe(100);
    const served = await playback(id, owner);
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('video/mp4');
    expect(served.rawPayload.includes(Buffer.from('avc1'))).toBe(true);
    expect((await h.app.inject({ url: `/api/assets/${id}`, headers: owner.headers })).json().rendition).toEqual({
      status: 'ready',
      progress: 100,
    });
    // a redelivered job changes nothing
    expect((await processRenditionJob(event.payload as DomainEvent, { db: h.tdb.db, storage, tools })).outcome).toBe(
      'skipped',
    );
  });

  it('should answer 404 for a photo', async () => {
    const form = assetForm(Buffer.from('not a video at all'), 'x.jpg');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...owner.headers, ...form.headers },
      payload: form.payload,
    });
    const id = res.json().id as string;
    await h.tdb.db.updateTable('assets').set({ type: 'IMAGE' }).where('id', '=', id).execute();
    expect((await playback(id, owner)).statusCode).toBe(404);
  });
});
