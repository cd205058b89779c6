/**
 * The little EXIF we read and write ourselves: the Orientation tag (0x0112) of IFD0. Everything
 * else about EXIF is exifr's job; this exists so the metadata strippers can carry the orientation
 * over into a fresh, minimal EXIF block without a general EXIF writer.
 */

const ORIENTATION_TAG = 0x0112;
const TYPE_SHORT = 3;
const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1');

export function isValidOrientation(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 8;
}

/** Removes the `Exif\0\0` prefix that JPEG APP1 (and some WebP writers) put before the TIFF header. */
export function withoutExifHeader(exif: Buffer): Buffer {
  return exif.subarray(0, EXIF_HEADER.length).equals(EXIF_HEADER) ? exif.subarray(EXIF_HEADER.length) : exif;
}

/** Orientation from a TIFF-structured EXIF block, or undefined when absent, invalid or unreadable. */
export function readTiffOrientation(tiff: Buffer): number | undefined {
  if (tiff.length < 8) return undefined;
  const order = tiff.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  const u16 = (offset: number) => (little ? tiff.readUInt16LE(offset) : tiff.readUInt16BE(offset));
  const u32 = (offset: number) => (little ? tiff.readUInt32LE(offset) : tiff.readUInt32BE(offset));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  if (ifd < 8 || ifd + 2 > tiff.length) return undefined;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return undefined;
    if (u16(entry) !== ORIENTATION_TAG) continue;
    if (u16(entry + 2) !== TYPE_SHORT || u32(entry + 4) < 1) return undefined;
    const value = u16(entry + 8);
    return isValidOrientation(value) ? value : undefined;
  }
  return undefined;
}

/** A complete TIFF-structured EXIF block whose only content is IFD0 with one Orientation entry (26 bytes). */
export function orientationOnlyTiff(orientation: number): Buffer {
  const tiff = Buffer.alloc(26);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4); // IFD0 right after the header
  tiff.writeUInt16BE(1, 8); // one entry
  tiff.writeUInt16BE(ORIENTATION_TAG, 10);
  tiff.writeUInt16BE(TYPE_SHORT, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18); // value, left-justified in the 4-byte field
  tiff.writeUInt32BE(0, 22); // no IFD1
  return tiff;
}

export function orientationOnlyExif(orientation: number): Buffer {
  return Buffer.concat([EXIF_HEADER, orientationOnlyTiff(orientation)]);
}
