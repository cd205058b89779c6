import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll } from 'vitest';

/** A temp directory for one test file, removed when the file's tests are done. */
export function tempDir(): { path: (name: string) => string; write: (name: string, bytes: Uint8Array) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'immish-media-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    path: (name) => join(dir, name),
    write: (name, bytes) => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    },
  };
}

export const SECRETS = {
  make: 'ImmishMakeSecret',
  model: 'ImmishModelSecret',
  lens: 'ImmishLensSecret',
  description: 'ImmishDescriptionSecret',
  xmp: 'ImmishXmpCreatorSecret',
  comment: 'ImmishCommentSecret',
  iptc: 'ImmishIptcSecret',
  trailer: 'ImmishTrailerSecret',
  text: 'ImmishTextChunkSecret',
} as const;

export const XMP = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator><rdf:Seq><rdf:li>${SECRETS.xmp}</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;

/** Berlin-ish, in the western hemisphere so the sign is exercised: 52°31'12.34"N 13°24'30"W. */
export const GPS = { latitude: 52 + 31 / 60 + 12.34 / 3600, longitude: -(13 + 24 / 60 + 30 / 3600) };

export const FULL_EXIF = {
  IFD0: { Make: SECRETS.make, Model: SECRETS.model, ImageDescription: SECRETS.description },
  IFD2: {
    DateTimeOriginal: '2023:07:14 15:16:17',
    SubSecTimeOriginal: '250',
    OffsetTimeOriginal: '+02:00',
    ExposureTime: '1/250',
    FNumber: '28/10',
    ISOSpeedRatings: '400',
    FocalLength: '50/1',
    LensModel: SECRETS.lens,
  },
  IFD3: {
    GPSLatitudeRef: 'N',
    GPSLatitude: '52/1 31/1 1234/100',
    GPSLongitudeRef: 'W',
    GPSLongitude: '13/1 24/1 3000/100',
  },
};

export type Format = 'jpeg' | 'png' | 'webp' | 'avif' | 'gif' | 'tiff';

export interface PhotoOptions {
  width?: number;
  height?: number;
  exif?: Record<string, Record<string, string>>;
  orientation?: number;
  xmp?: string;
  alpha?: boolean;
  noise?: boolean;
  icc?: string;
}

/** A generated photo: noisy (like a real one, so codecs have work to do), optionally with metadata. */
export async function photo(format: Format, options: PhotoOptions = {}): Promise<Buffer> {
  const { width = 320, height = 200 } = options;
  const channels = options.alpha ? 4 : 3;
  let image =
    options.noise === false
      ? sharp({ create: { width, height, channels, background: { r: 200, g: 40, b: 60, alpha: 0.5 } } })
      : sharp({
          create: { width, height, channels, background: '#000000', noise: { type: 'gaussian', mean: 128, sigma: 40 } },
        });
  if (options.exif) image = image.withExif(options.exif);
  if (options.orientation) image = image.withMetadata({ orientation: options.orientation });
  if (options.xmp) image = image.withXmp(options.xmp);
  if (options.icc) image = image.withIccProfile(options.icc);
  return image.toFormat(format).toBuffer();
}

/** Left half red, right half blue: tells which way an image was turned. */
export async function halves(width: number, height: number, orientation?: number): Promise<Buffer> {
  const left = await sharp({ create: { width: width / 2, height, channels: 3, background: '#ff0000' } })
    .png()
    .toBuffer();
  let image = sharp({ create: { width, height, channels: 3, background: '#0000ff' } }).composite([
    { input: left, left: 0, top: 0 },
  ]);
  if (orientation) image = image.withMetadata({ orientation });
  return image.jpeg({ quality: 95 }).toBuffer();
}

// --- byte-level builders for things sharp will not write ----------------------------------------

export function jpegSegment(marker: number, payload: Buffer): Buffer {
  const header = Buffer.from([0xff, marker, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
}

/** Inserts segments right after SOI. */
export function withJpegSegments(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

import { pngChunk } from '../src/strip/png.ts';

export { pngChunk };

/** Inserts chunks right after IHDR (signature 8 + IHDR 25 bytes). */
export function withPngChunks(png: Buffer, ...chunks: Buffer[]): Buffer {
  return Buffer.concat([png.subarray(0, 33), ...chunks, png.subarray(33)]);
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A decompression bomb: a PNG announcing 50,000×50,000 8-bit greyscale pixels (2.5 gigapixels,
 * 2.5 GB decoded) in a couple of hundred bytes: a valid IHDR and the start of a deflate stream of zeros.
 */
export function pngBomb(width = 50_000, height = 50_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  const idat = deflateSync(Buffer.alloc((width + 1) * 16)).subarray(0, 64);
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An ISO-BMFF file head: an `ftyp` box and an empty `mdat`. */
export function isoBmff(majorBrand: string, compatible: string[]): Buffer {
  const ftyp = Buffer.alloc(16 + compatible.length * 4);
  ftyp.writeUInt32BE(ftyp.length, 0);
  ftyp.write('ftyp', 4, 'latin1');
  ftyp.write(majorBrand.padEnd(4, ' '), 8, 'latin1');
  ftyp.writeUInt32BE(0x200, 12);
  for (const [index, brand] of compatible.entries()) ftyp.write(brand.padEnd(4, ' '), 16 + index * 4, 'latin1');
  const mdat = Buffer.from([0, 0, 0, 8, 0x6d, 0x64, 0x61, 0x74]);
  return Buffer.concat([ftyp, mdat]);
}

/** A WebM file head: the EBML header with DocType "webm" and the start of a Segment. */
export function webmHead(): Buffer {
  const element = (id: number[], payload: number[]) => [...id, 0x80 | payload.length, ...payload];
  const body = [
    ...element([0x42, 0x86], [1]), // EBMLVersion
    ...element([0x42, 0xf7], [1]), // EBMLReadVersion
    ...element([0x42, 0xf2], [4]), // EBMLMaxIDLength
    ...element([0x42, 0xf3], [8]), // EBMLMaxSizeLength
    ...element([0x42, 0x82], [...Buffer.from('webm')]), // DocType
    ...element([0x42, 0x87], [4]), // DocTypeVersion
    ...element([0x42, 0x85], [2]), // DocTypeReadVersion
  ];
  const segment = [0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  return Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | body.length, ...body, ...segment]);
}

/** Deterministic noise that is no known format. */
export function randomBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = 0x12345678;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  bytes[0] = 0x42; // make sure it starts with no magic
  return bytes;
}

export function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

export interface MovieOptions {
  width: number;
  height: number;
  durationMs: number;
  createdAt: Date;
  /** Turn the video track a quarter turn through its matrix, as phones filming upright do. */
  quarterTurn?: boolean;
}

/** A playable-looking MP4 skeleton: ftyp, mdat, then moov (at the end, as many cameras write it). */
export function mp4(options: MovieOptions): Buffer {
  const mvhd = Buffer.alloc(100);
  mvhd.writeUInt32BE(Math.round(options.createdAt.getTime() / 1000) + 2_082_844_800, 4);
  mvhd.writeUInt32BE(1000, 12); // timescale
  mvhd.writeUInt32BE(options.durationMs, 16);
  const track = (handler: string, width: number, height: number) => {
    const tkhd = Buffer.alloc(84);
    const matrix = options.quarterTurn
      ? [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000]
      : [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];
    for (const [index, value] of matrix.entries()) tkhd.writeInt32BE(value, 40 + index * 4);
    tkhd.writeUInt32BE(width * 65536, 76);
    tkhd.writeUInt32BE(height * 65536, 80);
    const hdlr = Buffer.alloc(24);
    hdlr.write(handler, 8, 'latin1');
    return box('trak', box('tkhd', tkhd), box('mdia', box('hdlr', hdlr)));
  };
  const moov = box('moov', box('mvhd', mvhd), track('soun', 0, 0), track('vide', options.width, options.height));
  return Buffer.concat([isoBmff('isom', ['isom', 'mp41']).subarray(0, 24), box('mdat', Buffer.alloc(4096, 7)), moov]);
}
