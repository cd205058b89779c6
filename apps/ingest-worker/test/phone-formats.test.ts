import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { DomainEvent } from '@immish/contracts';
import { createUser, receiveUpload, toAssetResponseDto } from '@immish/domain';
import { detectMediaTools, type MediaTools } from '@immish/media';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addIrot,
  addSecrets,
  appleExif,
  heifEnc,
  makeVideo,
  meanColour,
  PLACE,
  run,
  SECRET,
  twoColourJpeg,
} from '../../../packages/media/test/phone-fixtures.ts';
import { type IngestDeps, processIngestJob } from '../src/processor.ts';
import { startInProcessIngest } from './http-helpers.ts';

let tdb: TestDatabase;
let storage: BlobStore;
let root: string;
let work: string;
let ownerId: string;
let tools: MediaTools;
let deps: IngestDeps;

beforeAll(async () => {
  tdb = await createTestDatabase();
  root = mkdtempSync(join(tmpdir(), 'immish-phone-store-'));
  work = mkdtempSync(join(tmpdir(), 'immish-phone-files-'));
  storage = createBlobStore({ driver: 'fs', root });
  ownerId = (await createUser(tdb.db, { email: 'phone@immish.test', name: 'Phone', password: 'pw' })).id;
  tools = await detectMediaTools();
  deps = { db: tdb.db, storage, maxPixels: 100_000_000, keepFailedOriginals: true, tools };
});
afterAll(async () => {
  await storage?.close();
  await tdb?.drop();
  rmSync(root, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

async function iphoneHeic(name: string, cid: string | null): Promise<Buffer> {
  const jpeg = join(work, `${name}.jpg`);
  (await import('node:fs')).writeFileSync(
    jpeg,
    await twoColourJpeg(400, 300, [220, 30, 30], [30, 30, 220], appleExif(cid, 6)),
  );
  const heic = join(work, `${name}.heic`);
  heifEnc(heic, [jpeg]);
  addIrot(heic, 3);
  addSecrets(heic);
  return readFileSync(heic);
}

function video(name: string, options: Parameters<typeof makeVideo>[1]): Buffer {
  const path = join(work, name);
  makeVideo(path, options);
  return readFileSync(path);
}

async function upload(bytes: Buffer, fileName: string): Promise<string> {
  const { assetId } = await receiveUpload(
    { db: tdb.db, storage },
    {
      ownerId,
      actor: { type: 'user', id: ownerId },
      file: Readable.from(bytes),
      metadata: { fileName, fileCreatedAt: new Date('2020-01-01'), fileModifiedAt: new Date('2020-01-01') },
      maxFileBytes: 100_000_000,
    },
  );
  return assetId;
}

const asset = (id: string) => tdb.db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

async function storedEvent(assetId: string): Promise<DomainEvent> {
  const row = await tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'asset.stored')
    .where('aggregate_id', '=', assetId)
    .executeTakeFirstOrThrow();
  return row.payload as DomainEvent;
}

describe('phone formats through the real ingest worker', () => {
  it('should ingest an iPhone HEIC, an HEVC MOV (rendition made and stored) and an H.264 MP4, and pair the Live Photo', async () => {
    const cid = '5E2D7F1A-0000-4000-8000-000000000001';
    const still = await upload(await iphoneHeic('live', cid), 'IMG_0001.HEIC');
    const motion = await upload(
      video('live.mov', { codec: 'libx265', colour: '0x2040d0', seconds: 2, contentIdentifier: cid, rotate: 90 }),
      'IMG_0001.MOV',
    );
    const clip = await upload(video('clip.mp4', { codec: 'libx264', colour: '0xd04020', seconds: 3 }), 'clip.mp4');
    const { url: redisUrl, prefix } = testRedis();
    const ingest = startInProcessIngest({ db: tdb.db, databaseUrl: tdb.url, storage, redisUrl, prefix, tools });
    try {
      await expect
        .poll(async () => [(await asset(still)).status, (await asset(motion)).status, (await asset(clip)).status], {
          timeout: 60_000,
          interval: 100,
        })
        .toEqual(['ready', 'ready', 'ready']);

      // HEIC: EXIF, displayed dimensions, an upright thumbnail of the right colours
      const heic = await asset(still);
      expect(heic).toMatchObject({ type: 'IMAGE', mime_type: 'image/heic', width: 300, height: 400 });
      expect(heic).toMatchObject({ exif_make: SECRET.make, exif_model: SECRET.model, exif_orientation: 6 });
      expect(heic.exif_latitude).toBeCloseTo(PLACE.latitude, 4);
      expect(heic.exif_longitude).toBeCloseTo(PLACE.longitude, 4);
      expect(heic.exif_date_time_original?.toISOString()).toBe('2024-05-06T05:08:09.000Z');
      expect(heic.thumbhash?.length).toBeGreaterThan(5);
      const thumb = await buffer(await storage.get(heic.thumbnail_key!));
      const top = await meanColour(thumb, { left: 0.1, top: 0.05, width: 0.8, height: 0.35 });
      expect(top[0]).toBeGreaterThan(150);
      expect(top[2]).toBeLessThan(90);

      // MOV: duration in integer ms, rotated dimensions, GPS, poster of its colour
      const mov = await asset(motion);
      expect(mov).toMatchObject({ type: 'VIDEO', mime_type: 'video/quicktime', width: 240, height: 320 });
      expect(mov.duration).toBe('2000');
      expect(mov.video_codec).toBe('hevc');
      expect(mov.exif_latitude).toBeCloseTo(PLACE.latitude, 4);
      const poster = await meanColour(await buffer(await storage.get(mov.preview_key!)));
      expect(Math.abs(poster[2] - 208)).toBeLessThan(30);

      // Live Photo: the still points at its motion, which is hidden but kept
      expect(heic.live_photo_video_id).toBe(motion);
      expect(mov.visibility).toBe('hidden');
      expect(toAssetResponseDto(heic).livePhotoVideoId).toBe(motion);

      // the HEVC MOV is not web-playable: its rendition is made, stored beside the original, recorded
      await expect
        .poll(async () => (await asset(motion)).rendition_status, { timeout: 90_000, interval: 200 })
        .toBe('ready');
      const done = await asset(motion);
      expect(done.rendition_progress).toBe(100);
      expect(done.rendition_key).toBe(done.original_key.replace(/original\.[a-z0-9]+$/, 'rendition.mp4'));
      const renditionPath = join(work, 'rendition.mp4');
      (await import('node:fs')).writeFileSync(renditionPath, await buffer(await storage.get(done.rendition_key!)));
      const probe = JSON.parse(
        run('ffprobe', [
          '-v',
          'error',
          '-print_format',
          'json',
          '-show_streams',
          '-show_format',
          renditionPath,
        ]).toString(),
      ) as { streams: Array<{ codec_name: string; width?: number; height?: number }>; format: { duration: string } };
      expect(probe.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
      const v = probe.streams.find((s) => s.codec_name === 'h264')!;
      expect([v.width, v.height]).toEqual([240, 320]); // upright, no display matrix needed
      expect(Number(probe.format.duration)).toBeCloseTo(2, 0);
      // the rendition carries no location
      expect(run('exiftool', ['-G1', '-a', renditionPath]).toString()).not.toMatch(/GPS|PhoneMakeSecret/);
      expect(toAssetResponseDto(done).rendition).toEqual({ status: 'ready', progress: 100 });

      // H.264 MP4 plays as it is: no rendition
      const mp4 = await asset(clip);
      expect(mp4).toMatchObject({ duration: '3000', video_codec: 'h264', rendition_status: null });
    } finally {
      await ingest.close();
    }
  });

  it('should pair a Live Photo whichever file arrives first, and pairing again changes nothing', async () => {
    for (const [order, cid] of [
      ['video first', '5E2D7F1A-0000-4000-8000-000000000002'],
      ['still first', '5E2D7F1A-0000-4000-8000-000000000003'],
    ] as const) {
      const still = await upload(await iphoneHeic(`pair-${cid}`, cid), `${order}.heic`);
      const motion = await upload(
        video(`pair-${cid}.mov`, { codec: 'libx264', colour: 'gray', seconds: 1, contentIdentifier: cid }),
        `${order}.mov`,
      );
      const first = order === 'video first' ? motion : still;
      const second = order === 'video first' ? still : motion;
      expect((await processIngestJob(await storedEvent(first), deps)).outcome).toBe('ready');
      expect((await asset(still)).live_photo_video_id).toBeNull();
      expect((await processIngestJob(await storedEvent(second), deps)).outcome).toBe('ready');
      expect((await asset(still)).live_photo_video_id, order).toBe(motion);
      expect((await asset(motion)).visibility, order).toBe('hidden');
      expect((await asset(still)).visibility, order).toBe('timeline');
      // a redelivered job is skipped and leaves the pair as it is
      expect((await processIngestJob(await storedEvent(second), deps)).outcome).toBe('skipped');
      expect((await asset(still)).live_photo_video_id).toBe(motion);
    }
  });

  it('should not pair files of different owners or different identifiers', async () => {
    const other = (await createUser(tdb.db, { email: 'other@immish.test', name: 'Other', password: 'pw' })).id;
    const cid = '5E2D7F1A-0000-4000-8000-000000000004';
    const still = await upload(await iphoneHeic('lonely', cid), 'lonely.heic');
    const { assetId: foreign } = await receiveUpload(
      { db: tdb.db, storage },
      {
        ownerId: other,
        actor: { type: 'user', id: other },
        file: Readable.from(
          video('foreign.mov', { codec: 'libx264', colour: 'gray', seconds: 1, contentIdentifier: cid }),
        ),
        metadata: { fileName: 'foreign.mov', fileCreatedAt: new Date(), fileModifiedAt: new Date() },
        maxFileBytes: 100_000_000,
      },
    );
    await processIngestJob(await storedEvent(foreign), deps);
    await processIngestJob(await storedEvent(still), deps);
    expect((await asset(still)).live_photo_video_id).toBeNull();
    expect((await asset(foreign)).visibility).toBe('timeline');
  });
});
