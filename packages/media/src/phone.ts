import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { type Derivatives, derivativesFromRaw, PREVIEW_SIZE, renderDerivatives } from './derivatives.ts';
import { MediaError } from './errors.ts';
import type { HeifPrimary } from './isobmff.ts';
import { assertPixelLimit, type ImageHeader } from './probe.ts';
import { type MediaTools, runTool } from './tools.ts';

/**
 * Phone formats through Debian's decoders: HEIC/HEIF stills through libheif's `heif-convert`, videos through
 * `ffprobe` and `ffmpeg`. sharp still does every resize and encode (one code path for derivatives).
 */

export interface VideoInfo {
  /** Seconds; null when the container does not say. */
  durationSeconds: number | null;
  /** Displayed dimensions (swapped when the display matrix turns the picture a quarter turn). */
  width: number | null;
  height: number | null;
  /** Clockwise degrees the player turns the stored picture (0, 90, 180, 270). */
  rotation: number;
  videoCodec: string | null;
  /** e.g. yuv420p, yuv420p10le: 10-bit H.264 does not play in browsers. */
  pixelFormat: string | null;
  audioCodec: string | null;
  /** ffprobe's demuxer names, e.g. "mov,mp4,m4a,3gp,3g2,mj2" or "matroska,webm". */
  container: string;
  /** Capture instant (ISO-8601 UTC) and its wall clock written with a Z (Immich's localDateTime). */
  createdAt: string | null;
  localDateTime: string | null;
  timeZone: string | null;
  latitude: number | null;
  longitude: number | null;
  make: string | null;
  model: string | null;
  /** Apple's `com.apple.quicktime.content.identifier`: the Live Photo pairing key. */
  contentIdentifier: string | null;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
  disposition?: { attached_pic?: number };
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { format_name?: string; duration?: string; tags?: Record<string, string> };
}

const PROBE_TIMEOUT_MS = 30_000;
const POSTER_TIMEOUT_MS = 60_000;
const HEIF_TIMEOUT_MS = 120_000;

/** Runs ffprobe over a video: container, streams and their tags, as JSON. */
export async function probeVideoFile(path: string, signal?: AbortSignal): Promise<VideoInfo> {
  const { stdout } = await runTool(
    'ffprobe',
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '--', path],
    { timeoutMs: PROBE_TIMEOUT_MS, maxOutputBytes: 4 * 1024 * 1024, ...(signal ? { signal } : {}) },
  );
  let parsed: FfprobeOutput;
  try {
    parsed = JSON.parse(stdout.toString('utf8')) as FfprobeOutput;
  } catch (error) {
    throw new MediaError('CORRUPT', 'ffprobe gave no readable description of the video', { cause: error });
  }
  return videoInfoOf(parsed);
}

export function videoInfoOf(parsed: FfprobeOutput): VideoInfo {
  const streams = parsed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!video) throw new MediaError('CORRUPT', 'the file has no video stream');
  const audio = streams.find((s) => s.codec_type === 'audio');
  const tags = lowerKeys(parsed.format?.tags ?? {});
  const streamTags = lowerKeys(video.tags ?? {});

  const matrixRotation = video.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  // ffprobe's display-matrix rotation is anticlockwise; the old `rotate` tag is clockwise
  const clockwise =
    typeof matrixRotation === 'number' ? -matrixRotation : Number.parseInt(streamTags.rotate ?? '0', 10) || 0;
  const rotation = (((Math.round(clockwise / 90) * 90) % 360) + 360) % 360;
  const quarter = rotation === 90 || rotation === 270;
  const width = positive(video.width);
  const height = positive(video.height);

  const durationSeconds = Number.parseFloat(parsed.format?.duration ?? '');
  const created = captureTime(tags['com.apple.quicktime.creationdate'] ?? tags.creation_time ?? null);
  const location = parseIso6709(tags['com.apple.quicktime.location.iso6709'] ?? tags.location ?? tags['location-eng']);
  return {
    durationSeconds: Number.isFinite(durationSeconds) && durationSeconds > 0 ? durationSeconds : null,
    width: quarter ? height : width,
    height: quarter ? width : height,
    rotation,
    videoCodec: video.codec_name ?? null,
    pixelFormat: video.pix_fmt ?? null,
    audioCodec: audio?.codec_name ?? null,
    container: parsed.format?.format_name ?? '',
    createdAt: created?.instant ?? null,
    localDateTime: created?.local ?? null,
    timeZone: created?.offset ?? null,
    latitude: location?.latitude ?? null,
    longitude: location?.longitude ?? null,
    make: text(tags['com.apple.quicktime.make'] ?? tags.make),
    model: text(tags['com.apple.quicktime.model'] ?? tags.model),
    contentIdentifier: text(tags['com.apple.quicktime.content.identifier']),
  };
}

function lowerKeys(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k.toLowerCase(), v]));
}

function positive(value: number | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

function text(value: string | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

/**
 * ISO 6709 as phones write it: "+52.5000-013.4000+010.000/" (degrees, optional altitude). Returns null for 0,0
 * (no fix) and anything out of range.
 */
export function parseIso6709(value: string | undefined): { latitude: number; longitude: number } | null {
  if (!value) return null;
  const match = /^([+-]\d{1,2}(?:\.\d+)?)([+-]\d{1,3}(?:\.\d+)?)/.exec(value.trim());
  if (!match) return null;
  const latitude = Number(match[1]);
  const longitude = Number(match[2]);
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return null;
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180 || (latitude === 0 && longitude === 0)) return null;
  return { latitude, longitude };
}

/**
 * A video's capture time. Apple's `creationdate` carries the zone ("2024-05-06T07:08:09+0200"): exact instant and
 * wall clock. `creation_time` (mvhd) is UTC by the spec: instant and wall clock are the same, as Immich does.
 */
function captureTime(value: string | null): { instant: string; local: string; offset: string | null } | null {
  if (!value) return null;
  const match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$/.exec(
    value.trim(),
  );
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
  const millis = match[7] ? Math.round(Number(`0.${match[7]}`) * 1000) : 0;
  const local = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!, Math.min(millis, 999)));
  if (Number.isNaN(local.getTime()) || year! < 1970 || local.getTime() > Date.now() + 86_400_000) return null;
  const zone = match[8];
  if (!zone || zone === 'Z') return { instant: local.toISOString(), local: local.toISOString(), offset: null };
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const minutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  const offset = `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2, 4)}`;
  return { instant: new Date(local.getTime() - minutes * 60_000).toISOString(), local: local.toISOString(), offset };
}

/**
 * Whether a browser plays the original as it is (docs: README "Formats"): H.264 (8-bit 4:2:0) in MP4/MOV/M4V with
 * AAC, MP3 or no audio, which every browser plays; VP8/VP9/AV1 in WebM with Opus, Vorbis or no audio, which
 * Chromium and Firefox play (Safari plays VP9 WebM since 14.1). Everything else (HEVC, which only Safari and some
 * Chromium builds on some hardware decode; ProRes; 10-bit H.264; MPEG-4 Part 2) gets an H.264 rendition.
 */
export function isWebPlayable(
  info: Pick<VideoInfo, 'container' | 'videoCodec' | 'pixelFormat' | 'audioCodec'>,
): boolean {
  const audio = info.audioCodec;
  const pixelsOk = info.pixelFormat === null || info.pixelFormat === 'yuv420p' || info.pixelFormat === 'yuvj420p';
  if (info.container.includes('mp4') || info.container.includes('mov')) {
    return info.videoCodec === 'h264' && pixelsOk && (audio === null || audio === 'aac' || audio === 'mp3');
  }
  if (info.container.includes('webm')) {
    return (
      (info.videoCodec === 'vp8' || info.videoCodec === 'vp9' || info.videoCodec === 'av1') &&
      (audio === null || audio === 'opus' || audio === 'vorbis')
    );
  }
  return false;
}

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
