import { open } from 'node:fs/promises';

/** What the container header of an MP4/MOV says, without decoding a frame. */
export interface VideoHeader {
  /** Displayed dimensions of the first video track (swapped when its matrix turns it 90°). */
  width: number | null;
  height: number | null;
  durationSeconds: number | null;
  /** The movie header's creation time (UTC by the spec; a few cameras write local time). */
  createdAt: string | null;
}

/** The `moov` box of even a long phone video is a few MiB; beyond this we do not read it. */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const MAX_TOP_LEVEL_BOXES = 10_000;
/** Seconds from 1904-01-01 (QuickTime epoch) to 1970-01-01. */
const QUICKTIME_EPOCH_OFFSET = 2_082_844_800;

const NOTHING: VideoHeader = { width: null, height: null, durationSeconds: null, createdAt: null };

interface Box {
  type: string;
  start: number; // payload start
  end: number; // payload end
}

function* boxes(buffer: Buffer, start: number, end: number): Generator<Box> {
  let at = start;
  while (at + 8 <= end) {
    let size = buffer.readUInt32BE(at);
    const type = buffer.toString('latin1', at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(buffer.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || at + size > end) return;
    yield { type, start: at + header, end: at + size };
    at += size;
  }
}

function child(buffer: Buffer, parent: Box, type: string): Box | undefined {
  for (const box of boxes(buffer, parent.start, parent.end)) if (box.type === type) return box;
  return undefined;
}

/**
 * Reads dimensions, duration and creation time of an ISO-BMFF video (MP4, M4V, MOV) from its
 * `moov` box, wherever it sits in the file (start or end). Fields it cannot find are null; it
 * never throws on a malformed file, it just knows less.
 */
export async function readVideoHeader(path: string): Promise<VideoHeader> {
  const moov = await readTopLevelBox(path, 'moov', MAX_MOOV_BYTES);
  return moov ? parseMoov(moov) : NOTHING;
}

/**
 * The payload of the first top-level box of `type` (walking the box headers only, so a `moov` or `meta` at the
 * end of a big file costs a few reads); null when there is none, or its payload is over `maxBytes`.
 */
async function readTopLevelBox(path: string, wanted: string, maxBytes: number): Promise<Buffer | null> {
  const handle = await open(path, 'r');
  try {
    const fileSize = (await handle.stat()).size;
    const head = Buffer.alloc(16);
    let at = 0;
    for (let count = 0; count < MAX_TOP_LEVEL_BOXES && at + 8 <= fileSize; count++) {
      const { bytesRead } = await handle.read(head, 0, 16, at);
      if (bytesRead < 8) break;
      let size = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      let header = 8;
      if (size === 1 && bytesRead === 16) {
        size = Number(head.readBigUInt64BE(8));
        header = 16;
      } else if (size === 0) {
        size = fileSize - at;
      }
      if (size < header) break;
      if (type === wanted) {
        const length = Math.min(size, fileSize - at) - header;
        if (length > maxBytes) return null;
        const payload = Buffer.alloc(length);
        await handle.read(payload, 0, length, at + header);
        return payload;
      }
      at += size;
    }
    return null;
  } finally {
    await handle.close();
  }
}

export function parseMoov(moov: Buffer): VideoHeader {
  const root: Box = { type: 'moov', start: 0, end: moov.length };
  const result: VideoHeader = { ...NOTHING };

  const mvhd = child(moov, root, 'mvhd');
  if (mvhd && mvhd.end - mvhd.start >= 32) {
    const v1 = moov[mvhd.start] === 1;
    const p = mvhd.start + 4;
    const created = v1 ? Number(moov.readBigUInt64BE(p)) : moov.readUInt32BE(p);
    const timescale = moov.readUInt32BE(v1 ? p + 16 : p + 8);
    const duration = v1 ? Number(moov.readBigUInt64BE(p + 20)) : moov.readUInt32BE(p + 12);
    const unknownDuration = v1 ? duration === Number.MAX_SAFE_INTEGER : duration === 0xffffffff;
    if (timescale > 0 && duration > 0 && !unknownDuration) result.durationSeconds = duration / timescale;
    const unix = created - QUICKTIME_EPOCH_OFFSET;
    if (created > 0 && unix > 0 && unix * 1000 < Date.now() + 86_400_000)
      result.createdAt = new Date(unix * 1000).toISOString();
  }

  for (const trak of boxes(moov, root.start, root.end)) {
    if (trak.type !== 'trak') continue;
    const mdia = child(moov, trak, 'mdia');
    const hdlr = mdia && child(moov, mdia, 'hdlr');
    if (!hdlr || hdlr.end - hdlr.start < 12 || moov.toString('latin1', hdlr.start + 8, hdlr.start + 12) !== 'vide')
      continue;
    const tkhd = child(moov, trak, 'tkhd');
    if (!tkhd) continue;
    const v1 = moov[tkhd.start] === 1;
    const matrix = tkhd.start + (v1 ? 52 : 40);
    const sizeAt = tkhd.start + (v1 ? 88 : 76);
    if (sizeAt + 8 > tkhd.end) continue;
    const width = Math.round(moov.readUInt32BE(sizeAt) / 65536);
    const height = Math.round(moov.readUInt32BE(sizeAt + 4) / 65536);
    if (width === 0 || height === 0) continue;
    const a = moov.readInt32BE(matrix);
    const d = moov.readInt32BE(matrix + 16);
    const quarterTurn = a === 0 && d === 0;
    result.width = quarterTurn ? height : width;
    result.height = quarterTurn ? width : height;
    break;
  }
  return result;
}

/** What a HEIF's `meta` box says about its primary image, without decoding it. */
export interface HeifPrimary {
  /** Displayed dimensions: `ispe` turned by `irot` (a quarter turn swaps them). */
  width: number;
  height: number;
  /** `irot` in quarter turns anticlockwise (0–3), and whether `imir` mirrors it. */
  rotation: number;
  mirrored: boolean;
  /** Position of the primary among the top-level images (the order heif-convert numbers its outputs in). */
  topLevelIndex: number;
  topLevelCount: number;
  /** Where the Exif item's bytes are (absolute file offsets), when there is one. */
  exif?: Array<{ offset: number; length: number }>;
}

const MAX_EXIF_ITEM_BYTES = 1024 * 1024;

/**
 * The TIFF block of a HEIF's Exif item (its 4-byte offset prefix, and any `Exif\0\0` it points past, removed).
 * Read here rather than by exifr, which refuses the valid "offset 0, TIFF right after" form libheif writes.
 */
export async function readHeifExif(path: string, primary: HeifPrimary): Promise<Buffer | undefined> {
  if (!primary.exif || primary.exif.length === 0) return undefined;
  const total = primary.exif.reduce((sum, e) => sum + e.length, 0);
  if (total < 12 || total > MAX_EXIF_ITEM_BYTES) return undefined;
  const handle = await open(path, 'r');
  try {
    const parts: Buffer[] = [];
    for (const extent of primary.exif) {
      const part = Buffer.alloc(extent.length);
      const { bytesRead } = await handle.read(part, 0, extent.length, extent.offset);
      if (bytesRead !== extent.length) return undefined;
      parts.push(part);
    }
    const item = Buffer.concat(parts);
    const skip = item.readUInt32BE(0);
    if (4 + skip >= item.length) return undefined;
    return item.subarray(4 + skip);
  } finally {
    await handle.close();
  }
}

const MAX_HEIF_META_BYTES = 16 * 1024 * 1024;
const IMAGE_ITEM_TYPES = new Set(['hvc1', 'av01', 'grid', 'iden', 'iovl', 'jpeg', 'vvc1', 'unci', 'j2k1']);

/** Reads the primary image's size and transforms from a HEIF's `meta`; null when there is none to read. */
export async function readHeifPrimary(path: string): Promise<HeifPrimary | null> {
  const meta = await readTopLevelBox(path, 'meta', MAX_HEIF_META_BYTES);
  if (!meta || meta.length < 4) return null;
  try {
    return parseHeifMeta(meta);
  } catch {
    return null; // a malformed meta box: the decoder will say what is wrong
  }
}

export function parseHeifMeta(meta: Buffer): HeifPrimary | null {
  const root: Box = { type: 'meta', start: 4, end: meta.length }; // FullBox
  const pitm = child(meta, root, 'pitm');
  const iinf = child(meta, root, 'iinf');
  const iprp = child(meta, root, 'iprp');
  if (!pitm || !iinf || !iprp) return null;
  const primary = meta[pitm.start] === 0 ? meta.readUInt16BE(pitm.start + 4) : meta.readUInt32BE(pitm.start + 4);

  // items in iinf order, with their type and hidden flag
  const items: Array<{ id: number; type: string; hidden: boolean }> = [];
  const iinfV = meta[iinf.start] as number;
  for (const infe of boxes(meta, iinf.start + 4 + (iinfV === 0 ? 2 : 4), iinf.end)) {
    if (infe.type !== 'infe') continue;
    const v = meta[infe.start] as number;
    if (v < 2) continue;
    const flags = meta.readUIntBE(infe.start + 1, 3);
    const idSize = v === 2 ? 2 : 4;
    const id = meta.readUIntBE(infe.start + 4, idSize);
    const type = meta.toString('latin1', infe.start + 4 + idSize + 2, infe.start + 4 + idSize + 6);
    items.push({ id, type, hidden: (flags & 1) === 1 });
  }
  // images that are parts of others (thumbnails, auxiliary/depth images, grid tiles) are not top-level
  const notTopLevel = new Set<number>();
  const iref = child(meta, root, 'iref');
  if (iref) {
    const idSize = meta[iref.start] === 0 ? 2 : 4;
    for (const ref of boxes(meta, iref.start + 4, iref.end)) {
      const from = meta.readUIntBE(ref.start, idSize);
      const count = meta.readUInt16BE(ref.start + idSize);
      if (ref.type === 'thmb' || ref.type === 'auxl') notTopLevel.add(from);
      if (ref.type === 'dimg' || ref.type === 'base') {
        for (let i = 0; i < count; i++) notTopLevel.add(meta.readUIntBE(ref.start + idSize + 2 + i * idSize, idSize));
      }
    }
  }
  const topLevel = items.filter((i) => IMAGE_ITEM_TYPES.has(i.type) && !i.hidden && !notTopLevel.has(i.id));

  // properties of the primary
  const ipco = child(meta, iprp, 'ipco');
  const ipma = child(meta, iprp, 'ipma');
  if (!ipco || !ipma) return null;
  const properties = [...boxes(meta, ipco.start, ipco.end)];
  const version = meta[ipma.start] as number;
  const flags = meta.readUIntBE(ipma.start + 1, 3);
  let p = ipma.start + 4;
  const entries = meta.readUInt32BE(p);
  p += 4;
  let width = 0;
  let height = 0;
  let rotation = 0;
  let mirrored = false;
  for (let e = 0; e < entries; e++) {
    const id = version < 1 ? meta.readUInt16BE(p) : meta.readUInt32BE(p);
    p += version < 1 ? 2 : 4;
    const count = meta[p] as number;
    p += 1;
    for (let a = 0; a < count; a++) {
      const index = flags & 1 ? meta.readUInt16BE(p) & 0x7fff : (meta[p] as number) & 0x7f;
      p += flags & 1 ? 2 : 1;
      if (id !== primary || index === 0) continue;
      const property = properties[index - 1];
      if (!property) continue;
      if (property.type === 'ispe') {
        width = meta.readUInt32BE(property.start + 4);
        height = meta.readUInt32BE(property.start + 8);
      } else if (property.type === 'irot') rotation = (meta[property.start] as number) & 3;
      else if (property.type === 'imir') mirrored = true;
    }
  }
  if (width === 0 || height === 0) return null;
  const quarter = rotation % 2 === 1;
  const exifItem = items.find((i) => i.type === 'Exif');
  const iloc = child(meta, root, 'iloc');
  const exif = exifItem && iloc ? ilocExtents(meta, iloc, exifItem.id) : undefined;
  return {
    ...(exif ? { exif } : {}),
    width: quarter ? height : width,
    height: quarter ? width : height,
    rotation,
    mirrored,
    topLevelIndex: Math.max(
      0,
      topLevel.findIndex((i) => i.id === primary),
    ),
    topLevelCount: topLevel.length,
  };
}

/** The absolute extents of one item in `iloc` (file offsets; construction method 0 only), or undefined. */
function ilocExtents(meta: Buffer, iloc: Box, wanted: number): Array<{ offset: number; length: number }> | undefined {
  const version = meta[iloc.start] as number;
  let p = iloc.start + 4;
  const offsetSize = (meta[p] as number) >> 4;
  const lengthSize = (meta[p] as number) & 15;
  const baseSize = (meta[p + 1] as number) >> 4;
  const indexSize = version === 0 ? 0 : (meta[p + 1] as number) & 15;
  p += 2;
  const count = version < 2 ? meta.readUInt16BE(p) : meta.readUInt32BE(p);
  p += version < 2 ? 2 : 4;
  const read = (size: number) => {
    const value = size === 0 ? 0 : size === 8 ? Number(meta.readBigUInt64BE(p)) : meta.readUInt32BE(p);
    p += size;
    return value;
  };
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? meta.readUInt16BE(p) : meta.readUInt32BE(p);
    p += version < 2 ? 2 : 4;
    const construction = version >= 1 ? meta.readUInt16BE(p) & 15 : 0;
    if (version >= 1) p += 2;
    p += 2;
    const base = read(baseSize);
    const extents = meta.readUInt16BE(p);
    p += 2;
    const found: Array<{ offset: number; length: number }> = [];
    for (let e = 0; e < extents; e++) {
      read(indexSize);
      const offset = read(offsetSize);
      const length = read(lengthSize);
      found.push({ offset: base + offset, length });
    }
    if (id === wanted) return construction === 0 ? found : undefined;
  }
  return undefined;
}
