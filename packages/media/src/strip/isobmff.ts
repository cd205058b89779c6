import { ByteParser } from './byte-parser.ts';

/**
 * Metadata strippers for ISO base media files (ISO/IEC 14496-12): HEIC/HEIF photos and MP4/M4V/MOV videos.
 *
 * Nothing moves. Every byte keeps its offset, so no `iloc`, `stco` or `co64` offset has to be rewritten, the
 * output has the input's length (Content-Length and Range work without a pre-pass), and the media data streams
 * through untouched (a 100 MB MOV is never buffered: only `meta` of a HEIF, ≤ 16 MiB, and `moov` of a video,
 * ≤ 64 MiB, are held while they are rewritten).
 *
 * - HEIF: the Exif, XMP (`mime`) and `uri ` items are removed from `meta` (their `iinf` entries, `iloc` entries,
 *   `iref` references and `ipma` associations); the shrunken `meta` is followed by a top-level `free` box that
 *   takes up the bytes it gave up, and the items' data (in `mdat`, or in `idat`) is overwritten with zeros.
 *   Removing the entries rather than only zeroing the data means no reader finds an "Exif item" at all, not even
 *   an empty one. Orientation survives: `irot`/`imir` are image properties, untouched (EXIF orientation in an
 *   iPhone HEIC only repeats them).
 * - MP4/MOV: every `udta` (QuickTime `©xyz` location, `©mak`/`©mod`, XMP_, maker boxes), every `meta` (Apple's
 *   `mdta` keys: ISO 6709 location, make, model, software, content identifier) and every `uuid` box (XMP, maker
 *   data) inside `moov` and its tracks, and such boxes at the top level, become `free` boxes of the same size
 *   filled with zeros. Timed metadata tracks that carry positions (GoPro `gpmd`, `camm`) become `free` as a whole.
 *   `tkhd` (rotation matrix), `mvhd`/`mdhd`/`elst` (timing), the sample tables and `mdat` are kept byte for byte.
 *
 * A size that does not add up, a box past the end, or a file that ends mid-box fails the stream (CORRUPT).
 */

const MAX_META_BYTES = 16 * 1024 * 1024;
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
/** Boxes nested deeper than this are not looked into (no real file comes close; a crafted one cannot recurse us). */
const MAX_DEPTH = 16;

type Kind = 'heif' | 'video';

interface Range {
  start: number;
  end: number;
}

export class IsoBmffMetadataStripper extends ByteParser {
  private readonly kind: Kind;
  /** Absolute byte ranges to overwrite with zeros as they stream by (HEIF item data in `mdat`). */
  private blanks: Range[] = [];
  private sawMeta = false;
  /** Input position of the last top-level box boundary: the input may end only there. */
  private boundary = 0;
  /** In a size-0 `mdat` (runs to the end of the input): any end is fine. */
  private toEnd = false;
  private sawMediaData = false;
  private boxes = 0;

  constructor(kind: Kind) {
    super(kind === 'heif' ? 'HEIF' : kind === 'video' ? 'MP4/MOV' : 'ISO-BMFF');
    this.kind = kind;
  }

  protected atStart(): void {
    this.nextBox();
  }

  protected atEnd(): void {
    if (!this.toEnd && this.position !== this.boundary)
      throw this.corrupt(`it ends inside a box at byte ${this.position} (truncated)`);
    const pending = this.blanks.find((range) => range.end > this.position);
    if (pending) throw this.corrupt(`metadata at byte ${pending.start} lies past the end of the file (truncated)`);
    if (this.boxes === 0) throw this.corrupt('it holds no box');
  }

  /** At a top-level box boundary: the end of the input is fine here (`atEnd` sees `finished`). */
  private nextBox(): void {
    this.boundary = this.position;
    this.collect(8, (head) => {
      this.boxes++;
      const start = this.position - 8;
      const size32 = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (this.boxes === 1 && type !== 'ftyp' && type !== 'wide' && type !== 'free' && type !== 'skip') {
        throw this.corrupt(`it starts with a "${printable(type)}" box, not "ftyp"`);
      }
      if (size32 === 1) {
        this.collect(8, (large) => {
          const size = Number(large.readBigUInt64BE(0));
          if (size < 16) throw this.corrupt(`box "${printable(type)}" at byte ${start} has size ${size}`);
          this.onBox(type, start, size, Buffer.concat([head, large]));
        });
        return;
      }
      if (size32 === 0) {
        // "to the end of the file": only media data is written that way (a camera that never came back to patch it)
        if (type !== 'mdat') throw this.corrupt(`box "${printable(type)}" at byte ${start} has no size`);
        this.sawMediaData = true;
        this.output(head);
        this.passToEnd();
        return;
      }
      if (size32 < 8) throw this.corrupt(`box "${printable(type)}" at byte ${start} has size ${size32}`);
      this.onBox(type, start, size32, head);
    });
  }

  private onBox(type: string, _start: number, size: number, header: Buffer): void {
    const payload = size - header.length;
    if (this.kind === 'heif' && type === 'meta') {
      if (this.sawMeta) throw this.corrupt('it has two top-level "meta" boxes');
      this.sawMeta = true;
      if (this.sawMediaData) {
        // The item data would already have gone by; every HEIF encoder writes meta first.
        throw this.corrupt('its "meta" box comes after the image data, which this stripper does not handle');
      }
      if (size > MAX_META_BYTES) throw this.corrupt(`its "meta" box is ${size} bytes (more than ${MAX_META_BYTES})`);
      this.collect(payload, (body) => {
        const { meta, blanks } = rewriteHeifMeta(Buffer.concat([header, body]), (detail) => this.corrupt(detail));
        this.blanks = mergeRanges(blanks);
        this.output(meta);
        if (meta.length < size) this.output(freeBox(size - meta.length));
        this.nextBox();
      });
      return;
    }
    if (this.kind === 'video' && type === 'moov') {
      if (size > MAX_MOOV_BYTES) throw this.corrupt(`its "moov" box is ${size} bytes (more than ${MAX_MOOV_BYTES})`);
      this.collect(payload, (body) => {
        const moov = Buffer.concat([header, body]);
        scrubContainer(moov, header.length, moov.length, 'moov', 0);
        this.output(moov);
        this.nextBox();
      });
      return;
    }
    if (type === 'mdat' || type === 'idat') this.sawMediaData = true;
    if (isMetadataBox(type) || (this.kind === 'video' && type === 'meta')) {
      this.output(freeHeader(header));
      this.blank(payload, () => this.nextBox());
      return;
    }
    this.output(header);
    this.passRegion(payload, () => this.nextBox());
  }

  /** Passes `length` bytes, zeroing those inside the blank ranges. */
  private passRegion(length: number, then: () => void): void {
    if (length === 0) {
      then();
      return;
    }
    const at = this.position;
    const end = at + length;
    const range = this.blanks.find((r) => r.end > at && r.start < end);
    if (!range) {
      this.pass(length, then);
      return;
    }
    if (range.start <= at) {
      const take = Math.min(range.end, end) - at;
      this.blank(take, () => this.passRegion(length - take, then));
      return;
    }
    const take = range.start - at;
    this.pass(take, () => this.passRegion(length - take, then));
  }

  private passToEnd(): void {
    this.toEnd = true;
    this.enterCustom();
  }

  protected override custom(chunk: Buffer, offset: number): number {
    const at = this.position;
    const end = at + (chunk.length - offset);
    const overlapping = this.blanks.filter((r) => r.end > at && r.start < end);
    if (overlapping.length === 0) {
      this.output(chunk.subarray(offset));
    } else {
      const copy = Buffer.from(chunk.subarray(offset));
      for (const r of overlapping) copy.fill(0, Math.max(r.start, at) - at, Math.min(r.end, end) - at);
      this.output(copy);
    }
    return chunk.length;
  }
}

/** Boxes that are nothing but metadata wherever they appear. */
function isMetadataBox(type: string): boolean {
  return type === 'udta' || type === 'uuid' || type === 'XMP_';
}

function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, '?');
}

function freeBox(size: number): Buffer {
  if (size < 8) throw new Error(`cannot fill ${size} bytes with a box`);
  const box = Buffer.alloc(size);
  box.writeUInt32BE(size, 0);
  box.write('free', 4, 'latin1');
  return box;
}

/** The header of a `free` box as long as the box `header` starts (8 or 16 bytes, same size field). */
function freeHeader(header: Buffer): Buffer {
  const copy = Buffer.from(header);
  copy.write('free', 4, 'latin1');
  return copy;
}

/** Turns the box at [start, end) of `buffer` (header included) into a zero-filled `free` box, in place. */
function freeInPlace(buffer: Buffer, start: number, headerLength: number, end: number): void {
  buffer.write('free', start + 4, 'latin1');
  buffer.fill(0, start + headerLength, end);
}

interface ChildBox {
  type: string;
  start: number;
  headerLength: number;
  end: number;
}

function* children(buffer: Buffer, start: number, end: number): Generator<ChildBox> {
  let at = start;
  while (at + 8 <= end) {
    let size = buffer.readUInt32BE(at);
    const type = buffer.toString('latin1', at + 4, at + 8);
    let headerLength = 8;
    if (size === 1) {
      if (at + 16 > end) throw new Error(`box "${printable(type)}" is cut short`);
      size = Number(buffer.readBigUInt64BE(at + 8));
      headerLength = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < headerLength || at + size > end) throw new Error(`box "${printable(type)}" runs past its parent`);
    yield { type, start: at, headerLength, end: at + size };
    at += size;
  }
  // fewer than 8 bytes left: QuickTime allows a 4-byte zero terminator in udta; anything else is padding we keep
}

/** Containers of a movie looked into for metadata. */
const VIDEO_CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'edts', 'dinf', 'stbl']);
/** Sample entry types of timed metadata tracks that record where the camera was. */
const POSITION_TRACKS = new Set(['gpmd', 'camm']);

function scrubContainer(moov: Buffer, start: number, end: number, parent: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error('boxes are nested too deeply');
  for (const box of children(moov, start, end)) {
    const body = box.start + box.headerLength;
    if (box.type === 'udta' || box.type === 'meta' || box.type === 'uuid' || box.type === 'XMP_') {
      freeInPlace(moov, box.start, box.headerLength, box.end);
    } else if (box.type === 'trak' && carriesPositions(moov, body, box.end)) {
      freeInPlace(moov, box.start, box.headerLength, box.end);
    } else if (VIDEO_CONTAINERS.has(box.type) && parent !== 'stbl') {
      scrubContainer(moov, body, box.end, box.type, depth + 1);
    }
  }
}

function carriesPositions(moov: Buffer, start: number, end: number): boolean {
  const find = (from: number, to: number, type: string) => {
    for (const box of children(moov, from, to)) if (box.type === type) return box;
    return undefined;
  };
  const mdia = find(start, end, 'mdia');
  const minf = mdia && find(mdia.start + mdia.headerLength, mdia.end, 'minf');
  const stbl = minf && find(minf.start + minf.headerLength, minf.end, 'stbl');
  const stsd = stbl && find(stbl.start + stbl.headerLength, stbl.end, 'stsd');
  if (!stsd) return false;
  const entries = stsd.start + stsd.headerLength + 8; // version/flags, entry count
  for (const entry of children(moov, entries, stsd.end)) if (POSITION_TRACKS.has(entry.type)) return true;
  return false;
}

/** Item types that are metadata, not pictures: EXIF, XMP and other MIME-typed payloads, URI-typed payloads. */
const METADATA_ITEM_TYPES = new Set(['Exif', 'mime', 'uri ']);

/**
 * Rewrites a HEIF `meta` box (header included) without its metadata items. Returns the new box (never longer) and
 * the absolute byte ranges of the removed items' data outside `meta` (to zero as they stream by).
 */
export function rewriteHeifMeta(box: Buffer, corrupt: (detail: string) => Error): { meta: Buffer; blanks: Range[] } {
  const headerLength = box.readUInt32BE(0) === 1 ? 16 : 8;
  const bodyStart = headerLength + 4; // FullBox: version and flags
  if (bodyStart > box.length) throw corrupt('its "meta" box is cut short');
  let parts: ChildBox[];
  try {
    parts = [...children(box, bodyStart, box.length)];
  } catch (error) {
    throw corrupt(`in "meta": ${(error as Error).message}`);
  }
  const find = (type: string) => parts.find((p) => p.type === type);
  const iinf = find('iinf');
  const iloc = find('iloc');
  if (!iinf || !iloc) return { meta: box, blanks: [] };

  const removed = new Set<number>();
  let newIinf: Buffer;
  try {
    newIinf = rewriteIinf(box, iinf, removed);
  } catch (error) {
    throw corrupt(`in "iinf": ${(error as Error).message}`);
  }
  if (removed.size === 0) return { meta: box, blanks: [] };

  const blanks: Range[] = [];
  const idat = find('idat');
  let newIloc: Buffer;
  try {
    newIloc = rewriteIloc(box, iloc, removed, (construction, offset, length) => {
      if (construction === 0) blanks.push({ start: offset, end: offset + length });
      else if (construction === 1 && idat) {
        // relative to idat's data; it stays in meta, zeroed in place
        const from = idat.start + idat.headerLength + offset;
        if (from + length > idat.end) throw new Error('an item runs past "idat"');
        box.fill(0, from, from + length);
      }
    });
  } catch (error) {
    throw corrupt(`in "iloc": ${(error as Error).message}`);
  }
  const replacements = new Map<ChildBox, Buffer>([
    [iinf, newIinf],
    [iloc, newIloc],
  ]);
  const iref = find('iref');
  const iprp = find('iprp');
  try {
    if (iref) replacements.set(iref, rewriteIref(box, iref, removed));
    if (iprp) replacements.set(iprp, rewriteIprp(box, iprp, removed));
  } catch (error) {
    throw corrupt(`in "${iref ? 'iref' : 'iprp'}": ${(error as Error).message}`);
  }

  const pieces: Buffer[] = [Buffer.from(box.subarray(0, bodyStart))];
  for (const part of parts) pieces.push(replacements.get(part) ?? box.subarray(part.start, part.end));
  const tailStart = parts.at(-1)?.end ?? bodyStart;
  pieces.push(box.subarray(tailStart));
  const meta = Buffer.concat(pieces);
  // the bytes given up become a top-level `free` box, which needs 8; one removed `infe` alone frees more than 20
  if (box.length - meta.length < 8) throw corrupt('its "meta" box shrank by less than a box header');
  writeBoxSize(meta, headerLength, meta.length);
  return { meta, blanks };
}

function writeBoxSize(box: Buffer, headerLength: number, size: number): void {
  if (headerLength === 16) box.writeBigUInt64BE(BigInt(size), 8);
  else box.writeUInt32BE(size, 0);
}

function fullBoxVersion(box: Buffer, part: ChildBox): { version: number; flags: number; at: number } {
  const at = part.start + part.headerLength;
  if (at + 4 > part.end) throw new Error('cut short');
  return { version: box[at] as number, flags: box.readUIntBE(at + 1, 3), at: at + 4 };
}

function rewriteIinf(box: Buffer, iinf: ChildBox, removed: Set<number>): Buffer {
  const { version, at } = fullBoxVersion(box, iinf);
  const countSize = version === 0 ? 2 : 4;
  const entriesStart = at + countSize;
  const kept: Buffer[] = [];
  let count = 0;
  for (const infe of children(box, entriesStart, iinf.end)) {
    if (infe.type !== 'infe') {
      kept.push(box.subarray(infe.start, infe.end));
      continue;
    }
    const { version: v, at: p } = fullBoxVersion(box, infe);
    if (v < 2) {
      kept.push(box.subarray(infe.start, infe.end));
      count++;
      continue;
    }
    const idSize = v === 2 ? 2 : 4;
    if (p + idSize + 2 + 4 > infe.end) throw new Error('an "infe" entry is cut short');
    const id = box.readUIntBE(p, idSize);
    const itemType = box.toString('latin1', p + idSize + 2, p + idSize + 6);
    if (METADATA_ITEM_TYPES.has(itemType)) {
      removed.add(id);
      continue;
    }
    kept.push(box.subarray(infe.start, infe.end));
    count++;
  }
  const head = Buffer.from(box.subarray(iinf.start, entriesStart));
  // the entry count of a version 0 box is 16 bits; keep the version, only the count changes
  if (countSize === 2) head.writeUInt16BE(count, head.length - 2);
  else head.writeUInt32BE(count, head.length - 4);
  const out = Buffer.concat([head, ...kept]);
  writeBoxSize(out, iinf.headerLength, out.length);
  return out;
}

function rewriteIloc(
  box: Buffer,
  iloc: ChildBox,
  removed: Set<number>,
  onRemovedExtent: (construction: number, offset: number, length: number) => void,
): Buffer {
  const { version, at } = fullBoxVersion(box, iloc);
  if (version > 2) throw new Error(`unknown version ${version}`);
  let p = at;
  const need = (n: number) => {
    if (p + n > iloc.end) throw new Error('cut short');
  };
  need(2);
  const offsetSize = (box[p] as number) >> 4;
  const lengthSize = (box[p] as number) & 15;
  const baseOffsetSize = (box[p + 1] as number) >> 4;
  const indexSize = version === 0 ? 0 : (box[p + 1] as number) & 15;
  for (const s of [offsetSize, lengthSize, baseOffsetSize, indexSize]) {
    if (s !== 0 && s !== 4 && s !== 8) throw new Error(`field size ${s} is not 0, 4 or 8`);
  }
  p += 2;
  const countSize = version < 2 ? 2 : 4;
  need(countSize);
  const countAt = p;
  const itemCount = box.readUIntBE(p, countSize);
  p += countSize;
  const read = (size: number): number => {
    if (size === 0) return 0;
    need(size);
    const value = size === 8 ? Number(box.readBigUInt64BE(p)) : box.readUInt32BE(p);
    p += size;
    return value;
  };
  const kept: Buffer[] = [];
  let count = 0;
  for (let i = 0; i < itemCount; i++) {
    const entryStart = p;
    const idSize = version < 2 ? 2 : 4;
    need(idSize);
    const id = box.readUIntBE(p, idSize);
    p += idSize;
    let construction = 0;
    if (version >= 1) {
      need(2);
      construction = box.readUInt16BE(p) & 15;
      p += 2;
    }
    need(2);
    p += 2; // data_reference_index
    const base = read(baseOffsetSize);
    need(2);
    const extents = box.readUInt16BE(p);
    p += 2;
    const found: Array<[number, number]> = [];
    for (let e = 0; e < extents; e++) {
      if (indexSize > 0) read(indexSize);
      const offset = read(offsetSize);
      const length = read(lengthSize);
      found.push([base + offset, length]);
    }
    if (removed.has(id)) {
      for (const [offset, length] of found) {
        if (length === 0) throw new Error(`metadata item ${id} has an extent of unknown length`);
        onRemovedExtent(construction, offset, length);
      }
      continue;
    }
    kept.push(box.subarray(entryStart, p));
    count++;
  }
  const head = Buffer.from(box.subarray(iloc.start, countAt + countSize));
  head.writeUIntBE(count, head.length - countSize, countSize);
  const out = Buffer.concat([head, ...kept, box.subarray(p, iloc.end)]);
  writeBoxSize(out, iloc.headerLength, out.length);
  return out;
}

function rewriteIref(box: Buffer, iref: ChildBox, removed: Set<number>): Buffer {
  const { version, at } = fullBoxVersion(box, iref);
  const idSize = version === 0 ? 2 : 4;
  const kept: Buffer[] = [];
  for (const ref of children(box, at, iref.end)) {
    let p = ref.start + ref.headerLength;
    if (p + idSize + 2 > ref.end) throw new Error('a reference is cut short');
    const from = box.readUIntBE(p, idSize);
    if (removed.has(from)) continue;
    p += idSize;
    const count = box.readUInt16BE(p);
    p += 2;
    if (p + count * idSize > ref.end) throw new Error('a reference list is cut short');
    const targets: number[] = [];
    for (let i = 0; i < count; i++) targets.push(box.readUIntBE(p + i * idSize, idSize));
    const left = targets.filter((id) => !removed.has(id));
    if (left.length === 0) continue;
    const out = Buffer.alloc(ref.headerLength + idSize + 2 + left.length * idSize);
    box.copy(out, 0, ref.start, ref.start + ref.headerLength);
    out.writeUIntBE(from, ref.headerLength, idSize);
    out.writeUInt16BE(left.length, ref.headerLength + idSize);
    left.forEach((id, i) => {
      out.writeUIntBE(id, ref.headerLength + idSize + 2 + i * idSize, idSize);
    });
    writeBoxSize(out, ref.headerLength, out.length);
    kept.push(out);
  }
  const out = Buffer.concat([box.subarray(iref.start, at), ...kept]);
  writeBoxSize(out, iref.headerLength, out.length);
  return out;
}

/** `iprp` with the removed items' `ipma` associations dropped (encoders rarely write any for metadata items). */
function rewriteIprp(box: Buffer, iprp: ChildBox, removed: Set<number>): Buffer {
  const pieces: Buffer[] = [box.subarray(iprp.start, iprp.start + iprp.headerLength)];
  for (const part of children(box, iprp.start + iprp.headerLength, iprp.end)) {
    pieces.push(part.type === 'ipma' ? rewriteIpma(box, part, removed) : box.subarray(part.start, part.end));
  }
  const out = Buffer.concat(pieces);
  writeBoxSize(out, iprp.headerLength, out.length);
  return out;
}

function rewriteIpma(box: Buffer, ipma: ChildBox, removed: Set<number>): Buffer {
  const { version, flags, at } = fullBoxVersion(box, ipma);
  const idSize = version < 1 ? 2 : 4;
  const assocSize = flags & 1 ? 2 : 1;
  let p = at;
  if (p + 4 > ipma.end) throw new Error('"ipma" is cut short');
  const entryCount = box.readUInt32BE(p);
  p += 4;
  const kept: Buffer[] = [];
  let count = 0;
  for (let i = 0; i < entryCount; i++) {
    const entryStart = p;
    if (p + idSize + 1 > ipma.end) throw new Error('"ipma" is cut short');
    const id = box.readUIntBE(p, idSize);
    const associations = box[p + idSize] as number;
    p += idSize + 1 + associations * assocSize;
    if (p > ipma.end) throw new Error('"ipma" is cut short');
    if (removed.has(id)) continue;
    kept.push(box.subarray(entryStart, p));
    count++;
  }
  const head = Buffer.from(box.subarray(ipma.start, at + 4));
  head.writeUInt32BE(count, head.length - 4);
  const out = Buffer.concat([head, ...kept, box.subarray(p, ipma.end)]);
  writeBoxSize(out, ipma.headerLength, out.length);
  return out;
}

function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const merged: Range[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}
