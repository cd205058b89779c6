import exifr from 'exifr';
import type { Metadata } from 'sharp';
import { appleContentIdentifier } from './apple.ts';
import { MediaError } from './errors.ts';
import { isValidOrientation, withoutExifHeader } from './exif-orientation.ts';
import type { AssetType } from './formats.ts';
import { type HeifPrimary, readHeifExif, readHeifPrimary, readVideoHeader } from './isobmff.ts';
import { loadSharp } from './sharp.ts';
import { type SniffResult, sniffFileOrThrow } from './sniff.ts';
import { type MediaTools, NO_MEDIA_TOOLS } from './tools.ts';
import { probeVideoFile, type VideoInfo } from './video-probe.ts';

/** 100 megapixels: more than any phone or consumer camera, far below what would exhaust a worker. */
export const DEFAULT_MAX_PIXELS = 100_000_000;

export interface ExifInfo {
  make: string | null;
  model: string | null;
  lensModel: string | null;
  /** As Immich (exiftool) renders it: "1/250" below a quarter second, else seconds, e.g. "0.5", "2". */
  exposureTime: string | null;
  fNumber: number | null;
  /** Millimetres. */
  focalLength: number | null;
  iso: number | null;
  /** The capture instant, ISO-8601 UTC; see `readCaptureDate` for how the time zone is decided. */
  dateTimeOriginal: string | null;
  /** The capture time zone offset when the file records one, e.g. "+02:00". */
  timeZone: string | null;
  /** Decimal degrees, south and west negative. */
  latitude: number | null;
  longitude: number | null;
  /** EXIF orientation 1–8 as recorded, null when the file has none. */
  orientation: number | null;
  /** EXIF ImageDescription. */
  description: string | null;
  /** Always null: immish does no reverse geocoding (no place database is shipped). */
  city: null;
  state: null;
  country: null;
}

export interface ProbeResult {
  mime: string;
  assetType: AssetType;
  /**
   * Dimensions as DISPLAYED: for orientations 5–8 (rotated by 90°) the stored width and height
   * are swapped, so a portrait photo stored landscape with orientation 6 reports portrait.
   * Null only when nothing can tell without a decoder (WebM, an MP4/MOV without a readable
   * `moov`, a HEIC whose header is unreadable).
   */
  width: number | null;
  height: number | null;
  /** 1–8; 1 when the file records none. */
  orientation: number;
  exif: ExifInfo;
  /** Videos (MP4, M4V, MOV) only, from the container header; null for images and WebM. */
  durationSeconds: number | null;
  /** The capture instant (= exif.dateTimeOriginal) when the file records one. */
  fileCreatedAt?: string;
  /** The capture wall-clock time written as if it were UTC (Immich's `localDateTime` convention). */
  localDateTime?: string;
  /** For an image sharp can decode here: its header, which `renderDerivatives` can take instead of reading it again. */
  image?: ImageHeader;
  /** HEIC/HEIF: the primary image as the `meta` box describes it (for `renderHeifDerivatives`). */
  heif?: HeifPrimary;
  /** Videos probed by ffprobe: codecs, rotation, location (for posters and the rendition rule). */
  video?: VideoInfo;
  /** Apple's Live Photo content identifier, in a still's MakerNote or a video's QuickTime keys. */
  contentIdentifier?: string;
}

/** What the header of a decodable image says, as `renderDerivatives` needs it. */
export interface ImageHeader {
  format: SniffResult;
  /** Stored dimensions. */
  width: number;
  height: number;
  hasAlpha: boolean;
  /** Dimensions once the EXIF orientation is applied (as sharp will apply it). */
  uprightWidth: number;
  uprightHeight: number;
}

export function imageHeaderOf(format: SniffResult, header: Metadata): ImageHeader {
  const upright = header.autoOrient ?? { width: header.width, height: header.height };
  return {
    format,
    width: header.width,
    height: header.height,
    hasAlpha: header.hasAlpha === true,
    uprightWidth: upright.width,
    uprightHeight: upright.height,
  };
}

export interface ProbeOptions {
  /** Width × height above which an image is refused before decoding (decompression bombs). */
  maxPixels?: number;
  /** The external decoders found at start-up (`detectMediaTools`); without ffprobe, videos are read from `moov`. */
  tools?: MediaTools;
  signal?: AbortSignal;
}

/**
 * Reads dimensions (from the header, no decode), orientation and EXIF of a supported file.
 * Throws MediaError: EMPTY, UNSUPPORTED_TYPE (by content), TOO_MANY_PIXELS, CORRUPT (header unreadable).
 */
export async function probeMedia(path: string, options: ProbeOptions = {}): Promise<ProbeResult> {
  const sharp = loadSharp();
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const format = await sniffFileOrThrow(path);
  const tools = options.tools ?? NO_MEDIA_TOOLS;
  if (format.assetType === 'VIDEO') {
    return tools.ffprobe ? probeVideoWithTools(path, format.mime, options.signal) : probeVideo(path, format.mime);
  }
  const isHeif = format.mime === 'image/heic' || format.mime === 'image/heif';
  const heif = isHeif ? await readHeifPrimary(path) : null;
  if (heif) assertPixelLimit(heif.width, heif.height, maxPixels);

  let header: Metadata | undefined;
  try {
    // limitInputPixels is off here on purpose: we want the dimensions to refuse the file ourselves.
    header = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (error) {
    if (format.decodable)
      throw new MediaError('CORRUPT', `the ${format.ext.toUpperCase()} header cannot be read: ${reason(error)}`, {
        cause: error,
      });
    // HEIC without a decoder: the header may still be readable; EXIF alone is still worth having.
  }
  if (header?.width !== undefined && header.height !== undefined) {
    assertPixelLimit(header.width, header.height, maxPixels);
  }

  const heifExif = heif ? await readHeifExif(path, heif) : undefined;
  const tags = await readExifTags(path, header?.exif ?? heifExif);
  const orientation = isValidOrientation(header?.orientation)
    ? header.orientation
    : isValidOrientation(tags.Orientation)
      ? tags.Orientation
      : 1;
  let width = header?.width ?? positiveInteger(tags.ExifImageWidth);
  let height = header?.height ?? positiveInteger(tags.ExifImageHeight);
  if (width !== null && height !== null && orientation >= 5) [width, height] = [height, width];
  if (heif) {
    // HEIF: `irot`/`imir` decide how it is displayed (libheif applies them); the EXIF orientation only repeats them
    width = heif.width;
    height = heif.height;
  }

  const captured = readCaptureDate(tags);
  const exif: ExifInfo = {
    ...emptyExif(),
    make: text(tags.Make),
    model: text(tags.Model),
    lensModel: text(tags.LensModel),
    exposureTime: formatExposureTime(tags.ExposureTime),
    fNumber: positiveNumber(tags.FNumber),
    focalLength: positiveNumber(tags.FocalLength),
    iso: positiveInteger(Array.isArray(tags.ISO) ? tags.ISO[0] : tags.ISO),
    dateTimeOriginal: captured?.instant ?? null,
    timeZone: captured?.offset ?? null,
    ...readGps(tags),
    orientation: isValidOrientation(tags.Orientation) ? tags.Orientation : (header?.orientation ?? null),
    description: text(tags.ImageDescription),
  };

  const result: ProbeResult = {
    mime: format.mime,
    assetType: format.assetType,
    width,
    height,
    orientation,
    exif,
    durationSeconds: null,
  };
  if (captured) {
    result.fileCreatedAt = captured.instant;
    result.localDateTime = captured.local;
  }
  if (format.decodable && header?.width !== undefined && header.height !== undefined) {
    result.image = imageHeaderOf(format, header);
  }
  if (heif) {
    result.heif = heif;
    result.orientation = 1; // already upright once libheif decoded it
  }
  const contentIdentifier = appleContentIdentifier(tags.makerNote);
  if (contentIdentifier) result.contentIdentifier = contentIdentifier;
  return result;
}

/**
 * Videos are not decoded (no ffmpeg): MP4/M4V/MOV dimensions, duration and creation time come from
 * the `moov` box; WebM yields only its type. The creation time is taken as the capture time.
 */
async function probeVideo(path: string, mime: string): Promise<ProbeResult> {
  const isoBmff = mime !== 'video/webm';
  const header = isoBmff ? await readVideoHeader(path) : null;
  const exif = { ...emptyExif(), dateTimeOriginal: header?.createdAt ?? null };
  const result: ProbeResult = {
    mime,
    assetType: 'VIDEO',
    width: header?.width ?? null,
    height: header?.height ?? null,
    orientation: 1,
    exif,
    durationSeconds: header?.durationSeconds ?? null,
  };
  if (header?.createdAt) {
    result.fileCreatedAt = header.createdAt;
    result.localDateTime = header.createdAt;
  }
  return result;
}

/** A video described by ffprobe: dimensions after rotation, codecs, capture time, GPS, make/model. */
async function probeVideoWithTools(path: string, mime: string, signal?: AbortSignal): Promise<ProbeResult> {
  const info = await probeVideoFile(path, signal);
  const exif: ExifInfo = {
    ...emptyExif(),
    make: info.make,
    model: info.model,
    dateTimeOriginal: info.createdAt,
    timeZone: info.timeZone,
    latitude: info.latitude,
    longitude: info.longitude,
  };
  const result: ProbeResult = {
    mime,
    assetType: 'VIDEO',
    width: info.width,
    height: info.height,
    orientation: 1,
    exif,
    durationSeconds: info.durationSeconds,
    video: info,
  };
  if (info.createdAt && info.localDateTime) {
    result.fileCreatedAt = info.createdAt;
    result.localDateTime = info.localDateTime;
  }
  if (info.contentIdentifier) result.contentIdentifier = info.contentIdentifier;
  return result;
}

export function assertPixelLimit(width: number, height: number, maxPixels: number): void {
  if (width * height <= maxPixels) return;
  throw new MediaError(
    'TOO_MANY_PIXELS',
    `image is ${width}×${height} = ${megapixels(width * height)} megapixels; the limit is ${megapixels(maxPixels)} megapixels`,
  );
}

function megapixels(pixels: number): string {
  return String(Number((pixels / 1_000_000).toFixed(2)));
}

export function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function emptyExif(): ExifInfo {
  return {
    make: null,
    model: null,
    lensModel: null,
    exposureTime: null,
    fNumber: null,
    focalLength: null,
    iso: null,
    dateTimeOriginal: null,
    timeZone: null,
    latitude: null,
    longitude: null,
    orientation: null,
    description: null,
    city: null,
    state: null,
    country: null,
  };
}

type Tags = Record<string, unknown>;

const EXIFR_OPTIONS = {
  tiff: true,
  exif: true,
  gps: true,
  interop: false,
  ifd1: false, // the embedded thumbnail's IFD
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  makerNote: true, // raw bytes: only Apple's Live Photo content identifier is read from it (apple.ts)
  userComment: false,
  translateKeys: true,
  translateValues: false,
  // Dates stay strings: reviving them would read the wall clock in the server's time zone.
  reviveValues: false,
  sanitize: true,
  mergeOutput: true,
} as const;

/**
 * sharp hands us the raw EXIF block of JPEG, PNG, WebP and AVIF alike, so exifr parses that
 * (exifr cannot read WebP containers itself). TIFF keeps its tags in its own IFDs and HEIC may not
 * be loadable by sharp, so for those exifr reads the file. Broken EXIF is not a broken photo: it
 * yields no tags rather than an error.
 */
async function readExifTags(path: string, exifBlock: Buffer | undefined): Promise<Tags> {
  try {
    const parsed: unknown = await exifr.parse(exifBlock ? withoutExifHeader(exifBlock) : path, EXIFR_OPTIONS);
    return parsed && typeof parsed === 'object' ? (parsed as Tags) : {};
  } catch {
    return {};
  }
}

function text(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL padding is common in EXIF strings
  const trimmed = value.replace(/\u0000+$/g, '').trim();
  return trimmed === '' ? null : trimmed;
}

function positiveNumber(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null;
}

function positiveInteger(value: unknown): number | null {
  const number = positiveNumber(value);
  return number === null ? null : Math.round(number);
}

/** exiftool's PrintExposureTime, which is what Immich stores. */
export function formatExposureTime(value: unknown): string | null {
  const seconds = positiveNumber(value);
  if (seconds === null) return null;
  if (seconds < 0.25001) return `1/${Math.floor(0.5 + 1 / seconds)}`;
  return seconds.toFixed(1).replace(/\.0$/, '');
}

function readGps(tags: Tags): { latitude: number | null; longitude: number | null } {
  const latitude = tags.latitude;
  const longitude = tags.longitude;
  if (typeof latitude !== 'number' || typeof longitude !== 'number') return { latitude: null, longitude: null };
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude)) return { latitude: null, longitude: null };
  if (Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return { latitude: null, longitude: null };
  // 0,0 is what devices write when they had no fix (Immich ignores it too).
  if (latitude === 0 && longitude === 0) return { latitude: null, longitude: null };
  return { latitude, longitude };
}

interface CaptureDate {
  instant: string;
  local: string;
  offset: string | null;
}

const DATE_SOURCES = [
  ['DateTimeOriginal', 'SubSecTimeOriginal', 'OffsetTimeOriginal'],
  ['CreateDate', 'SubSecTimeDigitized', 'OffsetTimeDigitized'],
  ['ModifyDate', 'SubSecTime', 'OffsetTime'],
] as const;

/**
 * EXIF dates are wall-clock times. With an EXIF offset tag the instant is exact; without one we
 * take the wall clock as UTC (Immich does the same when it finds no zone), so the result never
 * depends on the server's time zone. localDateTime is the wall clock written with a `Z`.
 */
export function readCaptureDate(tags: Tags): CaptureDate | null {
  for (const [dateTag, subSecTag, offsetTag] of DATE_SOURCES) {
    const parsed = parseExifDate(tags[dateTag], tags[subSecTag]);
    if (!parsed) continue;
    const offset = parseOffset(tags[offsetTag]);
    const instant = new Date(parsed.getTime() - (offset?.minutes ?? 0) * 60_000);
    return { instant: instant.toISOString(), local: parsed.toISOString(), offset: offset?.text ?? null };
  }
  return null;
}

function parseExifDate(value: unknown, subSeconds: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?/.exec(value.trim());
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const fraction =
    match[7] ?? (typeof subSeconds === 'string' || typeof subSeconds === 'number' ? String(subSeconds).trim() : '');
  const millis = /^\d+$/.test(fraction) ? Math.round(Number(`0.${fraction}`) * 1000) : 0;
  if (year < 1800 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return null;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59), Math.min(millis, 999)));
  return date.getUTCDate() === day ? date : null; // rejects 31 February and friends
}

function parseOffset(value: unknown): { minutes: number; text: string } | null {
  if (typeof value !== 'string') return null;
  const match = /^([+-])(\d{2}):(\d{2})$/.exec(value.trim());
  if (!match) return null;
  const minutes = (Number(match[2]) * 60 + Number(match[3])) * (match[1] === '-' ? -1 : 1);
  return Math.abs(minutes) <= 14 * 60 ? { minutes, text: match[0] } : null;
}
