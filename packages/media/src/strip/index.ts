import { createReadStream } from 'node:fs';
import type { Transform } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IsoBmffMetadataStripper } from './isobmff.ts';
import { JpegMetadataStripper } from './jpeg.ts';
import { PngMetadataStripper } from './png.ts';
import { WebpMetadataStripper, type WebpStripperOptions } from './webp.ts';

export type MetadataStripperOptions = WebpStripperOptions;

/** MIME types whose originals can be served without metadata (docs/spec.md §5.3, showMetadata=false). */
export const STRIPPABLE_MIME_TYPES: readonly string[] = Object.freeze([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/heic',
  'image/heif',
  'video/mp4',
  'video/x-m4v',
  'video/quicktime',
]);

/**
 * A Transform that removes EXIF/XMP/IPTC/GPS/comments from an original without re-encoding it,
 * or null when the type cannot be stripped that way (AVIF, GIF, TIFF, WebM, RAW, anything
 * else): the caller then refuses the original (403) and offers the preview instead. A stream that
 * is not the format it claims, or is truncated, errors with MediaError CORRUPT (EMPTY for 0 bytes).
 * Create one per response; they are single-use.
 */
export function createMetadataStripper(mime: string, options: MetadataStripperOptions = {}): Transform | null {
  switch (mime.toLowerCase()) {
    case 'image/jpeg':
    case 'image/jpg':
      return new JpegMetadataStripper();
    case 'image/png':
    case 'image/apng':
      return new PngMetadataStripper();
    case 'image/webp':
      return new WebpMetadataStripper(options);
    case 'image/heic':
    case 'image/heif':
      return new IsoBmffMetadataStripper('heif');
    case 'video/mp4':
    case 'video/x-m4v':
    case 'video/quicktime':
      return new IsoBmffMetadataStripper('video');
    default:
      return null;
  }
}

export function canStripMetadata(mime: string): boolean {
  return createMetadataStripper(mime) !== null;
}

/**
 * The size of the stripped file (for Content-Length), by running the stripper over the file once
 * without keeping its output. Null when the type cannot be stripped. Costs one read of the file:
 * worth caching next to the asset rather than calling per request.
 */
export async function measureStrippedSize(
  path: string,
  mime: string,
  options: MetadataStripperOptions = {},
): Promise<number | null> {
  const stripper = createMetadataStripper(mime, options);
  if (!stripper) return null;
  let size = 0;
  const counter = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      callback();
    },
  });
  await pipeline(createReadStream(path), stripper, counter);
  return size;
}
