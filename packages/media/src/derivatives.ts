import type { OutputInfo } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { MediaError } from './errors.ts';
import type { AssetType } from './formats.ts';
import { assertPixelLimit, DEFAULT_MAX_PIXELS, type ImageHeader, imageHeaderOf, reason } from './probe.ts';
import { loadSharp } from './sharp.ts';
import { type SniffResult, sniffFileOrThrow } from './sniff.ts';

/** Long-side bounds, as Immich: a ~250 px WebP thumbnail and a ~1440 px JPEG preview. */
export const THUMBNAIL_SIZE = 250;
export const PREVIEW_SIZE = 1440;
/**
 * The thumbhash's input bound. thumbhash takes at most 100×100, but keeps at most 7 frequency components per
 * axis (a blurred placeholder), all of which a 32 px area average still holds: decoded placeholders differ from
 * those of a 100 px input by 4–6/255 RMS (measured on photos, stripes, discs, gradients), invisible in a blur,
 * and the DCT over 10× fewer pixels saves ~2 ms of CPU per photo (~3% of an ingest).
 */
const THUMBHASH_SIZE = 32;

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
  /** The file's header as `probeMedia` read it (`ProbeResult.image`): saves sniffing and reading it again. */
  header?: ImageHeader;
  /**
   * Called with the preview as soon as it is encoded, while the thumbnail is still being made (a caller can
   * start storing it); the same buffer is in the result.
   */
  onPreview?: (preview: Buffer) => void;
  /** Apply the EXIF orientation (default). False for pixels a decoder already turned upright (HEIF `irot`, video). */
  autoOrient?: boolean;
}

/**
 * Thumbnail, preview and thumbhash from one decode.
 *
 * The source is decoded once, rotated upright, shrunk to the preview bound (JPEG, WebP and others
 * shrink on load, so a 48 MP photo is never fully expanded) and converted to 8-bit sRGB.
 *
 * - Opaque sources (nearly every photo): that pipeline encodes the JPEG preview itself, and the
 *   thumbnail and thumbhash come from a 250 px reduction of the preview (a 1440 px JPEG shrinks on
 *   load too). No 1440 px raw image is handed to JavaScript and back: that copy, and the garbage
 *   collections a few MiB of short-lived buffers per photo cause, cost more than the encodes. The
 *   thumbnail is as good as one reduced from the raw pixels (the preview's JPEG error, ~47 dB PSNR
 *   at 250 px, is far below the WebP thumbnail's own, ~41 dB).
 * - Sources with alpha: an RGBA intermediate at the preview bound, flattened onto white for the
 *   JPEG preview; the WebP thumbnail keeps the transparency.
 *
 * sharp writes no metadata unless asked to: no EXIF (the pixels are already upright, so no
 * orientation is needed), no XMP/IPTC, and no ICC profile either, because colour is converted to
 * sRGB, which is what a viewer assumes without one.
 *
 * Throws MediaError: EMPTY, UNSUPPORTED_TYPE (including a known type without a decoder here, such
 * as HEIC with the prebuilt sharp: use `genericThumbnail`), TOO_MANY_PIXELS (checked on the header,
 * before any decoding), CORRUPT (including truncated files).
 */
export async function renderDerivatives(path: string | Buffer, options: RenderOptions = {}): Promise<Derivatives> {
  const sharp = loadSharp();
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (typeof path !== 'string' && !options.header) throw new Error('renderDerivatives: bytes need their header');
  const header = options.header ?? (await readImageHeader(path as string));
  const { format } = header;
  assertDecodable(format);
  assertPixelLimit(header.width, header.height, maxPixels);

  // One sharp call at a time, here and below: each holds a libuv pool thread while it runs (4 by default),
  // and a worker running one job per core would otherwise leave none for its file and network I/O.
  const alpha = header.hasAlpha;
  const decoded = sharp(path, {
    failOn: 'truncated',
    limitInputPixels: maxPixels,
    autoOrient: options.autoOrient ?? true,
  })
    .resize(PREVIEW_SIZE, PREVIEW_SIZE, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb');
  const cannotDecode = (error: unknown) =>
    new MediaError('CORRUPT', `the ${format.ext.toUpperCase()} image cannot be decoded: ${reason(error)}`, {
      cause: error,
    });

  let outputs: Pick<Derivatives, 'thumbnail' | 'preview' | 'thumbhash'>;
  if (alpha) {
    let intermediate: { data: Buffer; info: OutputInfo };
    try {
      intermediate = await decoded.ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    } catch (error) {
      throw cannotDecode(error);
    }
    const { data, info } = intermediate;
    if (info.channels !== 4) throw new MediaError('CORRUPT', `unexpected decoded channel count ${info.channels}`);
    outputs = await encodeFromRaw(data, info.width, info.height, 4, options.onPreview);
  } else {
    let preview: Buffer;
    try {
      preview = await decoded.removeAlpha().jpeg(PREVIEW_JPEG).toBuffer();
    } catch (error) {
      throw cannotDecode(error);
    }
    options.onPreview?.(preview);
    const small = await sharp(preview)
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    outputs = { preview, ...(await encodeThumbnail(small.data, small.info.width, small.info.height, 3)) };
  }
  return { ...outputs, width: header.uprightWidth, height: header.uprightHeight };
}

function assertDecodable(format: SniffResult): void {
  if (format.decodable) return;
  throw new MediaError(
    'UNSUPPORTED_TYPE',
    `no decoder for ${format.mime} is available here, so no thumbnail can be made from it`,
  );
}

async function readImageHeader(path: string): Promise<ImageHeader> {
  const sharp = loadSharp();
  const format = await sniffFileOrThrow(path);
  assertDecodable(format);
  try {
    return imageHeaderOf(format, await sharp(path, { limitInputPixels: false }).metadata());
  } catch (error) {
    throw new MediaError('CORRUPT', `the ${format.ext.toUpperCase()} file cannot be read: ${reason(error)}`, {
      cause: error,
    });
  }
}

const PREVIEW_JPEG = { quality: 80 } as const;
const THUMBNAIL_WEBP = { quality: 80 } as const;

/**
 * Derivatives of upright 8-bit sRGB pixels already at most the preview bound (a video frame ffmpeg scaled and
 * turned): no decode and no resize for the preview. `width`/`height` are the pixels'.
 */
export async function derivativesFromRaw(
  pixels: Buffer,
  width: number,
  height: number,
  onPreview?: (preview: Buffer) => void,
): Promise<Derivatives> {
  return { ...(await encodeFromRaw(pixels, width, height, 3, onPreview)), width, height };
}

/** Preview, thumbnail and thumbhash from an 8-bit sRGB raw image (3 channels, or 4 with alpha). */
async function encodeFromRaw(
  pixels: Buffer,
  width: number,
  height: number,
  channels: 3 | 4,
  onPreview?: (preview: Buffer) => void,
): Promise<Pick<Derivatives, 'thumbnail' | 'preview' | 'thumbhash'>> {
  const sharp = loadSharp();
  const raw = { raw: { width, height, channels } };
  // JPEG has no alpha: transparent areas become white, as a viewer's page background would show.
  const preview = await (channels === 4 ? sharp(pixels, raw).flatten({ background: '#ffffff' }) : sharp(pixels, raw))
    .jpeg(PREVIEW_JPEG)
    .toBuffer();
  onPreview?.(preview);
  const small = await sharp(pixels, raw)
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { preview, ...(await encodeThumbnail(small.data, small.info.width, small.info.height, channels)) };
}

/** The WebP thumbnail and the thumbhash from the raw pixels at thumbnail size. */
async function encodeThumbnail(
  pixels: Buffer,
  width: number,
  height: number,
  channels: 3 | 4,
): Promise<Pick<Derivatives, 'thumbnail' | 'thumbhash'>> {
  const sharp = loadSharp();
  // the thumbhash is computed here, on the main thread, while the WebP is encoded on sharp's
  const encoding = sharp(pixels, { raw: { width, height, channels } }).webp(THUMBNAIL_WEBP).toBuffer();
  encoding.catch(() => {}); // awaited below; a thumbhash error must not leave it unhandled
  const hash = shrinkToRgba(pixels, width, height, channels, THUMBHASH_SIZE);
  const thumbhash = Buffer.from(rgbaToThumbHash(hash.width, hash.height, hash.rgba));
  return { thumbnail: await encoding, thumbhash };
}

/**
 * Area-averages 8-bit raw pixels (RGB, or RGBA with the colour weighted by alpha) down to fit a `max`×`max`
 * box, as RGBA: the thumbhash's input. In JavaScript because the image is at most 250 px: a sharp call costs
 * more in thread hand-offs than this loop (and thumbhash keeps only the lowest frequencies anyway).
 */
export function shrinkToRgba(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: 3 | 4,
  max: number,
): { width: number; height: number; rgba: Uint8Array } {
  const scale = Math.min(1, max / width, max / height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const rgba = new Uint8Array(w * h * 4);
  for (let ty = 0; ty < h; ty++) {
    const y0 = Math.floor((ty * height) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * height) / h));
    for (let tx = 0; tx < w; tx++) {
      const x0 = Math.floor((tx * width) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * width) / w));
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let y = y0; y < y1; y++) {
        let i = (y * width + x0) * channels;
        for (let x = x0; x < x1; x++, i += channels) {
          const alpha = channels === 4 ? (pixels[i + 3] as number) : 255;
          r += (pixels[i] as number) * alpha;
          g += (pixels[i + 1] as number) * alpha;
          b += (pixels[i + 2] as number) * alpha;
          a += alpha;
        }
      }
      const o = (ty * w + tx) * 4;
      if (a > 0) {
        rgba[o] = Math.round(r / a);
        rgba[o + 1] = Math.round(g / a);
        rgba[o + 2] = Math.round(b / a);
      }
      rgba[o + 3] = Math.round(a / ((y1 - y0) * (x1 - x0)));
    }
  }
  return { width: w, height: h, rgba };
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
  const sharp = loadSharp();
  const svg = placeholderSvg(assetType, mime);
  const rgb = await sharp(Buffer.from(svg)).removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  const outputs = await encodeFromRaw(rgb.data, rgb.info.width, rgb.info.height, 3);
  return { ...outputs, width: rgb.info.width, height: rgb.info.height };
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
