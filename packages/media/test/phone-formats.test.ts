import { writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  detectMediaTools,
  isWebPlayable,
  MediaError,
  type MediaTools,
  parseIso6709,
  probeMedia,
  renderHeifDerivatives,
  renderVideoPoster,
  runTool,
  ToolError,
} from '../src/index.ts';
import { tempDir } from './helpers.ts';
import {
  addIrot,
  addSecrets,
  appleExif,
  heifEnc,
  makeGridHeif,
  makeVideo,
  meanColour,
  PLACE,
  run,
  SECRET,
  twoColourJpeg,
} from './phone-fixtures.ts';

const files = tempDir();
let tools: MediaTools;
const RED: [number, number, number] = [220, 30, 30];
const BLUE: [number, number, number] = [30, 30, 220];
const GREEN: [number, number, number] = [30, 200, 30];
const YELLOW: [number, number, number] = [220, 220, 30];

beforeAll(async () => {
  tools = await detectMediaTools();
});

function near(actual: number[], expected: number[], tolerance = 30): void {
  for (const [i, value] of actual.entries()) {
    expect(Math.abs(value - (expected[i] as number)), `${actual} vs ${expected}`).toBeLessThan(tolerance);
  }
}

/** An iPhone-like HEIC: landscape sensor pixels (left red, right blue), irot 3 + EXIF orientation 6, GPS, secrets. */
async function iphoneHeic(name: string, contentIdentifier: string | null = null): Promise<string> {
  const jpeg = files.write(`${name}.jpg`, await twoColourJpeg(400, 300, RED, BLUE, appleExif(contentIdentifier, 6)));
  const heic = files.path(`${name}.heic`);
  heifEnc(heic, [jpeg]);
  addIrot(heic, 3);
  addSecrets(heic);
  return heic;
}

describe('media tools', () => {
  it('should find ffmpeg, ffprobe and heif-convert on this machine', () => {
    expect(tools.ffmpeg).not.toBeNull();
    expect(tools.ffprobe).not.toBeNull();
    expect(tools.heifConvert).not.toBeNull();
  });

  it('should report a missing tool, a failing tool, a timeout and an output overflow distinctly', async () => {
    await expect(runTool('immish-no-such-tool', [])).rejects.toMatchObject({ name: 'ToolError', reason: 'missing' });
    await expect(runTool('sh', ['-c', 'echo broken >&2; exit 3'])).rejects.toBeInstanceOf(MediaError);
    await expect(runTool('sleep', ['30'], { timeoutMs: 200 })).rejects.toMatchObject({ reason: 'timeout' });
    await expect(runTool('yes', [], { maxOutputBytes: 1000 })).rejects.toMatchObject({ reason: 'output-limit' });
    const controller = new AbortController();
    const running = runTool('sleep', ['30'], { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(ToolError);
  });
});

describe('HEIC from an iPhone', () => {
  it('should probe GPS, camera, date and displayed (portrait) dimensions', async () => {
    const heic = await iphoneHeic('probe');
    const probe = await probeMedia(heic, { tools });
    expect(probe).toMatchObject({ mime: 'image/heic', assetType: 'IMAGE', width: 300, height: 400 });
    expect(probe.exif).toMatchObject({
      make: SECRET.make,
      model: SECRET.model,
      description: SECRET.description,
      dateTimeOriginal: '2024-05-06T05:08:09.000Z',
      timeZone: '+02:00',
      orientation: 6,
    });
    expect(probe.exif.latitude).toBeCloseTo(PLACE.latitude, 4);
    expect(probe.exif.longitude).toBeCloseTo(PLACE.longitude, 4);
    expect(probe.heif).toMatchObject({ rotation: 3, topLevelIndex: 0, topLevelCount: 1 });
  });

  it('should render an upright thumbnail and preview of the right colours (rotation applied once)', async () => {
    const heic = await iphoneHeic('render');
    const probe = await probeMedia(heic, { tools });
    const result = await renderHeifDerivatives(heic, probe.heif ?? null, { maxPixels: 1e8, tools });
    const preview = await sharp(result.preview).metadata();
    expect([preview.width, preview.height]).toEqual([300, 400]);
    expect([result.width, result.height]).toEqual([300, 400]);
    // a quarter turn clockwise puts the left (red) half on top; applied twice it would be on the right
    near(await meanColour(result.preview, { left: 0.1, top: 0.05, width: 0.8, height: 0.35 }), RED);
    near(await meanColour(result.preview, { left: 0.1, top: 0.6, width: 0.8, height: 0.35 }), BLUE);
    near(await meanColour(result.thumbnail, { left: 0.1, top: 0.05, width: 0.8, height: 0.35 }), RED);
    expect(result.thumbhash.length).toBeGreaterThan(5);
    expect((await sharp(result.thumbnail).metadata()).exif).toBeUndefined();
  });

  it('should read the Live Photo content identifier from the MakerNote', async () => {
    const heic = await iphoneHeic('live', 'A1B2C3D4-LIVE-0001');
    expect((await probeMedia(heic, { tools })).contentIdentifier).toBe('A1B2C3D4-LIVE-0001');
  });

  it('should take the primary image of a multi-image HEIF, whichever it is', async () => {
    const a = files.write('multi-a.jpg', await twoColourJpeg(320, 240, BLUE, BLUE));
    const b = files.write('multi-b.jpg', await twoColourJpeg(200, 100, RED, RED));
    const heic = files.path('multi.heic');
    heifEnc(heic, [a, b]);
    const probe = await probeMedia(heic, { tools });
    expect(probe.heif).toMatchObject({ topLevelIndex: 0, topLevelCount: 2 });
    expect([probe.width, probe.height]).toEqual([320, 240]);
    const result = await renderHeifDerivatives(heic, probe.heif ?? null, { maxPixels: 1e8, tools });
    near(await meanColour(result.preview), BLUE);
  });

  it('should decode a grid HEIC (how iPhones store every photo) whole, cropped, upright, each tile in its place', async () => {
    const colours = [RED, GREEN, BLUE, YELLOW];
    const tiles: string[] = [];
    for (const [i, c] of colours.entries())
      tiles.push(files.write(`tile-${i}.jpg`, await twoColourJpeg(256, 192, c, c)));
    const heic = files.path('grid.heic');
    // 2×2 tiles of 256×192 cropped to 500×380, turned a quarter clockwise, with GPS and camera written by exiftool
    makeGridHeif(heic, tiles, { rows: 2, cols: 2, width: 500, height: 380 });
    addIrot(heic, 3);
    addSecrets(heic);
    const probe = await probeMedia(heic, { tools });
    expect(probe).toMatchObject({ mime: 'image/heic', assetType: 'IMAGE', width: 380, height: 500 });
    expect(probe.heif).toMatchObject({ rotation: 3, topLevelIndex: 0, topLevelCount: 1 });
    expect(probe.exif).toMatchObject({ make: SECRET.make, model: SECRET.model });
    expect(probe.exif.latitude).toBeCloseTo(PLACE.latitude, 4);
    const result = await renderHeifDerivatives(heic, probe.heif ?? null, { maxPixels: 1e8, tools });
    expect([result.width, result.height]).toEqual([380, 500]);
    const preview = await sharp(result.preview).metadata();
    expect([preview.width, preview.height]).toEqual([380, 500]);
    // turned a quarter clockwise: bottom-left (blue) to top-left, top-left (red) to top-right, and so on
    const quadrant = (left: number, top: number) =>
      meanColour(result.preview, { left: left + 0.1, top: top + 0.1, width: 0.3, height: 0.3 });
    near(await quadrant(0, 0), BLUE);
    near(await quadrant(0.5, 0), RED);
    near(await quadrant(0, 0.5), YELLOW);
    near(await quadrant(0.5, 0.5), GREEN);
  });

  it('should not count an embedded thumbnail image (thmb) as a picture of its own', async () => {
    const jpeg = files.write('thumbed.jpg', await twoColourJpeg(320, 240, RED, RED));
    const heic = files.path('thumbed.heic');
    run('heif-enc', ['-q', '85', '-t', '64', jpeg, '-o', heic]);
    expect(run('heif-info', [heic]).toString()).toMatch(/thumbnail/);
    const probe = await probeMedia(heic, { tools });
    expect(probe.heif).toMatchObject({ topLevelIndex: 0, topLevelCount: 1 });
    expect([probe.width, probe.height]).toEqual([320, 240]);
    const result = await renderHeifDerivatives(heic, probe.heif ?? null, { maxPixels: 1e8, tools });
    expect([result.width, result.height]).toEqual([320, 240]);
    near(await meanColour(result.preview), RED);
  });

  it('should refuse a HEIC above the pixel limit before decoding, and a broken one as CORRUPT', async () => {
    const heic = await iphoneHeic('limit');
    const probe = await probeMedia(heic, { tools });
    await expect(probeMedia(heic, { tools, maxPixels: 1000 })).rejects.toMatchObject({ code: 'TOO_MANY_PIXELS' });
    const broken = files.path('broken.heic');
    const bytes = (await import('node:fs')).readFileSync(heic);
    writeFileSync(broken, bytes.subarray(0, bytes.length - 800));
    await expect(renderHeifDerivatives(broken, probe.heif ?? null, { maxPixels: 1e8, tools })).rejects.toMatchObject({
      code: 'CORRUPT',
    });
  });
});

describe('videos', () => {
  it('should probe an HEVC MOV: duration, rotated dimensions, codec, creation time, GPS, make, content id', async () => {
    const mov = files.path('hevc.mov');
    makeVideo(mov, { codec: 'libx265', colour: '0x2040d0', rotate: 90, contentIdentifier: 'A1B2C3D4-LIVE-0001' });
    const probe = await probeMedia(mov, { tools });
    expect(probe).toMatchObject({ mime: 'video/quicktime', assetType: 'VIDEO', width: 240, height: 320 });
    expect(probe.durationSeconds).toBeCloseTo(2, 1);
    expect(probe.video).toMatchObject({ videoCodec: 'hevc', audioCodec: 'aac' });
    expect(probe.exif).toMatchObject({
      make: SECRET.make,
      model: SECRET.model,
      dateTimeOriginal: '2024-05-06T05:08:09.000Z',
      timeZone: '+02:00',
    });
    expect(probe.localDateTime).toBe('2024-05-06T07:08:09.000Z');
    expect(probe.exif.latitude).toBeCloseTo(PLACE.latitude, 4);
    expect(probe.exif.longitude).toBeCloseTo(PLACE.longitude, 4);
    expect(probe.contentIdentifier).toBe('A1B2C3D4-LIVE-0001');
    expect(isWebPlayable(probe.video!)).toBe(false);
  });

  it('should render an upright poster of the right colour from an HEVC MOV and an H.264 MP4', async () => {
    for (const [name, codec, colour, rgb] of [
      ['poster.mov', 'libx265', '0x2040d0', [32, 64, 208]],
      ['poster.mp4', 'libx264', '0xd04020', [208, 64, 32]],
    ] as const) {
      const path = files.path(name);
      makeVideo(path, { codec, colour, rotate: 90, width: 320, height: 240 });
      const probe = await probeMedia(path, { tools });
      const result = await renderVideoPoster(path, probe.video!, { maxPixels: 1e8, tools });
      const preview = await sharp(result.preview).metadata();
      expect([preview.width, preview.height], name).toEqual([240, 320]);
      expect([result.width, result.height]).toEqual([240, 320]);
      near(await meanColour(result.preview), [...rgb]);
      near(await meanColour(result.thumbnail), [...rgb]);
      expect(result.thumbhash.length).toBeGreaterThan(5);
    }
  });

  it('should take H.264 MP4 as web-playable and read the ©xyz location of an MP4 without Apple keys', async () => {
    const mp4 = files.path('plain.mp4');
    makeVideo(mp4, { codec: 'libx264', colour: '0x20d040', seconds: 1 });
    const probe = await probeMedia(mp4, { tools });
    expect(probe.mime).toBe('video/mp4');
    expect(isWebPlayable(probe.video!)).toBe(true);
    expect(probe.exif.latitude).toBeCloseTo(PLACE.latitude, 4);
    // a clip shorter than 2 s: the poster is its first frame
    const result = await renderVideoPoster(mp4, probe.video!, { maxPixels: 1e8, tools });
    near(await meanColour(result.preview), [32, 208, 64]);
  });

  it('should fail a file that is not a decodable video as CORRUPT', async () => {
    const mov = files.path('garbage.mov');
    makeVideo(mov, { codec: 'libx264', colour: 'white', seconds: 1 });
    const bytes = (await import('node:fs')).readFileSync(mov);
    const broken = files.write('garbage-cut.mov', bytes.subarray(0, 200));
    await expect(probeMedia(broken, { tools })).rejects.toBeInstanceOf(MediaError);
  });

  it('should parse ISO 6709 as phones write it and ignore 0,0', () => {
    expect(parseIso6709('+52.5000-013.4000+010.000/')).toEqual({ latitude: 52.5, longitude: -13.4 });
    expect(parseIso6709('-33.8688+151.2093/')).toEqual({ latitude: -33.8688, longitude: 151.2093 });
    expect(parseIso6709('+00.0000+000.0000/')).toBeNull();
    expect(parseIso6709('nonsense')).toBeNull();
  });
});
