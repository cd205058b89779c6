import { MediaError } from './errors.ts';
import { runTool } from './tools.ts';

/**
 * What ffprobe says of a video (container, streams, tags, capture time, place) and whether a browser plays it as
 * it is. Apart from the derivatives (phone.ts), so the metadata probe (probe.ts) can use it without a cycle.
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
