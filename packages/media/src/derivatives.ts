import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { MediaError } from './errors.ts';
import type { AssetType } from './formats.ts';
import { assertPixelLimit, DEFAULT_MAX_PIXELS, reason } from './probe.ts';
import { sniffFileOrThrow } from './sniff.ts';

/** Long-side bounds, as Immich: a ~250 px WebP thumbnail and a ~1440 px JPEG preview. */
export const THUMBNAIL_SIZE = 250;
export const PREVIEW_SIZE = 1440;
/** thumbhash encodes images of at most 100×100. */
const THUMBHASH_SIZE = 100;

export interface Derivatives {
  /** WebP fitting a 250×250 box (never upscaled), upright, no metadata. */
  thumbnail: Buffer;
  /** JPEG fitting a 1440×1440 box (never upscaled), upright, no metadata. */
  preview: Buffer;
  /** The raw thumbhash bytes (Immich's API renders them base64). */
  thumbhash: Buffer;
  /** Displayed dimensions of the source (after orientation); for a placeholder, the placeholder's. */
  width: number;
  height: number;
}

export interface RenderOptions {
  maxPixels?: number;
}

/**
 * Thumbnail, preview and thumbhash from one decode.
 *
 * The source is decoded once, rotated upright and shrunk to the preview bound (JPEG, WebP and
 * others shrink on load, so a 48 MP photo is never fully expanded), converted to 8-bit sRGB RGBA;
 * the three outputs are encoded from that intermediate. sharp writes no metadata unless asked to:
 * no EXIF (the pixels are already upright, so no orientation is needed), no XMP/IPTC, and no ICC
 * profile either, because colour is converted to sRGB, which is what a viewer assumes without one.
 *
 * Throws MediaError: EMPTY, UNSUPPORTED_TYPE (including a known type without a decoder here, such
 * as HEIC with the prebuilt sharp: use `genericThumbnail`), TOO_MANY_PIXELS (checked on the header,
 * before any decoding), CORRUPT (including truncated files).
 */
export async function renderDerivatives(path: string, options: RenderOptions = {}): Promise<Derivatives> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const format = await sniffFileOrThrow(path);
  if (!format.decodable) {
    throw new MediaError(
      'UNSUPPORTED_TYPE',
      `no decoder for ${format.mime} is available here, so no thumbnail can be made from it`,
    );
  }

  let header: Metadata;
  try {
    header = await sharp(path, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw new MediaError('CORRUPT', `the ${format.ext.toUpperCase()} file cannot be read: ${reason(error)}`, {
      cause: error,
    });
  }
  assertPixelLimit(header.width, header.height, maxPixels);

  let intermediate: { data: Buffer; info: OutputInfo };
  try {
    intermediate = await sharp(path, { failOn: 'truncated', limitInputPixels: maxPixels, autoOrient: true })
      .resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new MediaError('CORRUPT', `the ${format.ext.toUpperCase()} image cannot be decoded: ${reason(error)}`, {
      cause: error,
    });
  }
  const { data, info } = intermediate;
  if (info.channels !== 4) throw new MediaError('CORRUPT', `unexpected decoded channel count ${info.channels}`);

  const outputs = await encodeFromRgba(data, info.width, info.height, header.hasAlpha === true);
  const upright = header.autoOrient ?? { width: header.width, height: header.height };
  return { ...outputs, width: upright.width, height: upright.height };
}

async function encodeFromRgba(
  rgba: Buffer,
  width: number,
  height: number,
  keepAlpha: boolean,
): Promise<Pick<Derivatives, 'thumbnail' | 'preview' | 'thumbhash'>> {
  const raw = { raw: { width, height, channels: 4 as const } };
  const [preview, thumbnail, hashPixels] = await Promise.all([
    // JPEG has no alpha: transparent areas become white, as a viewer's page background would show.
    sharp(rgba, raw).flatten({ background: '#ffffff' }).jpeg({ quality: 80 }).toBuffer(),
    (keepAlpha ? sharp(rgba, raw) : sharp(rgba, raw).removeAlpha())
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer(),
    sharp(rgba, raw)
      .resize(THUMBHASH_SIZE, THUMBHASH_SIZE, { fit: 'inside', withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true }),
  ]);
  const thumbhash = Buffer.from(rgbaToThumbHash(hashPixels.info.width, hashPixels.info.height, hashPixels.data));
  return { preview, thumbnail, thumbhash };
}

/** 4:3, the shape of most photos and of the grid cells a placeholder sits in. */
const PLACEHOLDER_WIDTH = PREVIEW_SIZE;
const PLACEHOLDER_HEIGHT = (PREVIEW_SIZE * 3) / 4;

/**
 * Derivatives for a file we store and share but cannot decode (video; HEIC with the prebuilt
 * sharp): a neutral placeholder drawn from SVG (a play symbol for videos, a picture symbol for
 * images, a page for anything else). No text, so no font is needed. `width`/`height` are the
 * placeholder's, not the asset's: take the asset's from `probeMedia`.
 */
export async function genericThumbnail(assetType: AssetType, mime: string): Promise<Derivatives> {
  const svg = placeholderSvg(assetType, mime);
  const rgba = await sharp(Buffer.from(svg))
    .ensureAlpha()
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const outputs = await encodeFromRgba(rgba.data, rgba.info.width, rgba.info.height, false);
  return { ...outputs, width: rgba.info.width, height: rgba.info.height };
}

function placeholderSvg(assetType: AssetType, mime: string): string {
  const w = PLACEHOLDER_WIDTH;
  const h = PLACEHOLDER_HEIGHT;
  const cx = w / 2;
  const cy = h / 2;
  const background = assetType === 'VIDEO' ? '#1f2933' : '#3e4c59';
  let symbol: string;
  if (assetType === 'VIDEO') {
    symbol =
      `<circle cx="${cx}" cy="${cy}" r="180" fill="none" stroke="#f5f7fa" stroke-width="24"/>` +
      `<path d="M ${cx - 55} ${cy - 95} L ${cx + 105} ${cy} L ${cx - 55} ${cy + 95} Z" fill="#f5f7fa"/>`;
  } else if (assetType === 'IMAGE' || mime.startsWith('image/')) {
    symbol =
      `<rect x="${cx - 240}" y="${cy - 180}" width="480" height="360" rx="28" fill="none" stroke="#f5f7fa" stroke-width="24"/>` +
      `<circle cx="${cx + 110}" cy="${cy - 70}" r="45" fill="#f5f7fa"/>` +
      `<path d="M ${cx - 200} ${cy + 140} L ${cx - 60} ${cy - 30} L ${cx + 40} ${cy + 80} L ${cx + 100} ${cy + 20} L ${cx + 200} ${cy + 140} Z" fill="#f5f7fa"/>`;
  } else {
    symbol =
      `<path d="M ${cx - 150} ${cy - 220} H ${cx + 70} L ${cx + 150} ${cy - 140} V ${cy + 220} H ${cx - 150} Z" fill="none" stroke="#f5f7fa" stroke-width="24" stroke-linejoin="round"/>` +
      `<path d="M ${cx - 90} ${cy - 40} H ${cx + 90} M ${cx - 90} ${cy + 40} H ${cx + 90} M ${cx - 90} ${cy + 120} H ${cx + 40}" stroke="#f5f7fa" stroke-width="20"/>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}"><rect width="${w}" height="${h}" fill="${background}"/>${symbol}</svg>`;
}
