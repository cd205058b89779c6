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
      if (type === 'moov') {
        const length = Math.min(size, fileSize - at) - header;
        if (length > MAX_MOOV_BYTES) return NOTHING;
        const moov = Buffer.alloc(length);
        await handle.read(moov, 0, length, at + header);
        return parseMoov(moov);
      }
      at += size;
    }
    return NOTHING;
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
