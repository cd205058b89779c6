import { crc32, deflateSync } from 'node:zlib';

/**
 * The console's app icons as PNGs, drawn in memory when links-api starts (no image library, nothing on disk):
 * a rounded blue square with a white "sun over hills" mark. Chromium's installability check wants a 192 px and
 * a 512 px PNG that decode (docs/spec.md §14).
 */
export const ICON_SIZES = [192, 512] as const;

const BLUE = [0x1e, 0x5e, 0xc8];
const WHITE = [0xff, 0xff, 0xff];

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([len, typed, crc]);
}

/** The colour (RGBA) of one pixel of the icon, in coordinates 0..1. */
function pixel(x: number, y: number): number[] {
  const r = 0.18; // corner radius, as a fraction of the side
  const cx = Math.min(Math.max(x, r), 1 - r);
  const cy = Math.min(Math.max(y, r), 1 - r);
  if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) return [0, 0, 0, 0];
  const sun = (x - 0.66) ** 2 + (y - 0.34) ** 2 < 0.012;
  const hill = y > 0.72 - 0.22 * Math.exp(-(((x - 0.36) / 0.2) ** 2)) && y < 0.8 && x > 0.14 && x < 0.86;
  return [...(sun || hill ? WHITE : BLUE), 0xff];
}

export function iconPng(size: number): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0, then RGBA
    for (let x = 0; x < size; x++) row.set(pixel((x + 0.5) / size, (y + 0.5) / size), 1 + x * 4);
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
