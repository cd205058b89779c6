import { deflateSync } from 'node:zlib';
import { pngChunk } from '@immish/media';
import sharp from 'sharp';

/**
 * Test fixtures, generated (nothing binary is committed): photos written by sharp, with EXIF and GPS
 * through `withExif`, and the bad inputs of docs/spec.md §8 built byte by byte.
 */

export const EXIF = {
  IFD0: { Make: 'ImmishCam', Model: 'Model X', ImageDescription: 'A generated test photo' },
  IFD2: {
    DateTimeOriginal: '2023:07:14 15:16:17',
    OffsetTimeOriginal: '+02:00',
    ExposureTime: '1/250',
    FNumber: '28/10',
    ISOSpeedRatings: '400',
    FocalLength: '50/1',
    LensModel: 'Immish 50mm',
  },
  IFD3: {
    GPSLatitudeRef: 'N',
    GPSLatitude: '52/1 31/1 1234/100',
    GPSLongitudeRef: 'W',
    GPSLongitude: '13/1 24/1 3000/100',
  },
};
export const GPS = { latitude: 52 + 31 / 60 + 12.34 / 3600, longitude: -(13 + 24 / 60 + 30 / 3600) };

export interface PhotoOptions {
  width?: number;
  height?: number;
  exif?: Record<string, Record<string, string>>;
  /** a different seed → different pixels → a different checksum */
  seed?: number;
  quality?: number;
}

/** A noisy photo (codecs have work to do, like a real one); `seed` makes each one unique. */
export async function photo(format: 'jpeg' | 'png' | 'webp', options: PhotoOptions = {}): Promise<Buffer> {
  const { width = 320, height = 200, seed = 0 } = options;
  let image = sharp({
    create: {
      width,
      height,
      channels: 3,
      background: { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 53) % 256 },
      noise: { type: 'gaussian', mean: 128, sigma: 30 },
    },
  });
  if (options.exif) image = image.withExif(options.exif);
  if (format === 'jpeg') return image.jpeg({ quality: options.quality ?? 85 }).toBuffer();
  return image.toFormat(format).toBuffer();
}

/** A small flat image that is unique per seed (cheap to make in hundreds). */
export async function tinyJpeg(seed: number, size = 64): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 31 + seed * 7919 + (seed >> 8) * 13) & 0xff;
  pixels.writeUInt32BE(seed >>> 0, 0);
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The first `fraction` of a JPEG: a download that broke off. */
export const truncated = (bytes: Buffer, fraction = 0.5): Buffer =>
  bytes.subarray(0, Math.floor(bytes.length * fraction));

/** Deterministic noise that is no known format. */
export function randomBytes(length: number, seed = 0x12345678): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  bytes[0] = 0x42; // no magic number
  return bytes;
}

/** A decompression bomb: a PNG announcing 50,000×50,000 pixels (2.5 GB decoded) in a few hundred bytes. */
export function pngBomb(width = 50_000, height = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 0;
  const idat = deflateSync(Buffer.alloc((width + 1) * 16)).subarray(0, 64);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real file of a type immish does not take: a minimal PDF. */
export const pdf = (): Buffer =>
  Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  );

export const sha1 = async (bytes: Buffer): Promise<Buffer> =>
  (await import('node:crypto')).createHash('sha1').update(bytes).digest();

/** A WebM file head: the EBML header with DocType "webm" and the start of a Segment (a video without a decoder here). */
export function webmHead(): Buffer {
  const element = (id: number[], payload: number[]) => [...id, 0x80 | payload.length, ...payload];
  const body = [
    ...element([0x42, 0x86], [1]),
    ...element([0x42, 0xf7], [1]),
    ...element([0x42, 0xf2], [4]),
    ...element([0x42, 0xf3], [8]),
    ...element([0x42, 0x82], [...Buffer.from('webm')]),
    ...element([0x42, 0x87], [4]),
    ...element([0x42, 0x85], [2]),
  ];
  const segment = [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  return Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | body.length, ...body, ...segment]);
}

/** A large photo-like JPEG made quickly (gradients + cheap noise, no sharp noise generator). */
export async function largeJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let state = (seed * 2654435761) >>> 0;
  for (let i = 0, p = 0; p < width * height; p++, i += 3) {
    state = (state * 1664525 + 1013904223) >>> 0;
    const noise = (state >>> 28) - 8;
    const x = p % width;
    const y = (p / width) | 0;
    pixels[i] = ((x * 255) / width + noise) & 0xff;
    pixels[i + 1] = ((y * 255) / height + noise) & 0xff;
    pixels[i + 2] = (seed * 40 + noise) & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}
