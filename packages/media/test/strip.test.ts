import { Readable, type Transform } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { deflateSync } from 'node:zlib';
import exifr from 'exifr';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  canStripMetadata,
  createMetadataStripper,
  MediaError,
  type MetadataStripperOptions,
  measureStrippedSize,
} from '../src/index.ts';
import {
  FULL_EXIF,
  jpegSegment,
  PNG_SIGNATURE,
  photo,
  pngChunk,
  randomBytes,
  SECRETS,
  tempDir,
  withJpegSegments,
  withPngChunks,
  XMP,
} from './helpers.ts';

const files = tempDir();

/** Runs bytes through a stripper, in chunks of `chunkSize` bytes. */
async function strip(
  mime: string,
  input: Buffer,
  chunkSize = 64 * 1024,
  options: MetadataStripperOptions = {},
): Promise<Buffer> {
  const stripper = createMetadataStripper(mime, options);
  if (!stripper) throw new Error(`no stripper for ${mime}`);
  return buffer(Readable.from(chunks(input, chunkSize)).pipe(stripper));
}

function* chunks(input: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < input.length; at += size) yield input.subarray(at, at + size);
}

async function stripError(mime: string, input: Buffer): Promise<unknown> {
  return strip(mime, input).then(
    () => new Error('expected the stream to fail'),
    (error: unknown) => error,
  );
}

async function pixels(image: Buffer): Promise<Buffer> {
  return sharp(image).raw().toBuffer();
}

/** EXIF tags as exifr sees them; WebP through sharp's EXIF block, since exifr cannot open WebP. */
async function exifTags(image: Buffer): Promise<Record<string, unknown> | undefined> {
  const meta = await sharp(image).metadata();
  const source = meta.format === 'webp' ? meta.exif : image;
  if (!source) return undefined;
  return exifr.parse(source, {
    tiff: true,
    exif: true,
    gps: true,
    xmp: true,
    iptc: true,
    icc: false,
    ihdr: false,
    translateValues: false,
    mergeOutput: true,
  });
}

function expectNoSecrets(bytes: Buffer): void {
  const text = bytes.toString('latin1');
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  expect(text).not.toContain('http://ns.adobe.com/xap/1.0/');
  expect(text).not.toContain('x:xmpmeta');
}

const photoshopIptc = Buffer.concat([
  Buffer.from('Photoshop 3.0\0', 'latin1'),
  Buffer.from(`8BIM\x04\x04\0\0\0\0\0\x20${SECRETS.iptc}`, 'latin1'),
]);

async function loadedJpeg(orientation = 6): Promise<Buffer> {
  const jpeg = await photo('jpeg', { width: 96, height: 64, exif: FULL_EXIF, orientation, xmp: XMP, icc: 'p3' });
  const withExtras = withJpegSegments(
    jpeg,
    jpegSegment(0xfe, Buffer.from(SECRETS.comment, 'latin1')), // COM
    jpegSegment(0xed, photoshopIptc), // APP13
  );
  // a trailer after EOI, like an appended MPF/UltraHDR secondary image with its own EXIF
  const trailer = withJpegSegments(
    Buffer.from([0xff, 0xd8, 0xff, 0xd9]),
    jpegSegment(0xe1, Buffer.from(`Exif\0\0${SECRETS.trailer}`, 'latin1')),
  );
  return Buffer.concat([withExtras, trailer]);
}

async function loadedPng(orientation = 6): Promise<Buffer> {
  const png = await photo('png', { width: 96, height: 64, exif: FULL_EXIF, orientation, xmp: XMP, icc: 'p3' });
  const time = Buffer.from([0x07, 0xe7, 7, 14, 15, 16, 17]);
  const text = Buffer.from(`Comment\0${SECRETS.text}`, 'latin1');
  const ztxt = Buffer.concat([Buffer.from('Author\0\0', 'latin1'), deflateSync(Buffer.from(SECRETS.text, 'latin1'))]);
  // XMP as the XMP spec puts it in PNG: uncompressed iTXt (sharp itself writes a zTXt)
  const itxt = Buffer.from(`XML:com.adobe.xmp\0\0\0\0\0${XMP}`, 'utf8');
  return withPngChunks(
    png,
    pngChunk('tIME', time),
    pngChunk('tEXt', text),
    pngChunk('zTXt', ztxt),
    pngChunk('iTXt', itxt),
  );
}

async function loadedWebp(orientation = 6): Promise<Buffer> {
  return photo('webp', { width: 96, height: 64, exif: FULL_EXIF, orientation, xmp: XMP, icc: 'p3' });
}

describe('createMetadataStripper', () => {
  it('should return null for types that cannot be stripped without re-encoding', () => {
    for (const mime of [
      'image/avif',
      'image/gif',
      'image/tiff',
      'video/webm',
      'image/x-adobe-dng',
      'application/pdf',
    ]) {
      expect(createMetadataStripper(mime), mime).toBeNull();
      expect(canStripMetadata(mime)).toBe(false);
    }
    for (const mime of [
      'image/jpeg',
      'image/png',
      'image/webp',
      'image/heic',
      'image/heif',
      'video/mp4',
      'video/quicktime',
    ])
      expect(canStripMetadata(mime)).toBe(true);
  });

  describe('JPEG', () => {
    it('should drop EXIF, GPS, XMP, IPTC, comments and trailers but keep the pixels, ICC and orientation', async () => {
      const original = await loadedJpeg();
      const before = await sharp(original).metadata();
      expect(before).toMatchObject({ orientation: 6, icc: expect.any(Buffer), xmp: expect.any(Buffer) });
      for (const secret of [SECRETS.make, SECRETS.comment, SECRETS.iptc, SECRETS.trailer, SECRETS.xmp]) {
        expect(original.toString('latin1')).toContain(secret);
      }

      const stripped = await strip('image/jpeg', original);
      expectNoSecrets(stripped);
      expect(await pixels(stripped)).toEqual(await pixels(original));
      const after = await sharp(stripped).metadata();
      expect(after).toMatchObject({ format: 'jpeg', width: 96, height: 64, orientation: 6 });
      expect(after.icc).toEqual(before.icc);
      expect(after.xmp).toBeUndefined();
      expect(after.iptc).toBeUndefined();
      expect(await exifTags(stripped)).toEqual({ Orientation: 6 });
      expect(await exifr.gps(stripped).catch(() => undefined)).toBeUndefined();
      // ends exactly at EOI
      expect(stripped.subarray(-2)).toEqual(Buffer.from([0xff, 0xd9]));
    });

    it('should leave no EXIF at all when the orientation is 1', async () => {
      const stripped = await strip('image/jpeg', await loadedJpeg(1));
      expect((await sharp(stripped).metadata()).exif).toBeUndefined();
      expect(await exifTags(stripped)).toBeUndefined();
    });

    it('should give the same result when fed one byte at a time', async () => {
      const original = await loadedJpeg();
      expect(await strip('image/jpeg', original, 1)).toEqual(await strip('image/jpeg', original));
    });

    it('should keep the Adobe APP14 segment a CMYK JPEG needs for its colours', async () => {
      const cmyk = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#3366cc' } })
        .withExif(FULL_EXIF)
        .toColourspace('cmyk')
        .jpeg()
        .toBuffer();
      expect(await sharp(cmyk).metadata()).toMatchObject({ space: 'cmyk' });
      const stripped = await strip('image/jpeg', cmyk);
      expect(stripped.toString('latin1')).toContain('Adobe');
      expectNoSecrets(stripped);
      expect(await sharp(stripped).metadata()).toMatchObject({ space: 'cmyk' });
      expect(await pixels(stripped)).toEqual(await pixels(cmyk));
    });

    it('should handle a progressive JPEG (markers between scans)', async () => {
      const progressive = await sharp({
        create: {
          width: 64,
          height: 48,
          channels: 3,
          background: '#000000',
          noise: { type: 'gaussian', mean: 128, sigma: 50 },
        },
      })
        .withExif(FULL_EXIF)
        .jpeg({ progressive: true })
        .toBuffer();
      const withComment = withJpegSegments(progressive, jpegSegment(0xfe, Buffer.from(SECRETS.comment)));
      const stripped = await strip('image/jpeg', withComment, 7);
      expectNoSecrets(stripped);
      expect(await pixels(stripped)).toEqual(await pixels(progressive));
    });

    it('should fail CORRUPT on a truncated JPEG, on non-JPEG bytes and on a bad segment; EMPTY on nothing', async () => {
      const original = await loadedJpeg();
      const truncated = await stripError('image/jpeg', original.subarray(0, 400));
      expect(truncated).toBeInstanceOf(MediaError);
      expect(truncated).toMatchObject({ code: 'CORRUPT', message: expect.stringContaining('truncated') });
      expect(await stripError('image/jpeg', randomBytes(1000))).toMatchObject({ code: 'CORRUPT' });
      const badLength = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x01]), randomBytes(100)]);
      expect(await stripError('image/jpeg', badLength)).toMatchObject({ code: 'CORRUPT' });
      const garbageBetweenSegments = Buffer.concat([Buffer.from([0xff, 0xd8, 0x12, 0x34]), original.subarray(2)]);
      expect(await stripError('image/jpeg', garbageBetweenSegments)).toMatchObject({ code: 'CORRUPT' });
      expect(await stripError('image/jpeg', Buffer.alloc(0))).toMatchObject({ code: 'EMPTY' });
    });

    it('should stream: output flows before the input has ended', async () => {
      // SOI, a DQT-less minimal header and a long scan: the stripper must not wait for EOI
      const head = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3f, 0x00]);
      const stripper = createMetadataStripper('image/jpeg') as Transform;
      let received = 0;
      stripper.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      stripper.write(head);
      const scan = Buffer.alloc(1024 * 1024, 0x11);
      for (let i = 0; i < 8; i++) stripper.write(scan);
      await new Promise((resolve) => setImmediate(resolve));
      expect(received).toBeGreaterThanOrEqual(8 * scan.length);
      stripper.end(Buffer.from([0xff, 0xd9]));
      await new Promise((resolve) => stripper.on('end', resolve));
      expect(received).toBe(head.length + 8 * scan.length + 2);
    });
  });

  describe('PNG', () => {
    it('should drop eXIf, tEXt, zTXt, iTXt and tIME but keep the pixels, iCCP and orientation', async () => {
      const original = await loadedPng();
      const before = await sharp(original).metadata();
      expect(before).toMatchObject({ orientation: 6, icc: expect.any(Buffer), xmp: expect.any(Buffer) });
      expect(pngChunkTypes(original)).toEqual(expect.arrayContaining(['eXIf', 'iTXt', 'tEXt', 'zTXt', 'tIME']));
      for (const secret of [SECRETS.make, SECRETS.text, SECRETS.xmp])
        expect(original.toString('latin1')).toContain(secret);
      const stripped = await strip('image/png', original);
      expectNoSecrets(stripped);
      expect(await pixels(stripped)).toEqual(await pixels(original));
      const after = await sharp(stripped).metadata();
      expect(after).toMatchObject({ format: 'png', orientation: 6 });
      expect(after.icc).toEqual(before.icc);
      expect(after.xmp).toBeUndefined();
      expect(await exifTags(stripped)).toEqual({ Orientation: 6 });
      const types = pngChunkTypes(stripped);
      expect(types).toEqual(expect.arrayContaining(['IHDR', 'iCCP', 'eXIf', 'IDAT', 'IEND']));
      for (const dropped of ['tEXt', 'zTXt', 'iTXt', 'tIME']) expect(types).not.toContain(dropped);
    });

    it('should give the same result when fed one byte at a time, and drop bytes after IEND', async () => {
      const original = Buffer.concat([await loadedPng(), Buffer.from(SECRETS.trailer)]);
      const whole = await strip('image/png', original);
      expect(await strip('image/png', original, 1)).toEqual(whole);
      expectNoSecrets(whole);
    });

    it('should fail CORRUPT on truncation and on a broken chunk header', async () => {
      const original = await loadedPng();
      expect(await stripError('image/png', original.subarray(0, original.length - 6))).toMatchObject({
        code: 'CORRUPT',
      });
      expect(await stripError('image/png', Buffer.concat([PNG_SIGNATURE, randomBytes(64)]))).toMatchObject({
        code: 'CORRUPT',
      });
      expect(await stripError('image/png', await photo('jpeg'))).toMatchObject({ code: 'CORRUPT' });
    });
  });

  describe('WebP', () => {
    for (const [mode, options] of [
      ['buffered', {}],
      ['streaming', { maxBufferedBytes: 0 }],
    ] as const) {
      it(`should drop EXIF and XMP but keep the pixels, ICC and orientation (${mode} mode)`, async () => {
        const original = await loadedWebp();
        const before = await sharp(original).metadata();
        expect(before).toMatchObject({
          orientation: 6,
          icc: expect.any(Buffer),
          xmp: expect.any(Buffer),
          exif: expect.any(Buffer),
        });
        expect(riffChunkTypes(original)).toEqual(['VP8X', 'ICCP', 'VP8 ', 'EXIF', 'XMP ']);
        expect(original.toString('latin1')).toContain(SECRETS.make);
        const stripped = await strip('image/webp', original, 64 * 1024, options);
        expectNoSecrets(stripped);
        expect(await pixels(stripped)).toEqual(await pixels(original));
        const after = await sharp(stripped).metadata();
        expect(after).toMatchObject({ format: 'webp', orientation: 6 });
        expect(after.icc).toEqual(before.icc);
        expect(after.xmp).toBeUndefined();
        expect(await exifTags(stripped)).toEqual({ Orientation: 6 });
        expect(stripped.readUInt32LE(4)).toBe(stripped.length - 8);
        expect(await strip('image/webp', original, 1, options)).toEqual(stripped);
      });
    }

    it('should remove the chunks outright and shrink the RIFF size in buffered mode', async () => {
      const original = await loadedWebp(1);
      const stripped = await strip('image/webp', original);
      expect(riffChunkTypes(stripped)).toEqual(['VP8X', 'ICCP', 'VP8 ']);
      expect(stripped[20]).toBe(0x20); // VP8X flags: ICC only
      expect(stripped.length).toBeLessThan(original.length);
    });

    it('should keep the length in streaming mode, turning XMP into zeroed JUNK', async () => {
      const original = await loadedWebp(1);
      const stripped = await strip('image/webp', original, 1000, { maxBufferedBytes: 0 });
      expect(stripped.length).toBe(original.length);
      expect(riffChunkTypes(stripped)).toEqual(['VP8X', 'ICCP', 'VP8 ', 'EXIF', 'JUNK']);
      expect(await exifTags(stripped)).toEqual({ Orientation: 1 });
    });

    it('should fail CORRUPT on truncation and on a RIFF size that does not add up', async () => {
      const original = await loadedWebp();
      expect(await stripError('image/webp', original.subarray(0, original.length - 10))).toMatchObject({
        code: 'CORRUPT',
      });
      const lying = Buffer.from(original);
      lying.writeUInt32LE(original.length + 1000, 4);
      expect(await stripError('image/webp', lying)).toMatchObject({ code: 'CORRUPT' });
      const badChunk = Buffer.from(original);
      badChunk.writeUInt32LE(0x7ffffff0, 16); // VP8X claims to be huge
      expect(await stripError('image/webp', badChunk)).toMatchObject({ code: 'CORRUPT' });
    });
  });

  it('should stream a PNG: a large IDAT flows through before the input has ended', async () => {
    const png = await photo('png', { width: 8, height: 8 });
    const stripper = createMetadataStripper('image/png') as Transform;
    let received = 0;
    stripper.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    const idatLength = 16 * 1024 * 1024;
    const header = Buffer.alloc(8);
    header.writeUInt32BE(idatLength, 0);
    header.write('IDAT', 4, 'latin1');
    stripper.write(png.subarray(0, 33)); // signature + IHDR
    stripper.write(header);
    const slice = Buffer.alloc(1024 * 1024, 0x22);
    for (let i = 0; i < 15; i++) stripper.write(slice);
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toBeGreaterThanOrEqual(33 + 8 + 15 * slice.length);
    stripper.destroy();
  });

  it('should never hang or throw anything but a MediaError on damaged input', async () => {
    const originals = {
      'image/jpeg': await loadedJpeg(),
      'image/png': await loadedPng(),
      'image/webp': await loadedWebp(),
    };
    let seed = 7;
    const next = (limit: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % limit;
    };
    let failures = 0;
    for (const [mime, original] of Object.entries(originals)) {
      for (let round = 0; round < 60; round++) {
        const damaged = Buffer.from(original);
        for (let flips = 1 + next(4); flips > 0; flips--) damaged[next(Math.min(damaged.length, 2048))] = next(256);
        const cut = next(3) === 0 ? damaged.subarray(0, next(damaged.length)) : damaged;
        const outcome = await strip(mime, cut, 1 + next(300)).catch((error: unknown) => error);
        if (Buffer.isBuffer(outcome)) continue;
        failures++;
        expect(outcome).toBeInstanceOf(MediaError);
        expect(['CORRUPT', 'EMPTY']).toContain((outcome as MediaError).code);
      }
    }
    expect(failures).toBeGreaterThan(0);
  });

  it('should measure the stripped size for Content-Length', async () => {
    for (const [mime, bytes] of [
      ['image/jpeg', await loadedJpeg()],
      ['image/png', await loadedPng()],
      ['image/webp', await loadedWebp()],
    ] as const) {
      const path = files.write(`measure-${mime.replace('/', '-')}`, bytes);
      expect(await measureStrippedSize(path, mime)).toBe((await strip(mime, bytes)).length);
    }
    expect(await measureStrippedSize(files.write('clip.webm', Buffer.from('x')), 'video/webm')).toBeNull();
  });
});

function pngChunkTypes(png: Buffer): string[] {
  const types: string[] = [];
  for (let at = 8; at + 8 <= png.length; ) {
    const length = png.readUInt32BE(at);
    types.push(png.toString('latin1', at + 4, at + 8));
    at += 12 + length;
  }
  return types;
}

function riffChunkTypes(webp: Buffer): string[] {
  const types: string[] = [];
  for (let at = 12; at + 8 <= webp.length; ) {
    const size = webp.readUInt32LE(at + 4);
    types.push(webp.toString('latin1', at, at + 4));
    at += 8 + size + (size & 1);
  }
  return types;
}
