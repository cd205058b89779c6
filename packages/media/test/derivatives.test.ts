import exifr from 'exifr';
import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToAverageRGBA, thumbHashToRGBA } from 'thumbhash';
import { describe, expect, it } from 'vitest';
import { shrinkToRgba } from '../src/derivatives.ts';
import { genericThumbnail, MediaError, probeMedia, renderDerivatives } from '../src/index.ts';
import { type Format, FULL_EXIF, halves, isoBmff, photo, pngBomb, randomBytes, tempDir, XMP } from './helpers.ts';

const files = tempDir();

async function pixelAt(image: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return [...data.subarray(at, at + 3)];
}

describe('renderDerivatives', () => {
  it('should make a WebP thumbnail within 250 px and a JPEG preview within 1440 px', async () => {
    const path = files.write('big.jpg', await photo('jpeg', { width: 3000, height: 2000, noise: false }));
    const result = await renderDerivatives(path, { maxPixels: 100_000_000 });
    expect(result).toMatchObject({ width: 3000, height: 2000 });
    const thumbnail = await sharp(result.thumbnail).metadata();
    const preview = await sharp(result.preview).metadata();
    expect(thumbnail).toMatchObject({ format: 'webp', width: 250, height: 167 });
    expect(preview).toMatchObject({ format: 'jpeg', width: 1440, height: 960 });
  });

  it('should never upscale a small image', async () => {
    const result = await renderDerivatives(files.write('small.png', await photo('png', { width: 120, height: 80 })));
    expect(await sharp(result.thumbnail).metadata()).toMatchObject({ width: 120, height: 80 });
    expect(await sharp(result.preview).metadata()).toMatchObject({ width: 120, height: 80 });
    expect(result).toMatchObject({ width: 120, height: 80 });
  });

  it('should turn the outputs upright per EXIF orientation', async () => {
    // stored landscape, left half red; orientation 6 = turn 90° clockwise: displayed portrait, red on top
    const path = files.write('turned.jpg', await halves(600, 400, 6));
    const result = await renderDerivatives(path);
    expect(result).toMatchObject({ width: 400, height: 600 });
    const thumbnail = await sharp(result.thumbnail).metadata();
    const preview = await sharp(result.preview).metadata();
    expect(thumbnail.height).toBeGreaterThan(thumbnail.width);
    expect(preview).toMatchObject({ width: 400, height: 600 });
    const [top, bottom] = [await pixelAt(result.preview, 200, 100), await pixelAt(result.preview, 200, 500)];
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
    expect(thumbHashToApproximateAspectRatio(result.thumbhash)).toBeLessThan(1);
  });

  it('should write no EXIF, GPS, XMP or ICC into the outputs', async () => {
    const path = files.write('meta.jpg', await photo('jpeg', { exif: FULL_EXIF, orientation: 3, xmp: XMP, icc: 'p3' }));
    const result = await renderDerivatives(path);
    for (const output of [result.thumbnail, result.preview]) {
      const meta = await sharp(output).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.iptc).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
    }
    expect(await exifr.parse(result.preview)).toBeUndefined();
    expect(await exifr.gps(result.preview).catch(() => undefined)).toBeUndefined();
  });

  it('should produce a thumbhash that decodes to the image colour', async () => {
    const path = files.write('flat.png', await photo('png', { width: 300, height: 150, noise: false }));
    const result = await renderDerivatives(path);
    const decoded = thumbHashToRGBA(result.thumbhash);
    expect(decoded.w).toBeGreaterThan(decoded.h);
    const average = thumbHashToAverageRGBA(result.thumbhash);
    expect(average.r).toBeGreaterThan(0.6);
    expect(average.g).toBeLessThan(0.3);
  });

  it('should take the header probeMedia read instead of reading it again, with the same result', async () => {
    const path = files.write('probed.jpg', await photo('jpeg', { width: 900, height: 600, orientation: 6 }));
    const probe = await probeMedia(path);
    expect(probe.image).toMatchObject({ width: 900, height: 600, uprightWidth: 600, uprightHeight: 900 });
    const withHeader = await renderDerivatives(path, { header: probe.image });
    const alone = await renderDerivatives(path);
    expect(withHeader).toEqual(alone);
    expect(withHeader).toMatchObject({ width: 600, height: 900 });
  });

  it('should hand over the preview as soon as it is encoded, opaque or not', async () => {
    for (const [name, alpha] of [
      ['early.jpg', false],
      ['early.png', true],
    ] as const) {
      const bytes = await photo(alpha ? 'png' : 'jpeg', { width: 500, height: 300, alpha });
      const seen: Buffer[] = [];
      const result = await renderDerivatives(files.write(name, bytes), { onPreview: (p) => seen.push(p) });
      expect(seen).toHaveLength(1);
      expect(seen[0]?.equals(result.preview)).toBe(true);
    }
  });

  it('should make sRGB colour outputs from a greyscale JPEG', async () => {
    const grey = await sharp(await photo('jpeg', { width: 600, height: 400 }))
      .toColourspace('b-w')
      .jpeg()
      .toBuffer();
    expect(await sharp(grey).metadata()).toMatchObject({ channels: 1 });
    const result = await renderDerivatives(files.write('grey.jpg', grey));
    expect(await sharp(result.preview).metadata()).toMatchObject({ space: 'srgb', channels: 3, width: 600 });
    expect(await sharp(result.thumbnail).metadata()).toMatchObject({ space: 'srgb', channels: 3, width: 250 });
  });

  it('should keep transparency in the thumbnail and flatten it in the JPEG preview', async () => {
    const result = await renderDerivatives(files.write('alpha.png', await photo('png', { alpha: true, noise: false })));
    expect(await sharp(result.thumbnail).metadata()).toMatchObject({ hasAlpha: true });
    expect(await sharp(result.preview).metadata()).toMatchObject({ hasAlpha: false, channels: 3 });
  });

  for (const format of ['webp', 'avif', 'gif', 'tiff'] as Format[]) {
    it(`should decode ${format}`, async () => {
      const result = await renderDerivatives(
        files.write(`in.${format}`, await photo(format, { width: 400, height: 300 })),
      );
      expect(await sharp(result.thumbnail).metadata()).toMatchObject({ format: 'webp', width: 250, height: 188 });
      expect(result).toMatchObject({ width: 400, height: 300 });
    });
  }

  it('should fail CORRUPT on a truncated JPEG', async () => {
    const whole = await photo('jpeg', { width: 800, height: 600 });
    const path = files.write('truncated.jpg', whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await renderDerivatives(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaError);
    expect(error).toMatchObject({
      code: 'CORRUPT',
      message: expect.stringMatching(/cannot be decoded: .*premature end/i),
    });
  });

  it('should fail CORRUPT on a PNG whose data is damaged', async () => {
    const png = await photo('png', { width: 200, height: 200 });
    const damaged = Buffer.from(png);
    damaged.fill(0x55, 60, png.length - 20); // IDAT contents, keeping the chunk framing
    await expect(renderDerivatives(files.write('damaged.png', damaged))).rejects.toMatchObject({ code: 'CORRUPT' });
  });

  it('should fail UNSUPPORTED_TYPE on random bytes and on files without a decoder', async () => {
    await expect(renderDerivatives(files.write('random.jpg', randomBytes(5000)))).rejects.toMatchObject({
      code: 'UNSUPPORTED_TYPE',
    });
    await expect(renderDerivatives(files.write('clip.mp4', isoBmff('isom', ['isom'])))).rejects.toMatchObject({
      code: 'UNSUPPORTED_TYPE',
      message: expect.stringContaining('video/mp4'),
    });
  });

  it('should refuse a decompression bomb before decoding', async () => {
    await expect(
      renderDerivatives(files.write('bomb.png', pngBomb()), { maxPixels: 100_000_000 }),
    ).rejects.toMatchObject({
      code: 'TOO_MANY_PIXELS',
    });
  });
});

describe('shrinkToRgba (the thumbhash input)', () => {
  it('should area-average into a 100 px box, keeping the aspect ratio and never enlarging', () => {
    const rgb = new Uint8Array(250 * 188 * 3);
    for (let i = 0; i < rgb.length; i += 3) {
      const x = (i / 3) % 250;
      rgb.set(x < 125 ? [255, 0, 0] : [0, 0, 255], i); // left half red, right half blue
    }
    const out = shrinkToRgba(rgb, 250, 188, 3, 100);
    expect(out).toMatchObject({ width: 100, height: 75 });
    expect([...out.rgba.subarray(0, 4)]).toEqual([255, 0, 0, 255]);
    const last = (75 * 100 - 1) * 4;
    expect([...out.rgba.subarray(last, last + 4)]).toEqual([0, 0, 255, 255]);
    expect(shrinkToRgba(new Uint8Array(30 * 20 * 3), 30, 20, 3, 100)).toMatchObject({ width: 30, height: 20 });
  });

  it('should weight colour by alpha, so transparent pixels lend no colour', () => {
    // 2×1 → 1×1: an opaque green pixel and a fully transparent red one
    const out = shrinkToRgba(new Uint8Array([0, 200, 0, 255, 255, 0, 0, 0]), 2, 1, 4, 1);
    expect([...out.rgba]).toEqual([0, 200, 0, 128]);
  });
});

describe('genericThumbnail', () => {
  it('should draw a placeholder in the same shape as real derivatives', async () => {
    for (const [assetType, mime] of [
      ['VIDEO', 'video/mp4'],
      ['IMAGE', 'image/heic'],
      ['OTHER', 'application/octet-stream'],
    ] as const) {
      const result = await genericThumbnail(assetType, mime);
      expect(await sharp(result.thumbnail).metadata()).toMatchObject({ format: 'webp', width: 250, height: 188 });
      expect(await sharp(result.preview).metadata()).toMatchObject({ format: 'jpeg', width: 1440, height: 1080 });
      expect(result).toMatchObject({ width: 1440, height: 1080 });
      expect(thumbHashToRGBA(result.thumbhash).w).toBeGreaterThan(0);
    }
  });

  it('should draw a play symbol for videos (a light centre on a dark background)', async () => {
    const { preview } = await genericThumbnail('VIDEO', 'video/quicktime');
    const [centre, corner] = [await pixelAt(preview, 720 + 30, 540), await pixelAt(preview, 10, 10)];
    expect(centre[0]).toBeGreaterThan(200);
    expect(corner[0]).toBeLessThan(80);
  });
});
