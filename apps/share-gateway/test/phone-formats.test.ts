/**
 * Phone formats on the recipient side (issue 16): HEIC photos and MOV/MP4 videos ingested by the real worker
 * (heif-convert, ffprobe/ffmpeg, renditions), then served by the gateway. A link that hides metadata serves their
 * originals (200, not 403) and exports them, stripped losslessly: exiftool finds no GPS, make, model or
 * description, and the files still decode. The share page plays a rendition in Chromium and a Live Photo's motion
 * on hover.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { ExportJobData } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { receiveUpload } from '@immish/domain';
import { processExportJob } from '@immish/export-worker';
import { startIngestWorker } from '@immish/ingest-worker';
import { createMetadataStripper, detectMediaTools, type MediaTools } from '@immish/media';
import { createLogger } from '@immish/runtime';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addIrot,
  addSecrets,
  appleExif,
  heifEnc,
  leakedSecrets,
  makeVideo,
  run,
  twoColourJpeg,
} from '../../../packages/media/test/phone-fixtures.ts';
import { unlockCookieName } from '../src/unlock.ts';
import { launchChromium, listen, screenshot } from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

const logger = createLogger({ service: 'phone-test', level: 'silent' });
let h: GatewayHarness;
let work: string;
let tools: MediaTools;
let stopIngest: () => Promise<void>;
const assets: Record<'heic' | 'motion' | 'mp4' | 'hevc', AssetRow> = {} as never;
const files: Record<string, Buffer> = {};

const CID = '7A1E55D2-0000-4000-8000-00000000CAFE';

beforeAll(async () => {
  h = await startGateway({ LINK_CACHE_TTL_MS: '0' });
  work = mkdtempSync(join(tmpdir(), 'immish-phone-gateway-'));
  tools = await detectMediaTools();

  const jpeg = join(work, 'still.jpg');
  writeFileSync(jpeg, await twoColourJpeg(400, 300, [220, 30, 30], [30, 30, 220], appleExif(CID, 6)));
  const heic = join(work, 'IMG_0042.HEIC');
  heifEnc(heic, [jpeg]);
  addIrot(heic, 3);
  addSecrets(heic);
  files.heic = readFileSync(heic);
  for (const [name, options] of [
    ['IMG_0042.MOV', { codec: 'libx265', colour: '0x2040d0', seconds: 2, contentIdentifier: CID }],
    ['beach.mp4', { codec: 'libx264', colour: '0xd04020', seconds: 2, rotate: 90 }],
    ['party.mov', { codec: 'libx265', colour: '0x20b040', seconds: 3 }],
  ] as const) {
    makeVideo(join(work, name), options);
    files[name] = readFileSync(join(work, name));
  }

  const relay = h.startRelay();
  const worker = startIngestWorker({
    config: {
      REDIS_URL: h.redisUrl,
      QUEUE_PREFIX: h.prefix,
      INGEST_CONCURRENCY: 2,
      INGEST_MAX_PIXELS: 100_000_000,
      INGEST_KEEP_FAILED_ORIGINALS: true,
    },
    db: h.tdb.db,
    storage: h.storage,
    logger,
    tempDir: work,
    tools,
  });
  stopIngest = async () => {
    await worker.close();
    await relay.stop();
  };
  const upload = async (bytes: Buffer, fileName: string) =>
    (
      await receiveUpload(
        { db: h.tdb.db, storage: h.storage },
        {
          ownerId: h.owner.id,
          actor: { type: 'user', id: h.owner.id },
          file: Readable.from(bytes),
          metadata: { fileName, fileCreatedAt: new Date(), fileModifiedAt: new Date() },
          maxFileBytes: 100_000_000,
        },
      )
    ).assetId;
  const ids = {
    heic: await upload(files.heic, 'IMG_0042.HEIC'),
    motion: await upload(files['IMG_0042.MOV']!, 'IMG_0042.MOV'),
    mp4: await upload(files['beach.mp4']!, 'beach.mp4'),
    hevc: await upload(files['party.mov']!, 'party.mov'),
  };
  const row = (id: string) => h.tdb.db.selectFrom('assets').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  // ingest and renditions done (a plain loop: expect.poll belongs inside tests)
  const deadline = Date.now() + 120_000;
  for (;;) {
    const rows = await Promise.all(Object.values(ids).map(row));
    if (rows.every((r) => r.status === 'ready' && (r.rendition_status === null || r.rendition_status === 'ready')))
      break;
    if (rows.some((r) => r.status === 'failed' || r.rendition_status === 'failed') || Date.now() > deadline) {
      const states = rows.map((r) => [r.original_file_name, r.status, r.error, r.rendition_status, r.rendition_error]);
      throw new Error(`ingest did not finish: ${JSON.stringify(states)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  for (const [name, id] of Object.entries(ids)) assets[name as keyof typeof assets] = await row(id);
}, 180_000);

afterAll(async () => {
  await stopIngest?.();
  await h?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function saved(name: string, bytes: Buffer): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

async function stripped(mime: string, bytes: Buffer): Promise<Buffer> {
  return buffer(Readable.from([bytes]).pipe(createMetadataStripper(mime)!));
}

describe('ingested phone formats', () => {
  it('should have paired the Live Photo and made a rendition for each HEVC video only', () => {
    expect(assets.heic.live_photo_video_id).toBe(assets.motion.id);
    expect(assets.motion.visibility).toBe('hidden');
    expect(assets.motion.rendition_status).toBe('ready');
    expect(assets.hevc.rendition_status).toBe('ready');
    expect(assets.mp4.rendition_status).toBeNull();
    expect(assets.mp4.duration).toBe('2000');
  });
});

describe('a link that hides metadata', () => {
  it('should serve HEIC, MOV and MP4 originals (200) stripped of GPS, make, model and description, still decodable', async () => {
    const link = await h.createLink({
      assetIds: [assets.heic.id, assets.mp4.id, assets.hevc.id],
      showMetadata: false,
    });
    for (const [asset, original, ext] of [
      [assets.heic, files.heic, 'heic'],
      [assets.mp4, files['beach.mp4']!, 'mp4'],
      [assets.hevc, files['party.mov']!, 'mov'],
    ] as const) {
      if (!original) throw new Error('fixture missing');
      const res = await h.app.inject(`/share/${link.key}/assets/${asset.id}/original`);
      expect(res.statusCode, `${ext}: ${res.body.slice(0, 200)}`).toBe(200);
      expect(res.headers['content-disposition']).toContain(`${asset.id}.${ext}`);
      expect(res.rawPayload.length).toBe(original.length); // nothing moved: same length
      const path = saved(`served.${ext}`, res.rawPayload);
      expect(leakedSecrets(path), ext).toEqual([]);
      if (ext === 'heic') {
        run('heif-convert', [path, join(work, 'served.png')]);
      } else {
        run('ffmpeg', ['-v', 'error', '-i', path, '-frames:v', '10', '-f', 'null', '-']);
        // rotation kept (the MP4 carries a display matrix)
        const rotate = (file: string) =>
          run('ffprobe', ['-v', 'error', '-show_streams', '-select_streams', 'v:0', '-of', 'json', file]).toString();
        expect(/"rotation": (-?\d+)/.exec(rotate(path))?.[1]).toBe(
          /"rotation": (-?\d+)/.exec(rotate(saved(`orig.${ext}`, original)))?.[1],
        );
      }
    }
    // the page names no file and shows no EXIF
    const page = await h.app.inject(`/share/${link.key}/photos/${assets.heic.id}`);
    expect(page.body).not.toMatch(/IMG_0042|PhoneMakeSecret|52\.5/);
  });

  it('should play a stripped web-playable original with byte ranges, and the rendition of an HEVC one', async () => {
    const link = await h.createLink({ assetIds: [assets.mp4.id, assets.hevc.id], showMetadata: false });
    const whole = await stripped('video/mp4', files['beach.mp4']!);
    const full = await h.app.inject(`/share/${link.key}/assets/${assets.mp4.id}/video`);
    expect(full.statusCode).toBe(200);
    expect(full.rawPayload.equals(whole)).toBe(true);
    const etag = full.headers.etag as string;
    const part = await h.app.inject({
      url: `/share/${link.key}/assets/${assets.mp4.id}/video`,
      headers: { range: 'bytes=100-4099', 'if-range': etag },
    });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-4099/${whole.length}`);
    expect(part.rawPayload.equals(whole.subarray(100, 4100))).toBe(true);
    const tail = await h.app.inject({
      url: `/share/${link.key}/assets/${assets.mp4.id}/video`,
      headers: { range: 'bytes=-500' },
    });
    expect(tail.rawPayload.equals(whole.subarray(whole.length - 500))).toBe(true);
    expect(
      (
        await h.app.inject({
          url: `/share/${link.key}/assets/${assets.mp4.id}/video`,
          headers: { 'if-none-match': etag },
        })
      ).statusCode,
    ).toBe(304);

    const rendition = await h.app.inject(`/share/${link.key}/assets/${assets.hevc.id}/video`);
    expect(rendition.statusCode).toBe(200);
    expect(rendition.headers['content-type']).toBe('video/mp4');
    const path = saved('rendition.mp4', rendition.rawPayload);
    expect(leakedSecrets(path)).toEqual([]);
    expect(run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', path]).toString()).toContain('"h264"');

    // the motion of a Live Photo is reachable only through a still the link shows
    const other = await h.createLink({ assetIds: [assets.mp4.id] });
    expect((await h.app.inject(`/share/${other.key}/assets/${assets.motion.id}/video`)).statusCode).toBe(400);
    const live = await h.createLink({ assetIds: [assets.heic.id] });
    expect((await h.app.inject(`/share/${live.key}/assets/${assets.heic.id}/video`)).statusCode).toBe(200);
    expect((await h.app.inject(`/api/assets/${assets.motion.id}/video/playback?key=${live.key}`)).statusCode).toBe(200);
  });

  it('should export the HEIC, its Live Photo motion and the videos stripped into the zip', async () => {
    const link = await h.createLink({ assetIds: [assets.heic.id, assets.mp4.id], showMetadata: false });
    const requested = await h.app.inject({ method: 'POST', url: `/share/${link.key}/exports`, payload: {} });
    expect(requested.statusCode, requested.body).toBe(202);
    const { id } = requested.json() as { id: string };
    const job = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', id)
      .where('type', '=', 'export.requested')
      .executeTakeFirstOrThrow();
    await processExportJob(job.payload as ExportJobData, { db: h.tdb.db, storage: h.storage, logger, ttlHours: 24 });
    const dto = (await h.app.inject(`/share/${link.key}/exports/${id}`)).json();
    expect(dto.status).toBe('ready');
    expect(dto.substitutions).toEqual([]);
    const zip = await h.app.inject(dto.parts[0].downloadUrl);
    const dir = mkdtempSync(join(work, 'zip-'));
    writeFileSync(join(dir, 'a.zip'), zip.rawPayload);
    run('unzip', ['-q', join(dir, 'a.zip'), '-d', join(dir, 'x')]);
    const names = run('ls', [join(dir, 'x')])
      .toString()
      .trim()
      .split('\n')
      .sort();
    expect(names).toEqual([`${assets.heic.id}.heic`, `${assets.motion.id}.mov`, `${assets.mp4.id}.mp4`].sort());
    for (const name of names) {
      const path = join(dir, 'x', name);
      expect(leakedSecrets(path), name).toEqual([]);
      if (name.endsWith('.heic')) run('heif-convert', [path, join(dir, 'check.png')]);
      else run('ffmpeg', ['-v', 'error', '-i', path, '-frames:v', '5', '-f', 'null', '-']);
    }
  });
});

describe('/share/:key/assets/:id/video, tried by a link holder', () => {
  it('should refuse a locked link, a video the link does not show, and a forged id, naming nothing', async () => {
    const locked = await h.createLink({ assetIds: [assets.mp4.id], password: 'pw' });
    const noUnlock = await h.app.inject(`/share/${locked.key}/assets/${assets.mp4.id}/video`);
    expect(noUnlock.statusCode).toBe(401);
    expect(noUnlock.json().message).toBe('Password required');
    const forgedCookie = await h.app.inject({
      url: `/share/${locked.key}/assets/${assets.mp4.id}/video`,
      headers: { cookie: `${unlockCookieName(locked.id)}=forged` },
    });
    expect(forgedCookie.statusCode).toBe(401);

    // the owner's HEVC video exists, but this link shows only the MP4
    const open = await h.createLink({ assetIds: [assets.mp4.id] });
    const foreign = await h.app.inject({
      url: `/share/${open.key}/assets/${assets.hevc.id}/video`,
      headers: { range: 'bytes=0-9' },
    });
    expect(foreign.statusCode).toBe(400);
    expect(foreign.body).not.toContain(assets.hevc.id);
    for (const id of ['not-a-uuid', '../../etc/passwd', `${assets.mp4.id}x`]) {
      expect((await h.app.inject(`/share/${open.key}/assets/${encodeURIComponent(id)}/video`)).statusCode).toBe(400);
    }
  });
});

describe('the share page in Chromium', () => {
  let browser: Browser;
  let base: string;
  beforeAll(async () => {
    browser = await launchChromium();
    base = await listen(h);
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${base}${path}`);
    return page;
  }

  it('should play the H.264 rendition of an HEVC video: data arrives and time advances', async () => {
    const link = await h.createLink({ assetIds: [assets.hevc.id] });
    const page = await open(`/share/${link.key}/photos/${assets.hevc.id}`);
    const video = page.locator('video#viewer-media');
    await expect.poll(() => video.getAttribute('src')).toBe(`/share/${link.key}/assets/${assets.hevc.id}/video`);
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await expect
      .poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    await expect
      .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 15_000 })
      .toBeGreaterThan(0.3);
    expect(await video.evaluate((v: HTMLVideoElement) => v.error?.code ?? null)).toBeNull();
    await screenshot(page, 'phone-video-rendition');
    await page.close();
  });

  it('should show a Live Photo as its still and play the motion on hover', async () => {
    const link = await h.createLink({ assetIds: [assets.heic.id] });
    const page = await open(`/share/${link.key}/photos/${assets.heic.id}`);
    const still = page.locator('img#viewer-media');
    expect(await still.getAttribute('data-live')).toBe(`/share/${link.key}/assets/${assets.heic.id}/video`);
    await page.locator('body[data-ready="true"]').waitFor();
    await still.hover();
    const motion = page.locator('video.live-motion');
    await expect
      .poll(() => motion.evaluate((v: HTMLVideoElement) => [!v.hidden, v.readyState >= 2]), { timeout: 15_000 })
      .toEqual([true, true]);
    await expect
      .poll(() => motion.evaluate((v: HTMLVideoElement) => v.currentTime), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await screenshot(page, 'phone-live-photo');
    await page.mouse.move(0, 0);
    await expect.poll(() => motion.evaluate((v: HTMLVideoElement) => v.hidden)).toBe(true);
    await page.close();
  });
});
