import { describe, expect, it } from 'vitest';
import { MediaError, probeMedia } from '../src/index.ts';
import { formatExposureTime, readCaptureDate } from '../src/probe.ts';
import { FULL_EXIF, GPS, isoBmff, mp4, photo, pngBomb, randomBytes, SECRETS, tempDir, webmHead } from './helpers.ts';

const files = tempDir();

describe('probeMedia', () => {
  it('should read dimensions, orientation and every EXIF field of a JPEG', async () => {
    const path = files.write(
      'full.jpg',
      await photo('jpeg', { width: 640, height: 320, exif: FULL_EXIF, orientation: 6 }),
    );
    const probe = await probeMedia(path, { maxPixels: 100_000_000 });
    expect(probe).toMatchObject({
      mime: 'image/jpeg',
      assetType: 'IMAGE',
      // stored 640×320 with orientation 6 (turn 90°): displayed portrait
      width: 320,
      height: 640,
      orientation: 6,
      fileCreatedAt: '2023-07-14T13:16:17.250Z',
      localDateTime: '2023-07-14T15:16:17.250Z',
    });
    expect(probe.exif).toEqual({
      make: SECRETS.make,
      model: SECRETS.model,
      lensModel: SECRETS.lens,
      exposureTime: '1/250',
      fNumber: 2.8,
      focalLength: 50,
      iso: 400,
      dateTimeOriginal: '2023-07-14T13:16:17.250Z',
      timeZone: '+02:00',
      latitude: expect.closeTo(GPS.latitude, 4),
      longitude: expect.closeTo(GPS.longitude, 4),
      orientation: 6,
      description: SECRETS.description,
      city: null,
      state: null,
      country: null,
    });
    expect(probe.exif.latitude?.toFixed(4)).toBe('52.5201');
    expect(probe.exif.longitude?.toFixed(4)).toBe('-13.4083');
  });

  it('should read EXIF from PNG and WebP too (exifr cannot read WebP; sharp hands over the block)', async () => {
    for (const format of ['png', 'webp'] as const) {
      const path = files.write(`exif.${format}`, await photo(format, { exif: FULL_EXIF, orientation: 8 }));
      const probe = await probeMedia(path);
      expect(probe).toMatchObject({ width: 200, height: 320, orientation: 8 });
      expect(probe.exif).toMatchObject({ make: SECRETS.make, iso: 400, latitude: expect.closeTo(GPS.latitude, 4) });
    }
  });

  it('should report stored dimensions and orientation 1 for a photo without EXIF', async () => {
    const probe = await probeMedia(files.write('plain.png', await photo('png', { width: 30, height: 20 })));
    expect(probe).toMatchObject({ width: 30, height: 20, orientation: 1 });
    expect(probe.exif.make).toBeNull();
    expect(probe.exif.dateTimeOriginal).toBeNull();
    expect(probe.fileCreatedAt).toBeUndefined();
    expect(probe.localDateTime).toBeUndefined();
  });

  it('should take a capture time without a zone as UTC, whatever the server time zone', async () => {
    const exif = { IFD2: { DateTimeOriginal: '2021:02:03 04:05:06' } };
    const probe = await probeMedia(files.write('nozone.jpg', await photo('jpeg', { exif })));
    expect(probe.fileCreatedAt).toBe('2021-02-03T04:05:06.000Z');
    expect(probe.localDateTime).toBe('2021-02-03T04:05:06.000Z');
    expect(probe.exif.timeZone).toBeNull();
  });

  it('should ignore impossible dates', () => {
    expect(readCaptureDate({ DateTimeOriginal: '0000:00:00 00:00:00' })).toBeNull();
    expect(readCaptureDate({ DateTimeOriginal: '2023:02:31 10:00:00' })).toBeNull();
    expect(readCaptureDate({ DateTimeOriginal: '2023:02:28 10:00:00', OffsetTimeOriginal: '-05:30' })?.instant).toBe(
      '2023-02-28T15:30:00.000Z',
    );
  });

  it('should render exposure times as Immich does', () => {
    expect(formatExposureTime(1 / 250)).toBe('1/250');
    expect(formatExposureTime(1 / 8)).toBe('1/8');
    expect(formatExposureTime(0.5)).toBe('0.5');
    expect(formatExposureTime(2)).toBe('2');
    expect(formatExposureTime(1.3)).toBe('1.3');
    expect(formatExposureTime(0)).toBeNull();
  });

  it('should refuse a 50,000×50,000 PNG bomb from its header, before decoding', async () => {
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(1024);
    const path = files.write('bomb.png', bomb);
    const rssBefore = process.memoryUsage().rss;
    const error = await probeMedia(path, { maxPixels: 100_000_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaError);
    expect(error).toMatchObject({
      code: 'TOO_MANY_PIXELS',
      message: 'image is 50000×50000 = 2500 megapixels; the limit is 100 megapixels',
    });
    // nothing near the 2.5 GB a decode would need was allocated
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  });

  it('should apply the pixel limit it is given', async () => {
    const path = files.write('small.png', await photo('png', { width: 200, height: 100 }));
    await expect(probeMedia(path, { maxPixels: 10_000 })).rejects.toMatchObject({
      code: 'TOO_MANY_PIXELS',
      message: 'image is 200×100 = 0.02 megapixels; the limit is 0.01 megapixels',
    });
    await expect(probeMedia(path, { maxPixels: 20_000 })).resolves.toMatchObject({ width: 200 });
  });

  it('should fail EMPTY, UNSUPPORTED_TYPE and CORRUPT with reasons', async () => {
    await expect(probeMedia(files.write('empty.jpg', Buffer.alloc(0)))).rejects.toMatchObject({ code: 'EMPTY' });
    await expect(probeMedia(files.write('noise.jpg', randomBytes(2048)))).rejects.toMatchObject({
      code: 'UNSUPPORTED_TYPE',
    });
    const notReallyJpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(500)]);
    await expect(probeMedia(files.write('broken.jpg', notReallyJpeg))).rejects.toMatchObject({
      code: 'CORRUPT',
      message: expect.stringMatching(/^the JPG header cannot be read: /),
    });
  });

  it('should read dimensions, duration and creation time of an MP4 from its moov box, wherever it is', async () => {
    const createdAt = new Date('2024-05-06T07:08:09.000Z');
    const path = files.write(
      'clip.mp4',
      mp4({ width: 1920, height: 1080, durationMs: 12_345, createdAt, quarterTurn: true }),
    );
    const probe = await probeMedia(path);
    expect(probe).toMatchObject({
      mime: 'video/mp4',
      assetType: 'VIDEO',
      width: 1080, // filmed upright: the track matrix turns the 1920×1080 frames
      height: 1920,
      orientation: 1,
      durationSeconds: 12.345,
      fileCreatedAt: '2024-05-06T07:08:09.000Z',
    });
    expect(probe.exif.latitude).toBeNull();
  });

  it('should accept a HEIC it cannot decode, knowing its type if not its size', async () => {
    const probe = await probeMedia(files.write('photo.heic', isoBmff('heic', ['mif1', 'heic'])));
    expect(probe).toMatchObject({ mime: 'image/heic', assetType: 'IMAGE', width: null, height: null, orientation: 1 });
  });

  it('should probe a video it cannot read the header of: type known, dimensions null', async () => {
    const probe = await probeMedia(files.write('head-only.mp4', isoBmff('isom', ['isom', 'mp41'])));
    expect(probe).toMatchObject({
      mime: 'video/mp4',
      assetType: 'VIDEO',
      width: null,
      height: null,
      durationSeconds: null,
    });
    const webm = await probeMedia(files.write('clip.webm', webmHead()));
    expect(webm).toMatchObject({ mime: 'video/webm', assetType: 'VIDEO', width: null, durationSeconds: null });
  });
});
