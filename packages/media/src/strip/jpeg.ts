import { isValidOrientation, orientationOnlyExif, readTiffOrientation } from '../exif-orientation.ts';
import { ByteParser } from './byte-parser.ts';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP2 = 0xe2;
const APP14 = 0xee;
const APP15 = 0xef;
const COM = 0xfe;
const TEM = 0x01;

const EXIF_ID = Buffer.from('Exif\0\0', 'latin1');
const JFIF_ID = Buffer.from('JFIF\0', 'latin1');
const ICC_ID = Buffer.from('ICC_PROFILE\0', 'latin1');
const ADOBE_ID = Buffer.from('Adobe', 'latin1');

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return bytes.length >= prefix.length && bytes.subarray(0, prefix.length).equals(prefix);
}

function segment(marker: number, payload: Buffer): Buffer {
  const header = Buffer.from([0xff, marker, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([header, payload]);
}

/**
 * Removes metadata from a JPEG without touching the compressed image.
 *
 * Kept: every coding segment (DQT, DHT, SOFn, DRI, SOS and the entropy-coded data, byte for byte),
 * APP0 JFIF (with its embedded thumbnail removed), APP2 ICC_PROFILE (colour), APP14 Adobe (tells
 * how to convert CMYK/YCCK). Dropped: APP1 (EXIF, XMP), APP13 (IPTC, Photoshop), COM, every other
 * APPn (maker data, MPF, JUMBF/C2PA, …), and everything after the end-of-image marker: phones append
 * secondary images there (MPF/UltraHDR gain maps, depth maps, motion-photo videos, Samsung
 * trailers) and those carry their own EXIF and GPS. When the EXIF had an Orientation other than 1,
 * a fresh 36-byte APP1 holding only that tag takes the old APP1's place, so viewers still turn the
 * photo upright. Segments are at most 64 KiB, so that is the most this ever holds in memory.
 */
export class JpegMetadataStripper extends ByteParser {
  private wroteOrientation = false;
  /** Inside entropy-coded data, a 0xFF ended the previous chunk and the byte after it decides. */
  private pendingFF = false;

  constructor() {
    super('JPEG');
  }

  protected atStart(): void {
    this.collect(2, (soi) => {
      if (soi[0] !== 0xff || soi[1] !== SOI)
        throw this.corrupt('it does not start with the JPEG start-of-image marker');
      this.output(soi);
      this.nextMarker();
    });
  }

  protected atEnd(): void {
    if (!this.finished)
      throw this.corrupt(`it ends after ${this.position} bytes, before its end-of-image marker (truncated)`);
  }

  private nextMarker(): void {
    this.collect(1, (bytes) => {
      if (bytes[0] !== 0xff) {
        const found = (bytes[0] ?? 0).toString(16).padStart(2, '0');
        throw this.corrupt(`expected a marker at byte ${this.position - 1}, found 0x${found}`);
      }
      this.markerCode();
    });
  }

  private markerCode(): void {
    this.collect(1, (bytes) => {
      const marker = bytes[0] as number;
      if (marker === 0xff) return this.markerCode(); // fill byte
      this.onMarker(marker);
    });
  }

  private onMarker(marker: number): void {
    if (marker === EOI) {
      this.output(Buffer.from([0xff, EOI]));
      this.finish();
      return;
    }
    if (marker === SOI || marker === 0x00)
      throw this.corrupt(`unexpected marker 0xff${marker.toString(16).padStart(2, '0')} at byte ${this.position - 2}`);
    if (marker === TEM || (marker >= 0xd0 && marker <= 0xd7)) {
      this.output(Buffer.from([0xff, marker]));
      this.nextMarker();
      return;
    }
    this.collect(2, (lengthBytes) => {
      const length = lengthBytes.readUInt16BE(0);
      if (length < 2) throw this.corrupt(`segment 0xff${marker.toString(16)} has an impossible length ${length}`);
      const payloadLength = length - 2;
      if (marker === SOS) {
        this.output(Buffer.from([0xff, marker]));
        this.output(lengthBytes);
        return this.pass(payloadLength, () => this.enterCustom());
      }
      if ((marker >= APP0 && marker <= APP15) || marker === COM) {
        return this.collect(payloadLength, (payload) => {
          this.onMetadataSegment(marker, payload);
          this.nextMarker();
        });
      }
      this.output(Buffer.from([0xff, marker]));
      this.output(lengthBytes);
      this.pass(payloadLength, () => this.nextMarker());
    });
  }

  private onMetadataSegment(marker: number, payload: Buffer): void {
    if (marker === APP0 && startsWith(payload, JFIF_ID) && payload.length >= 14) {
      const header = Buffer.from(payload.subarray(0, 14));
      header[12] = 0; // thumbnail width
      header[13] = 0; // thumbnail height
      this.output(segment(APP0, header));
    } else if (marker === APP1 && startsWith(payload, EXIF_ID)) {
      const orientation = readTiffOrientation(payload.subarray(EXIF_ID.length));
      if (!this.wroteOrientation && isValidOrientation(orientation) && orientation !== 1) {
        this.output(segment(APP1, orientationOnlyExif(orientation)));
        this.wroteOrientation = true;
      }
    } else if (
      (marker === APP2 && startsWith(payload, ICC_ID)) ||
      (marker === APP14 && startsWith(payload, ADOBE_ID))
    ) {
      this.output(segment(marker, payload));
    }
    // anything else is metadata: dropped
  }

  /** Entropy-coded data: forwarded as is, watching for the marker that ends it. */
  protected override custom(chunk: Buffer, offset: number): number {
    let at = offset;
    if (!this.pendingFF) {
      const ff = chunk.indexOf(0xff, at);
      if (ff === -1) {
        this.output(chunk.subarray(at));
        return chunk.length;
      }
      this.output(chunk.subarray(at, ff));
      at = ff + 1;
    }
    // chunk[at] (if any) follows a 0xFF; more 0xFF are fill bytes before a marker
    while (at < chunk.length && chunk[at] === 0xff) at++;
    if (at === chunk.length) {
      this.pendingFF = true;
      return at;
    }
    this.pendingFF = false;
    const next = chunk[at] as number;
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      this.output(Buffer.from([0xff, next])); // stuffed 0xFF or restart marker: still image data
      return at + 1;
    }
    // a real marker ends the scan: EOI, or DHT/SOS/... between the scans of a progressive JPEG
    this.onMarker(next);
    return at + 1;
  }
}
