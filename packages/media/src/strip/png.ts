import { crc32 } from 'node:zlib';
import {
  isValidOrientation,
  orientationOnlyTiff,
  readTiffOrientation,
  withoutExifHeader,
} from '../exif-orientation.ts';
import { ByteParser } from './byte-parser.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const MAX_CHUNK_LENGTH = 0x7fffffff;
/** An eXIf chunk larger than this is dropped without looking for its orientation. */
const MAX_EXIF_INSPECTED = 256 * 1024;

/**
 * Ancillary chunks that affect how the image looks, kept as they are. Every other ancillary chunk
 * (lower-case first letter) is dropped: by the PNG rules a decoder may ignore them, and they are
 * where metadata lives: eXIf, tEXt, zTXt, iTXt (XMP), tIME, and private ones (caBX C2PA, iDOT, …).
 * Critical chunks (upper-case first letter) are always kept, known or not.
 */
const DISPLAY_CHUNKS = new Set([
  'tRNS', // transparency
  'cHRM',
  'gAMA',
  'iCCP',
  'sRGB',
  'sBIT',
  'cICP',
  'mDCV',
  'cLLI', // colour
  'bKGD',
  'hIST',
  'sPLT',
  'pHYs', // background, palette hints, pixel aspect
  'acTL',
  'fcTL',
  'fdAT', // APNG animation
]);

/** One PNG chunk: length, type, data, CRC-32 of type + data (PNG spec §5.3). Tests build fixtures with it too. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/**
 * Removes metadata chunks from a PNG (and APNG) without touching the image data; see
 * DISPLAY_CHUNKS for what is kept. An EXIF Orientation other than 1 is carried over into a fresh
 * eXIf chunk holding only that tag. Bytes after IEND are dropped. Only chunk headers and an eXIf
 * chunk (≤ 256 KiB) are ever held in memory; IDAT data streams through.
 */
export class PngMetadataStripper extends ByteParser {
  private sawHeader = false;
  private wroteOrientation = false;

  constructor() {
    super('PNG');
  }

  protected atStart(): void {
    this.collect(SIGNATURE.length, (signature) => {
      if (!signature.equals(SIGNATURE)) throw this.corrupt('it does not start with the PNG signature');
      this.output(signature);
      this.nextChunk();
    });
  }

  protected atEnd(): void {
    if (!this.finished) throw this.corrupt(`it ends after ${this.position} bytes, before its IEND chunk (truncated)`);
  }

  private nextChunk(): void {
    this.collect(8, (header) => {
      const length = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (!/^[A-Za-z]{4}$/.test(type)) throw this.corrupt(`invalid chunk type at byte ${this.position - 4}`);
      if (length > MAX_CHUNK_LENGTH) throw this.corrupt(`chunk ${type} claims ${length} bytes`);
      if (!this.sawHeader && type !== 'IHDR') throw this.corrupt(`the first chunk is ${type}, not IHDR`);
      this.sawHeader = true;
      const withCrc = length + 4;

      if (type === 'IEND') {
        this.output(header);
        return this.pass(withCrc, () => this.finish());
      }
      const critical = type.charCodeAt(0) < 0x61; // upper-case first letter
      if (critical || DISPLAY_CHUNKS.has(type)) {
        this.output(header);
        return this.pass(withCrc, () => this.nextChunk());
      }
      if (type === 'eXIf' && length <= MAX_EXIF_INSPECTED) {
        return this.collect(withCrc, (data) => {
          this.keepOrientation(data.subarray(0, length));
          this.nextChunk();
        });
      }
      this.skip(withCrc, () => this.nextChunk());
    });
  }

  private keepOrientation(exif: Buffer): void {
    const orientation = readTiffOrientation(withoutExifHeader(exif));
    if (this.wroteOrientation || !isValidOrientation(orientation) || orientation === 1) return;
    this.output(pngChunk('eXIf', orientationOnlyTiff(orientation)));
    this.wroteOrientation = true;
  }
}
