import { crc32, deflateSync } from 'node:zlib';
import { thumbHashToRGBA } from 'thumbhash';

/**
 * Thumbhash placeholders, computed server-side as small `data:image/png` URLs: the grid shows them under each
 * lazy thumbnail without inline scripts or styles (the CSP allows `img-src data:`). The decoded image is at
 * most 32 px a side and blurry by nature, so a filtered + deflated PNG is a few hundred bytes. Cached per
 * thumbhash (the same bytes always give the same picture).
 */

const MAX_CACHE = 5000;
const cache = new Map<string, string>();

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** RGBA pixels → PNG bytes (8-bit RGBA, "Sub" filter on every row, which suits smooth gradients). */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const stride = width * 4;
  const filtered = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1);
    filtered[row] = 1;
    for (let x = 0; x < stride; x++) {
      const cur = rgba[y * stride + x] ?? 0;
      const left = x >= 4 ? (rgba[y * stride + x - 4] ?? 0) : 0;
      filtered[row + 1 + x] = (cur - left) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(filtered, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Halves a decoded thumbhash (2×2 box filter): the browser's smoothing upscale looks the same, at a quarter of the bytes. */
function halve(img: { w: number; h: number; rgba: Uint8Array }): { w: number; h: number; rgba: Uint8Array } {
  if (img.w < 8 || img.h < 8) return img;
  const w = img.w >> 1;
  const h = img.h >> 1;
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 4; c++) {
        const at = (yy: number, xx: number) => img.rgba[(yy * img.w + xx) * 4 + c] ?? 0;
        out[(y * w + x) * 4 + c] = Math.round(
          (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4,
        );
      }
    }
  }
  return { w, h, rgba: out };
}

/** The placeholder of a thumbhash as a data: URL; null when there is none or it cannot be decoded. */
export function thumbhashDataUrl(thumbhash: Buffer | Uint8Array | null | undefined): string | null {
  if (!thumbhash || thumbhash.length < 5) return null;
  const key = Buffer.from(thumbhash).toString('base64');
  const hit = cache.get(key);
  if (hit) return hit;
  let url: string;
  try {
    const { w, h, rgba } = halve(thumbHashToRGBA(thumbhash));
    url = `data:image/png;base64,${encodePng(w, h, rgba).toString('base64')}`;
  } catch {
    return null;
  }
  if (cache.size >= MAX_CACHE) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) cache.delete(oldest);
  }
  cache.set(key, url);
  return url;
}
