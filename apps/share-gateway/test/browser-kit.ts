import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AssetRow } from '@immish/db';
import { startExportWorker } from '@immish/export-worker';
import { renderDerivatives } from '@immish/media';
import { createLogger } from '@immish/runtime';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { type Browser, chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import type { GatewayHarness } from './harness.ts';

/**
 * Helpers of the share page's real-browser tests: Debian's headless Chromium driven by playwright-core,
 * photos that look like photos (so screenshots can be judged), and screenshots under test-results/.
 */

export const CHROMIUM_PATH = '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Chromium, or a failure saying what is missing: these tests never skip (CI installs the browser). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The share page browser tests need Chromium at ${CHROMIUM_PATH} (Debian: apt-get install chromium); it is missing.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SCREENSHOT_DIR = join(repoRoot, 'test-results', 'screenshots', 'share-page');

/** Saves a screenshot (full page unless told) as a test artifact (test-results/ is gitignored). */
export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: opts.fullPage ?? true });
  return path;
}

/** Starts the harness's gateway on a free port of the loopback interface. */
export async function listen(h: GatewayHarness): Promise<string> {
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  return `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
}

const PALETTES: [string, string, string][] = [
  ['#1e3c72', '#2a5298', '#ffd166'],
  ['#ff7e5f', '#feb47b', '#fff3b0'],
  ['#134e5e', '#71b280', '#f1faee'],
  ['#42275a', '#734b6d', '#f6bd60'],
  ['#0f2027', '#2c5364', '#e9c46a'],
  ['#cb356b', '#bd3f32', '#ffe8d6'],
  ['#3a6186', '#89253e', '#f4a261'],
  ['#16222a', '#3a6073', '#a8dadc'],
];

/** A landscape-like JPEG (sky gradient, sun, hills) with camera EXIF and GPS; `n` picks the colours. */
export async function photoJpeg(n: number, size = { width: 1200, height: 800 }): Promise<Buffer> {
  const [top, bottom, sun] = PALETTES[n % PALETTES.length]!;
  const { width: w, height: h } = size;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${top}"/><stop offset="1" stop-color="${bottom}"/></linearGradient></defs>
<rect width="${w}" height="${h}" fill="url(#sky)"/>
<circle cx="${w * (0.25 + 0.1 * (n % 5))}" cy="${h * 0.35}" r="${h * 0.12}" fill="${sun}"/>
<path d="M0 ${h * 0.75} Q ${w * 0.25} ${h * 0.55} ${w * 0.5} ${h * 0.72} T ${w} ${h * 0.65} V ${h} H 0 Z" fill="#000" opacity="0.35"/>
<path d="M0 ${h * 0.85} Q ${w * 0.3} ${h * 0.75} ${w * 0.6} ${h * 0.88} T ${w} ${h * 0.8} V ${h} H 0 Z" fill="#000" opacity="0.5"/>
</svg>`;
  return sharp(Buffer.from(svg))
    .jpeg({ quality: 82 })
    .withExif({
      IFD0: { Make: 'Fujifilm', Model: 'X100V', ImageDescription: `Evening ${n}` },
      IFD2: { DateTimeOriginal: `2026:07:${String(10 + (n % 18)).padStart(2, '0')} 19:04:05`, LensModel: '23mm F2' },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '43/1 41/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '7/1 15/1 0/1' },
    })
    .toBuffer();
}

interface RenderedPhoto {
  bytes: Buffer;
  thumbnail: Buffer;
  preview: Buffer;
  thumbhash: Buffer;
  width: number;
  height: number;
}

/** A photo and its derivatives, made by @immish/media as the ingest worker makes them. */
async function renderPhoto(n: number, size?: { width: number; height: number }): Promise<RenderedPhoto> {
  const bytes = await photoJpeg(n, size);
  const dir = await mkdtemp(join(tmpdir(), 'immish-photo-'));
  try {
    const file = join(dir, 'photo.jpg');
    await writeFile(file, bytes);
    const d = await renderDerivatives(file);
    return { bytes, ...d };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Stores a rendered photo as a ready asset of the harness owner, EXIF columns filled. */
async function insertPhoto(h: GatewayHarness, storage: BlobStore, n: number, photo: RenderedPhoto): Promise<AssetRow> {
  const id = randomUUID();
  const prefix = `assets/${h.owner.id}/${id}`;
  await storage.put(`${prefix}/original.jpg`, photo.bytes);
  await storage.put(`${prefix}/thumbnail.webp`, photo.thumbnail);
  await storage.put(`${prefix}/preview.jpg`, photo.preview);
  const taken = new Date(Date.UTC(2026, 6, 10 + (n % 18), 19, 4, n % 60));
  return h.tdb.db
    .insertInto('assets')
    .values({
      id,
      owner_id: h.owner.id,
      type: 'IMAGE',
      original_file_name: `DSCF${String(1000 + n)}.JPG`,
      mime_type: 'image/jpeg',
      size: photo.bytes.length,
      checksum: createHash('sha1').update(photo.bytes).digest(),
      original_key: `${prefix}/original.jpg`,
      thumbnail_key: `${prefix}/thumbnail.webp`,
      preview_key: `${prefix}/preview.jpg`,
      width: photo.width,
      height: photo.height,
      thumbhash: photo.thumbhash,
      file_created_at: taken,
      file_modified_at: taken,
      local_date_time: taken,
      exif_make: 'Fujifilm',
      exif_model: 'X100V',
      exif_lens_model: '23mm F2',
      exif_exposure_time: '1/250',
      exif_f_number: 5.6,
      exif_focal_length: 23,
      exif_iso: 160,
      exif_date_time_original: taken,
      exif_latitude: 43.68333,
      exif_longitude: 7.25,
      exif_description: `Evening ${n}`,
      status: 'ready',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A ready photo of the harness owner with real derivatives (thumbnail, preview, thumbhash). */
export async function addPhoto(
  h: GatewayHarness,
  storage: BlobStore,
  n: number,
  size?: { width: number; height: number },
): Promise<AssetRow> {
  return insertPhoto(h, storage, n, await renderPhoto(n, size));
}

/**
 * Many small photos quickly: the palettes are rendered once and reused, with a random tail after the JPEG's
 * end marker so each original (and checksum) is unique.
 */
export async function addManyPhotos(h: GatewayHarness, storage: BlobStore, count: number): Promise<AssetRow[]> {
  const variants: RenderedPhoto[] = [];
  for (let i = 0; i < PALETTES.length; i++) variants.push(await renderPhoto(i, { width: 360, height: 240 }));
  const rows: AssetRow[] = [];
  for (let n = 0; n < count; n++) {
    const v = variants[n % variants.length]!;
    rows.push(await insertPhoto(h, storage, n, { ...v, bytes: Buffer.concat([v.bytes, randomBytes(16)]) }));
  }
  return rows;
}

/** An fs BlobStore over the harness's storage directory (the harness keeps its own private). */
export const harnessStorage = (h: GatewayHarness): BlobStore => createBlobStore({ driver: 'fs', root: h.storageRoot });

/** Polls `check` until it returns a value (not undefined/false), or fails after `timeoutMs` with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A ready VIDEO asset of the harness owner: `original` (an MP4 made by ffmpeg in the test), its poster frames
 * rendered from photo `n`, and optionally a web-playable `rendition` beside it (rendition_status 'ready').
 */
export async function addVideo(
  h: GatewayHarness,
  storage: BlobStore,
  n: number,
  video: { original: Buffer; rendition?: Buffer; seconds: number; fileName?: string },
): Promise<AssetRow> {
  const still = await renderPhoto(n, { width: 320, height: 240 });
  const id = randomUUID();
  const prefix = `assets/${h.owner.id}/${id}`;
  await storage.put(`${prefix}/original.mp4`, video.original);
  await storage.put(`${prefix}/thumbnail.webp`, still.thumbnail);
  await storage.put(`${prefix}/preview.jpg`, still.preview);
  if (video.rendition) await storage.put(`${prefix}/rendition.mp4`, video.rendition);
  const taken = new Date(Date.UTC(2026, 6, 10 + (n % 18), 20, 0, n % 60));
  return h.tdb.db
    .insertInto('assets')
    .values({
      id,
      owner_id: h.owner.id,
      type: 'VIDEO',
      original_file_name: video.fileName ?? `VID_${String(2000 + n)}.mp4`,
      mime_type: 'video/mp4',
      size: video.original.length,
      checksum: createHash('sha1').update(video.original).digest(),
      original_key: `${prefix}/original.mp4`,
      thumbnail_key: `${prefix}/thumbnail.webp`,
      preview_key: `${prefix}/preview.jpg`,
      width: 320,
      height: 240,
      thumbhash: still.thumbhash,
      duration: String(video.seconds * 1000),
      file_created_at: taken,
      file_modified_at: taken,
      local_date_time: taken,
      status: 'ready',
      ...(video.rendition
        ? { rendition_key: `${prefix}/rendition.mp4`, rendition_status: 'ready' as const, rendition_progress: 100 }
        : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations of the page as it is now (evaluated through CDP: CSP allows it).
 * axe is put in a document once (parsing its 500 KB cost ~160 ms each time here; screens with several dialogs
 * scan one document several times).
 */
export async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(`typeof axe !== 'undefined'`))) await page.evaluate(`${axeSource};0`);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: { id: string; impact: string | null; nodes: { target: unknown }[] }[];
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${JSON.stringify(v.nodes.map((n) => n.target))}`);
}

/** The two viewports every share page state is checked at: a phone (touch) and a desktop. */
export const VIEWPORTS = {
  phone: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, deviceScaleFactor: 2 },
  desktop: { viewport: { width: 1280, height: 800 }, hasTouch: false, isMobile: false, deviceScaleFactor: 1 },
} as const;

/**
 * The real export worker on the harness's queue and storage (one archive at a time, no read throttle), for the
 * browser tests that download zips; returns its close.
 */
export async function startTestExportWorker(h: GatewayHarness, storage: BlobStore, service: string) {
  const worker = await startExportWorker({
    config: {
      REDIS_URL: h.redisUrl,
      QUEUE_PREFIX: h.prefix,
      EXPORT_CONCURRENCY: 1,
      EXPORT_TTL_HOURS: 24,
      EXPORT_CLEANUP_INTERVAL_MS: 3_600_000,
      EXPORT_LOCK_DURATION_MS: 30_000,
      EXPORT_READ_BYTES_PER_SECOND: 0,
    },
    db: h.tdb.db,
    storage,
    logger: createLogger({ service, level: 'silent' }),
  });
  return () => worker.close();
}
