import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Derivatives, derivativesFromRaw, PREVIEW_SIZE, renderDerivatives } from './derivatives.ts';
import { MediaError } from './errors.ts';
import type { HeifPrimary } from './isobmff.ts';
import { assertPixelLimit, type ImageHeader } from './probe.ts';
import { loadSharp } from './sharp.ts';
import { type MediaTools, runTool } from './tools.ts';
import type { VideoInfo } from './video-probe.ts';

const POSTER_TIMEOUT_MS = 60_000;
const HEIF_TIMEOUT_MS = 120_000;

/**
 * Phone formats through Debian's decoders: HEIC/HEIF stills through libheif's `heif-convert`, videos through
 * `ffprobe` and `ffmpeg`. sharp still does every resize and encode (one code path for derivatives).
 */

export interface PhoneRenderOptions {
  maxPixels: number;
  tools: MediaTools;
  /** Where intermediate files go (default: the OS temp dir); removed before returning. */
  tempDir?: string;
  onPreview?: (preview: Buffer) => void;
  signal?: AbortSignal;
}

/**
 * Thumbnail, preview and thumbhash of a HEIC/HEIF: libheif decodes the primary image (applying its `irot`/`imir`,
 * so the pixels come out upright: the EXIF orientation an iPhone also writes only repeats them and is not applied a
 * second time), into a JPEG at quality 95 (the derivatives are ≤ 1440 px JPEG/WebP at quality 80, so nothing of
 * it shows), and sharp makes the derivatives from it as from any JPEG. Grid images come out whole, depth and other
 * auxiliary images are not written (no `--with-aux`), a multi-image file gives its primary image.
 */
export async function renderHeifDerivatives(
  path: string,
  primary: HeifPrimary | null,
  options: PhoneRenderOptions,
): Promise<Derivatives> {
  if (!options.tools.heifConvert) {
    throw new MediaError('UNSUPPORTED_TYPE', 'no HEIF decoder (heif-convert) is installed here');
  }
  if (primary) assertPixelLimit(primary.width, primary.height, options.maxPixels);
  const dir = join(options.tempDir ?? tmpdir(), `immish-heif-${randomUUID()}`);
  await mkdir(dir, { recursive: true });
  try {
    const out = join(dir, 'primary.jpg');
    await runTool('heif-convert', ['--quiet', '-q', '95', path, out], {
      timeoutMs: HEIF_TIMEOUT_MS,
      maxOutputBytes: 64 * 1024,
      ...(options.signal ? { signal: options.signal } : {}),
    }).catch((error: unknown) => {
      if (error instanceof MediaError) {
        throw new MediaError('CORRUPT', `the HEIF image cannot be decoded: ${error.message}`, { cause: error });
      }
      throw error;
    });
    // heif-convert numbers its outputs when the file holds several top-level images (primary-1.jpg, …)
    const written = (await readdir(dir)).filter((name) => name.endsWith('.jpg')).sort(byNumber);
    const pick =
      written.length === 1
        ? written[0]
        : (written.find((name) => name === `primary-${(primary?.topLevelIndex ?? 0) + 1}.jpg`) ?? written[0]);
    if (!pick) throw new MediaError('CORRUPT', 'the HEIF file holds no image the decoder could write');
    return await renderUpright(join(dir, pick), options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function byNumber(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * A poster frame: about one second in (past the fade-in or the black first frame many phones record), or the
 * first frame of a shorter clip. ffmpeg applies the display matrix (upright), scales to the preview bound and
 * hands over raw RGB (no PNG to encode and decode again); sharp encodes the derivatives from those pixels.
 */
export async function renderVideoPoster(
  path: string,
  info: VideoInfo,
  options: PhoneRenderOptions,
): Promise<Derivatives> {
  if (!options.tools.ffmpeg) throw new MediaError('UNSUPPORTED_TYPE', 'no video decoder (ffmpeg) is installed here');
  if (!info.width || !info.height) throw new MediaError('CORRUPT', 'the video does not say how large its picture is');
  assertPixelLimit(info.width, info.height, options.maxPixels);
  // the frame's size once scaled to fit the preview bound (never enlarged), even numbers for the scaler
  const scale = Math.min(1, PREVIEW_SIZE / Math.max(info.width, info.height));
  const width = Math.max(2, Math.round((info.width * scale) / 2) * 2);
  const height = Math.max(2, Math.round((info.height * scale) / 2) * 2);
  const frameBytes = width * height * 3;
  const at = info.durationSeconds !== null && info.durationSeconds >= 2 ? 1 : 0;
  const frame = async (seek: number) =>
    (
      await runTool(
        'ffmpeg',
        [
          '-nostdin',
          '-v',
          'error',
          ...(seek > 0 ? ['-ss', String(seek)] : []),
          '-i',
          path,
          '-map',
          '0:v:0',
          '-frames:v',
          '1',
          '-an',
          '-sn',
          '-vf',
          `scale=${width}:${height}:flags=bicubic,format=rgb24`,
          '-f',
          'rawvideo',
          '-',
        ],
        {
          timeoutMs: POSTER_TIMEOUT_MS,
          maxOutputBytes: frameBytes,
          ...(options.signal ? { signal: options.signal } : {}),
        },
      )
    ).stdout;
  let pixels = await frame(at);
  if (pixels.length === 0 && at > 0) pixels = await frame(0); // a seek past the last key frame of a short clip
  if (pixels.length !== frameBytes) throw new MediaError('CORRUPT', 'no frame of the video could be decoded');
  const derivatives = await derivativesFromRaw(pixels, width, height, options.onPreview);
  return { ...derivatives, width: info.width, height: info.height };
}

/** Derivatives of an image that is already upright (its EXIF orientation, if any, is not applied again). */
async function renderUpright(input: string | Buffer, options: PhoneRenderOptions): Promise<Derivatives> {
  const sharp = loadSharp();
  const meta = await sharp(input, { limitInputPixels: false }).metadata();
  const format = meta.format === 'png' ? 'png' : 'jpeg';
  const header: ImageHeader = {
    format: { mime: `image/${format}`, ext: format === 'png' ? 'png' : 'jpg', assetType: 'IMAGE', decodable: true },
    width: meta.width,
    height: meta.height,
    hasAlpha: meta.hasAlpha === true,
    uprightWidth: meta.width,
    uprightHeight: meta.height,
  };
  return renderDerivatives(input, {
    maxPixels: options.maxPixels,
    header,
    autoOrient: false,
    ...(options.onPreview ? { onPreview: options.onPreview } : {}),
  });
}

/** The rendition bound: the short side at most 720 px (720p landscape, 720 px wide portrait). */
export const RENDITION_SHORT_SIDE = 720;

export interface RenditionOptions {
  /** Fraction done, 0–1, as ffmpeg reports it (about twice a second). */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * A web-playable copy of a video: H.264 (High, 8-bit 4:2:0, CRF 23) and AAC stereo in MP4, the short side at most
 * 720 px, upright (the display matrix is applied while transcoding, so no player needs to honour one), with the
 * index at the front (`+faststart`) so playback starts before the whole file arrived. No metadata is carried over
 * (`-map_metadata -1`): the rendition is served to recipients of metadata-hiding links as well.
 */
export async function makeRendition(
  input: string,
  output: string,
  info: Pick<VideoInfo, 'durationSeconds' | 'audioCodec'>,
  options: RenditionOptions = {},
): Promise<void> {
  const total = info.durationSeconds ?? 0;
  let pending = '';
  const onStdout = (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^out_time_us=(\d+)/.exec(line);
      if (match && total > 0) options.onProgress?.(Math.min(1, Number(match[1]) / 1e6 / total));
    }
  };
  const short = RENDITION_SHORT_SIDE;
  await runTool(
    'ffmpeg',
    [
      '-nostdin',
      '-v',
      'error',
      '-i',
      input,
      '-map',
      '0:v:0',
      ...(info.audioCodec ? ['-map', '0:a:0'] : []),
      '-map_metadata',
      '-1',
      '-map_chapters',
      '-1',
      '-vf',
      `scale=w='if(gte(iw,ih),-2,min(${short},iw))':h='if(gte(iw,ih),min(${short},ih),-2)',format=yuv420p`,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '23',
      '-profile:v',
      'high',
      ...(info.audioCodec ? ['-c:a', 'aac', '-b:a', '128k', '-ac', '2'] : ['-an']),
      '-movflags',
      '+faststart',
      '-progress',
      'pipe:1',
      '-nostats',
      '-f',
      'mp4',
      '-y',
      output,
    ],
    {
      timeoutMs: options.timeoutMs ?? Math.max(10 * 60_000, total * 20_000),
      onStdout,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  options.onProgress?.(1);
}
