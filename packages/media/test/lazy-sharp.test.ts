import { join } from 'node:path';
import { runInFreshNode } from '@immish/testkit';
import { describe, expect, it } from 'vitest';

/**
 * sharp is loaded only by what decodes or encodes an image (src/sharp.ts says why). Checked in a fresh Node process,
 * as a service starts: this test process has sharp loaded already. A module hook records every import of sharp.
 */
const CHILD = `
import { registerHooks } from 'node:module';
const sharp = [];
registerHooks({
  resolve(specifier, context, next) {
    if (specifier === 'sharp') sharp.push(specifier);
    return next(specifier, context);
  },
});
await import('@immish/domain');
const media = await import('@immish/media');
const jpeg = media.formatForMime('image/jpeg');
const listed = media.MEDIA_TYPES.image.length;
const afterUse = [...sharp];
const heic = media.formatForMime('image/heic').decodable; // asks sharp whether it reads HEIC here
process.stdout.write(JSON.stringify({ afterUse, jpegDecodable: jpeg.decodable, listed, heic, afterHeic: [...sharp] }));
`;

describe('sharp', () => {
  it('should not be loaded by importing the media and domain packages and using their tables, and be loaded once asked', async () => {
    const seen = await runInFreshNode<{
      afterUse: string[];
      jpegDecodable: boolean;
      listed: number;
      afterHeic: string[];
    }>(CHILD, { cwd: join(import.meta.dirname, '..') });
    expect(seen.afterUse).toEqual([]);
    expect(seen.jpegDecodable).toBe(true);
    expect(seen.listed).toBeGreaterThan(5);
    expect(seen.afterHeic).toEqual(['sharp']);
  });
});
