import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createMetadataStripper, MediaError, measureStrippedSize } from '../src/index.ts';
import { tempDir } from './helpers.ts';
import {
  addIrot,
  addSecrets,
  appleExif,
  boxesOf,
  exiftoolTags,
  heifEnc,
  leakedSecrets,
  makeGridHeif,
  makeVideo,
  run,
  twoColourJpeg,
} from './phone-fixtures.ts';

const files = tempDir();

async function strip(mime: string, input: Buffer, chunkSize = 997): Promise<Buffer> {
  const stripper = createMetadataStripper(mime);
  if (!stripper) throw new Error(`no stripper for ${mime}`);
  const pieces = function* () {
    for (let at = 0; at < input.length; at += chunkSize) yield input.subarray(at, at + chunkSize);
  };
  return buffer(Readable.from(pieces()).pipe(stripper));
}

async function stripError(mime: string, input: Buffer): Promise<unknown> {
  return strip(mime, input).then(
    () => new Error('expected the stream to fail'),
    (error: unknown) => error,
  );
}

async function iphoneHeic(name: string): Promise<string> {
  const jpeg = files.write(
    `${name}.jpg`,
    await twoColourJpeg(400, 300, [220, 30, 30], [30, 30, 220], appleExif('LIVE-ID-1', 6)),
  );
  const heic = files.path(`${name}.heic`);
  heifEnc(heic, [jpeg]);
  addIrot(heic, 3);
  addSecrets(heic);
  return heic;
}

describe('HEIC stripping', () => {
  it('should remove GPS, make, model, description and XMP, keep the length, the pixels and the rotation', async () => {
    const path = await iphoneHeic('strip');
    const original = readFileSync(path);
    expect(leakedSecrets(path).length).toBeGreaterThan(3); // the fixture does carry them
    const stripped = await strip('image/heic', original, 333);
    expect(stripped.length).toBe(original.length);
    const out = files.write('stripped.heic', stripped);
    expect(leakedSecrets(out)).toEqual([]);
    const tags = exiftoolTags(out);
    expect(tags['ExifIFD:MediaGroupUUID'] ?? tags['Apple:MediaGroupUUID']).toBeUndefined();
    // the same picture, still turned upright by irot
    const before = run('heif-convert', [path, files.path('before.png')]);
    const after = run('heif-convert', [out, files.path('after.png')]);
    expect(before.length && after.length).toBeGreaterThan(0);
    // same pixels (the PNGs differ only by the EXIF heif-convert copies into them)
    const pixels = (file: string) => sharp(file, { autoOrient: false }).raw().toBuffer();
    expect((await pixels(files.path('after.png'))).equals(await pixels(files.path('before.png')))).toBe(true);
    expect(run('heif-info', [out]).toString()).toContain('300x400');
    expect(run('heif-info', [out]).toString()).toMatch(/Exif:\s*none|metadata:\s*\n\s*none/);
    expect(await measureStrippedSize(path, 'image/heic')).toBe(original.length);
  });

  it('should strip a grid HEIC (the primary made of tiles) and leave its pixels and size as they were', async () => {
    const tiles: string[] = [];
    for (const [i, c] of (
      [
        [220, 30, 30],
        [30, 200, 30],
        [30, 30, 220],
        [220, 220, 30],
      ] as const
    ).entries()) {
      tiles.push(files.write(`grid-tile-${i}.jpg`, await twoColourJpeg(256, 192, [...c], [...c])));
    }
    const path = files.path('grid.heic');
    makeGridHeif(path, tiles, { rows: 2, cols: 2, width: 500, height: 380 });
    addSecrets(path);
    const original = readFileSync(path);
    expect(leakedSecrets(path).length).toBeGreaterThan(3);
    const stripped = await strip('image/heic', original, 401);
    expect(stripped.length).toBe(original.length);
    const out = files.write('grid-stripped.heic', stripped);
    expect(leakedSecrets(out)).toEqual([]);
    run('heif-convert', [path, files.path('grid-before.png')]);
    run('heif-convert', [out, files.path('grid-after.png')]);
    const pixels = (file: string) => sharp(file, { autoOrient: false }).raw().toBuffer();
    expect((await pixels(files.path('grid-after.png'))).equals(await pixels(files.path('grid-before.png')))).toBe(true);
    expect(run('heif-info', [out]).toString()).toContain('500x380');
  });

  it('should leave a HEIC without metadata as it was', async () => {
    const jpeg = files.write('plain.jpg', await twoColourJpeg(64, 48, [0, 200, 0], [0, 200, 0]));
    const path = files.path('plain.heic');
    heifEnc(path, [jpeg]);
    const original = readFileSync(path);
    expect((await strip('image/heic', original)).equals(original)).toBe(true);
  });

  it('should fail truncated and corrupt files with a MediaError, never hang', async () => {
    const original = readFileSync(await iphoneHeic('broken'));
    const truncated = await stripError('image/heic', original.subarray(0, original.length - 100));
    expect(truncated).toBeInstanceOf(MediaError);
    const midMeta = await stripError('image/heic', original.subarray(0, 200));
    expect(midMeta).toBeInstanceOf(MediaError);
    const badSize = Buffer.from(original);
    const meta = boxesOf(badSize, 0, badSize.length).find((b) => b.type === 'meta')!;
    badSize.writeUInt32BE(0xfffffff0, meta.start); // runs far past the end
    expect(await stripError('image/heic', badSize)).toBeInstanceOf(MediaError);
    const tiny = Buffer.from(original);
    tiny.writeUInt32BE(3, meta.start);
    expect(await stripError('image/heic', tiny)).toMatchObject({ code: 'CORRUPT' });
    expect(await stripError('image/heic', Buffer.from('not a heic at all, really'))).toMatchObject({ code: 'CORRUPT' });
    expect(await stripError('image/heic', Buffer.alloc(0))).toMatchObject({ code: 'EMPTY' });
  });
});

describe('MP4/MOV stripping', () => {
  for (const [name, codec] of [
    ['clip.mov', 'libx265'],
    ['clip.mp4', 'libx264'],
  ] as const) {
    it(`should remove location, make, model and description from ${name}, keep rotation, timing and frames`, async () => {
      const path = files.path(name);
      makeVideo(path, { codec, colour: '0x808000', rotate: 90, contentIdentifier: 'LIVE-ID-1' });
      expect(leakedSecrets(path).length).toBeGreaterThan(2);
      const original = readFileSync(path);
      const stripped = await strip(name.endsWith('mov') ? 'video/quicktime' : 'video/mp4', original, 4096);
      expect(stripped.length).toBe(original.length);
      const out = files.write(`stripped-${name}`, stripped);
      expect(leakedSecrets(out)).toEqual([]);
      expect(JSON.stringify(exiftoolTags(out))).not.toContain('LIVE-ID-1');
      const probe = (file: string) =>
        JSON.parse(
          run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', file]).toString(),
        ) as {
          streams: Array<{ codec_name: string; duration: string; side_data_list?: Array<{ rotation?: number }> }>;
          format: { duration: string };
        };
      const [before, after] = [probe(path), probe(out)];
      expect(after.format.duration).toBe(before.format.duration);
      expect(after.streams.map((s) => [s.codec_name, s.duration])).toEqual(
        before.streams.map((s) => [s.codec_name, s.duration]),
      );
      expect(after.streams[0]?.side_data_list?.[0]?.rotation).toBe(before.streams[0]?.side_data_list?.[0]?.rotation);
      expect(before.streams[0]?.side_data_list?.[0]?.rotation).toBeDefined();
      // every frame decodes, and to the same pixels
      const frames = (file: string) =>
        run('ffmpeg', ['-v', 'error', '-i', file, '-map', '0:v', '-f', 'framemd5', '-']).toString();
      expect(frames(out)).toBe(frames(path));
    });
  }

  it('should stream a large MOV (mdat before moov, as iPhones write it) without buffering it', async () => {
    const path = files.path('long.mov');
    makeVideo(path, { codec: 'libx264', colour: 'gray', seconds: 6, width: 640, height: 480 });
    const stripper = createMetadataStripper('video/quicktime')!;
    let largestPush = 0;
    let total = 0;
    stripper.on('data', (chunk: Buffer) => {
      largestPush = Math.max(largestPush, chunk.length);
      total += chunk.length;
    });
    await new Promise<void>((resolve, reject) => {
      createReadStream(path, { highWaterMark: 16 * 1024 })
        .pipe(stripper)
        .on('end', resolve)
        .on('error', reject);
    });
    expect(total).toBe(readFileSync(path).length);
    // mdat passes in the input's chunks; only moov (a few KiB here) is held whole
    expect(largestPush).toBeLessThanOrEqual(64 * 1024);
  });

  it('should fail truncated and corrupt videos with a MediaError', async () => {
    const path = files.path('cut.mp4');
    makeVideo(path, { codec: 'libx264', colour: 'white', seconds: 1 });
    const original = readFileSync(path);
    expect(await stripError('video/mp4', original.subarray(0, original.length - 10))).toBeInstanceOf(MediaError);
    const broken = Buffer.from(original);
    const moov = boxesOf(broken, 0, broken.length).find((b) => b.type === 'moov')!;
    // a child box of moov that claims to run past its parent
    broken.writeUInt32BE(0x7fffffff, moov.start + 8);
    expect(await stripError('video/mp4', broken)).toMatchObject({ code: 'CORRUPT' });
    expect(await stripError('video/mp4', Buffer.from('garbage garbage garbage'))).toMatchObject({ code: 'CORRUPT' });
  });
});
