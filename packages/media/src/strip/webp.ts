import {
  isValidOrientation,
  orientationOnlyTiff,
  readTiffOrientation,
  withoutExifHeader,
} from '../exif-orientation.ts';
import { ByteParser } from './byte-parser.ts';

const VP8X_FLAG_EXIF = 0x08;
const VP8X_FLAG_XMP = 0x04;
/** An EXIF chunk larger than this is not inspected for its orientation in streaming mode. */
const MAX_EXIF_INSPECTED = 64 * 1024;
/** Default bound for buffered mode; WebP photos are almost always far smaller. */
export const DEFAULT_WEBP_BUFFER_BYTES = 32 * 1024 * 1024;

export interface WebpStripperOptions {
  /** Files whose RIFF size is at most this are buffered and metadata chunks removed outright. */
  maxBufferedBytes?: number;
}

function riffChunk(fourcc: string, payload: Buffer): Buffer {
  const padded = payload.length + (payload.length & 1);
  const chunk = Buffer.alloc(8 + padded);
  chunk.write(fourcc, 0, 'latin1');
  chunk.writeUInt32LE(payload.length, 4);
  payload.copy(chunk, 8);
  return chunk;
}

/**
 * Removes the EXIF and XMP chunks of a WebP without touching the image data.
 *
 * WebP states the total file size in its first bytes, and the metadata chunks come after the
 * image data, so removing them means knowing the end before sending the start. Two modes:
 *
 * - buffered (RIFF size ≤ maxBufferedBytes, 32 MiB by default: practically every WebP photo):
 *   the file is held until its end, EXIF and XMP chunks are removed, their VP8X flags cleared and
 *   the RIFF size rewritten. When the EXIF had an Orientation other than 1, a fresh EXIF chunk with
 *   only that tag takes the old one's place (and the EXIF flag stays set).
 * - streaming (larger files; memory stays bounded by one chunk header): the length cannot change,
 *   so the XMP chunk is replaced by a RIFF `JUNK` chunk of the same size filled with zeros (readers
 *   skip unknown chunks) and the EXIF chunk is overwritten in place with an orientation-only EXIF
 *   block padded with zeros (orientation 1 when unknown, as its VP8X flag was already sent).
 *
 * Bytes after the RIFF data are dropped. A size that does not add up fails the stream (CORRUPT).
 */
export class WebpMetadataStripper extends ByteParser {
  private readonly maxBufferedBytes: number;
  private buffered = true;
  private held: Buffer[] = [];
  private riffHeader: Buffer | undefined;
  private vp8x: Buffer | undefined;
  private riffEnd = 0;
  private wroteOrientation = false;

  constructor(options: WebpStripperOptions = {}) {
    super('WebP');
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_WEBP_BUFFER_BYTES;
  }

  protected override output(bytes: Buffer): void {
    if (this.buffered) {
      if (bytes.length > 0) this.held.push(bytes);
    } else {
      super.output(bytes);
    }
  }

  protected atStart(): void {
    this.collect(12, (header) => {
      if (header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WEBP') {
        throw this.corrupt('it does not start with a RIFF WEBP header');
      }
      const riffSize = header.readUInt32LE(4);
      if (riffSize < 4 + 8) throw this.corrupt(`its RIFF size ${riffSize} is too small to hold an image`);
      this.riffEnd = 8 + riffSize;
      this.buffered = this.riffEnd <= this.maxBufferedBytes;
      this.riffHeader = Buffer.from(header);
      this.output(this.riffHeader);
      this.nextChunk();
    });
  }

  protected atEnd(): void {
    if (!this.finished) {
      throw this.corrupt(
        `it ends after ${this.position} bytes but its RIFF header announces ${this.riffEnd} (truncated)`,
      );
    }
    if (!this.buffered) return;
    const total = this.held.reduce((sum, piece) => sum + piece.length, 0);
    this.riffHeader?.writeUInt32LE(total - 8, 4);
    if (this.vp8x) {
      const flags = (this.vp8x[8] as number) & ~(VP8X_FLAG_EXIF | VP8X_FLAG_XMP);
      this.vp8x[8] = this.wroteOrientation ? flags | VP8X_FLAG_EXIF : flags;
    }
    this.buffered = false;
    for (const piece of this.held) this.output(piece);
    this.held = [];
  }

  private nextChunk(): void {
    if (this.position === this.riffEnd) {
      this.finish();
      return;
    }
    if (this.position + 8 > this.riffEnd)
      throw this.corrupt(`a chunk header at byte ${this.position} runs past the RIFF data`);
    this.collect(8, (header) => {
      const fourcc = header.toString('latin1', 0, 4);
      const size = header.readUInt32LE(4);
      const start = this.position;
      if (start + size > this.riffEnd)
        throw this.corrupt(`chunk "${fourcc}" at byte ${start - 8} runs past the RIFF data`);
      // the pad byte of an odd-sized last chunk is sometimes missing: tolerated
      const padded = Math.min(size + (size & 1), this.riffEnd - start);

      if (fourcc === 'VP8X' && size >= 10 && !this.vp8x) {
        return this.collect(padded, (payload) => {
          this.vp8x = Buffer.concat([header, payload]);
          if (!this.buffered) this.vp8x[8] = (this.vp8x[8] as number) & ~VP8X_FLAG_XMP;
          this.output(this.vp8x);
          this.nextChunk();
        });
      }
      if (fourcc === 'EXIF') return this.onExif(header, size, padded);
      if (fourcc === 'XMP ') {
        if (this.buffered) return this.skip(padded, () => this.nextChunk());
        return this.replaceWithJunk(padded);
      }
      this.output(header);
      this.pass(padded, () => this.nextChunk());
    });
  }

  private onExif(header: Buffer, size: number, padded: number): void {
    if (this.buffered) {
      this.collect(padded, (payload) => {
        const orientation = readTiffOrientation(withoutExifHeader(payload.subarray(0, size)));
        if (this.vp8x && !this.wroteOrientation && isValidOrientation(orientation) && orientation !== 1) {
          this.output(riffChunk('EXIF', orientationOnlyTiff(orientation)));
          this.wroteOrientation = true;
        }
        this.nextChunk();
      });
      return;
    }
    const minimal = orientationOnlyTiff(1);
    if (size < minimal.length || padded > MAX_EXIF_INSPECTED) {
      this.replaceWithJunk(padded);
      return;
    }
    this.collect(padded, (payload) => {
      const orientation = readTiffOrientation(withoutExifHeader(payload.subarray(0, size)));
      const replacement = Buffer.alloc(padded);
      orientationOnlyTiff(isValidOrientation(orientation) ? orientation : 1).copy(replacement);
      this.output(header);
      this.output(replacement);
      this.nextChunk();
    });
  }

  /** Streaming mode: the chunk keeps its length but becomes an ignorable, all-zero `JUNK` chunk. */
  private replaceWithJunk(padded: number): void {
    const header = Buffer.alloc(8);
    header.write('JUNK', 0, 'latin1');
    header.writeUInt32LE(padded, 4);
    this.output(header);
    this.blank(padded, () => this.nextChunk());
  }
}
