import { describe, expect, it } from 'vitest';
import {
  isHeicDecodable,
  MEDIA_TYPES,
  MediaError,
  SUPPORTED_FORMATS,
  sniffBuffer,
  sniffFile,
  sniffFileOrThrow,
} from '../src/index.ts';
import { type Format, isoBmff, photo, randomBytes, tempDir, webmHead } from './helpers.ts';

const files = tempDir();

describe('sniffFile', () => {
  const images: Array<[Format, string, string]> = [
    ['jpeg', 'image/jpeg', 'jpg'],
    ['png', 'image/png', 'png'],
    ['webp', 'image/webp', 'webp'],
    ['avif', 'image/avif', 'avif'],
    ['gif', 'image/gif', 'gif'],
    ['tiff', 'image/tiff', 'tif'],
  ];
  for (const [format, mime, ext] of images) {
    it(`should detect a ${format} generated with sharp as a decodable ${mime} image`, async () => {
      const path = files.write(`photo-${format}.bin`, await photo(format, { width: 16, height: 16 }));
      expect(await sniffFile(path)).toEqual({ mime, ext, assetType: 'IMAGE', decodable: true });
    });
  }

  it('should detect a PNG named .jpg as PNG (content, not name)', async () => {
    const path = files.write('really-a-png.jpg', await photo('png', { width: 8, height: 8 }));
    expect((await sniffFile(path))?.mime).toBe('image/png');
  });

  it('should return null for random bytes', async () => {
    expect(await sniffFile(files.write('random.jpg', randomBytes(4096)))).toBeNull();
  });

  it('should return null for a zero-byte file, and sniffFileOrThrow should say EMPTY', async () => {
    const path = files.write('empty.jpg', Buffer.alloc(0));
    expect(await sniffFile(path)).toBeNull();
    await expect(sniffFileOrThrow(path)).rejects.toMatchObject({ name: 'MediaError', code: 'EMPTY' });
  });

  it('should explain an unsupported type with UNSUPPORTED_TYPE', async () => {
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n');
    const error = await sniffFileOrThrow(files.write('doc.jpg', pdf)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaError);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_TYPE', message: expect.stringContaining('application/pdf') });
    await expect(sniffFileOrThrow(files.write('noise.bin', randomBytes(100)))).rejects.toMatchObject({
      code: 'UNSUPPORTED_TYPE',
    });
  });

  it('should detect an MP4 from its ftyp box as a video that is not decodable', async () => {
    const path = files.write('clip.bin', isoBmff('isom', ['isom', 'iso2', 'mp41']));
    expect(await sniffFile(path)).toEqual({ mime: 'video/mp4', ext: 'mp4', assetType: 'VIDEO', decodable: false });
  });

  it('should detect a QuickTime MOV from its ftyp box', async () => {
    const path = files.write('clip2.bin', isoBmff('qt', ['qt']));
    expect(await sniffFile(path)).toEqual({
      mime: 'video/quicktime',
      ext: 'mov',
      assetType: 'VIDEO',
      decodable: false,
    });
  });

  it('should detect a WebM from its EBML header', async () => {
    const path = files.write('clip3.bin', webmHead());
    expect(await sniffFile(path)).toEqual({ mime: 'video/webm', ext: 'webm', assetType: 'VIDEO', decodable: false });
  });

  it('should detect HEIC as an image whose decodability is what this sharp build offers', async () => {
    const path = files.write('photo.heic.bin', isoBmff('heic', ['mif1', 'heic']));
    expect(await sniffFile(path)).toEqual({
      mime: 'image/heic',
      ext: 'heic',
      assetType: 'IMAGE',
      decodable: isHeicDecodable(),
    });
    // the prebuilt sharp 0.35 has libheif with the AV1 decoder only: HEVC (HEIC) is not decodable
    expect(isHeicDecodable()).toBe(false);
  });

  it('should tell AVIF from HEIC by the compatible brands when the major brand is the generic mif1', async () => {
    expect((await sniffBuffer(isoBmff('mif1', ['mif1', 'avif', 'miaf'])))?.mime).toBe('image/avif');
    expect((await sniffBuffer(isoBmff('mif1', ['mif1', 'heic'])))?.mime).toBe('image/heic');
    expect((await sniffBuffer(isoBmff('mif1', ['mif1'])))?.mime).toBe('image/heif');
  });

  it('should reject an audio-only MP4 (M4A)', async () => {
    expect(await sniffBuffer(isoBmff('M4A', ['M4A', 'mp42', 'isom']))).toBeNull();
  });
});

describe('MEDIA_TYPES', () => {
  it('should list image and video extensions in Immich media-types shape, from the one format table', () => {
    expect(MEDIA_TYPES.image).toEqual(
      expect.arrayContaining(['.jpg', '.jpeg', '.png', '.webp', '.avif', '.gif', '.tif', '.tiff', '.heic', '.heif']),
    );
    expect(MEDIA_TYPES.video).toEqual(expect.arrayContaining(['.mp4', '.mov', '.webm']));
    expect(MEDIA_TYPES.sidecar).toEqual(['.xmp']);
    const all = [...MEDIA_TYPES.image, ...MEDIA_TYPES.video];
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort()).toEqual(SUPPORTED_FORMATS.flatMap((f) => f.extensions).sort());
    for (const ext of all) expect(ext).toMatch(/^\.[a-z0-9]+$/);
  });
});
