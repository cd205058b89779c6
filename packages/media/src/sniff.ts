import { open, stat } from 'node:fs/promises';
import { type FileTypeResult, fileTypeFromBuffer, fileTypeFromFile } from 'file-type';
import { MediaError } from './errors.ts';
import { type AssetType, formatForMime } from './formats.ts';

export interface SniffResult {
  mime: string;
  ext: string;
  assetType: AssetType;
  /** sharp can decode it into pixels here (false for video, and for HEIC with the prebuilt sharp). */
  decodable: boolean;
}

/** file-type's answers that immish accepts, mapped to the canonical MIME type of formats.ts. */
const CANONICAL_MIME: Readonly<Record<string, string>> = {
  'image/jpeg': 'image/jpeg',
  'image/png': 'image/png',
  'image/apng': 'image/png', // an animated PNG is a PNG: same chunks, served and stripped alike
  'image/webp': 'image/webp',
  'image/avif': 'image/avif',
  'image/gif': 'image/gif',
  'image/tiff': 'image/tiff',
  'image/heic': 'image/heic',
  'image/heic-sequence': 'image/heic',
  'image/heif': 'image/heif',
  'image/heif-sequence': 'image/heif',
  'video/mp4': 'video/mp4',
  'video/x-m4v': 'video/x-m4v',
  'video/quicktime': 'video/quicktime',
  'video/webm': 'video/webm',
};

/** Bytes of the file head we read to look at an ISO-BMFF `ftyp` box's compatible brands. */
const FTYP_HEAD_BYTES = 128;

/**
 * Identifies a file by its content (magic bytes), never by its name. Returns null for an empty
 * file and for anything immish does not accept; `sniffFileOrThrow` says which of the two.
 */
export async function sniffFile(path: string): Promise<SniffResult | null> {
  const size = (await stat(path)).size;
  if (size === 0) return null;
  const detected = await fileTypeFromFile(path);
  if (!detected) return null;
  const head = needsFtypRefinement(detected) ? await readHead(path, FTYP_HEAD_BYTES) : undefined;
  return toSniffResult(detected, head);
}

/** Same as `sniffFile` for bytes already in memory (e.g. the first chunk of an upload). */
export async function sniffBuffer(bytes: Uint8Array): Promise<SniffResult | null> {
  if (bytes.length === 0) return null;
  const detected = await fileTypeFromBuffer(bytes);
  if (!detected) return null;
  return toSniffResult(detected, bytes.subarray(0, FTYP_HEAD_BYTES));
}

/** `sniffFile` for callers that want a readable reason: throws EMPTY or UNSUPPORTED_TYPE. */
export async function sniffFileOrThrow(path: string): Promise<SniffResult> {
  const size = (await stat(path)).size;
  if (size === 0) throw new MediaError('EMPTY', 'the file is empty (0 bytes)');
  const detected = await fileTypeFromFile(path);
  const head = detected && needsFtypRefinement(detected) ? await readHead(path, FTYP_HEAD_BYTES) : undefined;
  const result = detected ? toSniffResult(detected, head) : null;
  if (result) return result;
  const what = detected ? `its content is ${detected.mime}` : 'its content was not recognised';
  throw new MediaError(
    'UNSUPPORTED_TYPE',
    `unsupported file type: ${what}; supported are JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIC/HEIF photos and MP4, MOV, WebM videos`,
  );
}

function toSniffResult(detected: FileTypeResult, head: Uint8Array | undefined): SniffResult | null {
  let mime = CANONICAL_MIME[detected.mime];
  if (mime === undefined) return null;
  if (head && (mime === 'image/heif' || mime === 'image/heic')) mime = refineHeif(mime, head);
  const format = formatForMime(mime);
  if (!format) return null;
  return { mime: format.mime, ext: format.ext, assetType: format.assetType, decodable: format.decodable };
}

function needsFtypRefinement(detected: FileTypeResult): boolean {
  return detected.mime.startsWith('image/hei');
}

/**
 * file-type decides HEIF flavours by the major brand only, so an AVIF whose major brand is the
 * generic `mif1` (common among encoders) would come out as HEIF, which we cannot decode. The
 * compatible brands tell the codec: `avif` means AV1, `heic`/`heix` mean HEVC.
 */
function refineHeif(mime: string, head: Uint8Array): string {
  const brands = ftypBrands(head);
  if (brands.has('avif') || brands.has('avis')) {
    if (!brands.has('heic') && !brands.has('heix') && !brands.has('hevc')) return 'image/avif';
  }
  if (brands.has('heic') || brands.has('heix') || brands.has('hevc') || brands.has('hevx')) return 'image/heic';
  return mime;
}

function ftypBrands(head: Uint8Array): Set<string> {
  const brands = new Set<string>();
  const view = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (view.length < 16 || view.toString('latin1', 4, 8) !== 'ftyp') return brands;
  const boxEnd = Math.min(view.readUInt32BE(0), view.length);
  brands.add(view.toString('latin1', 8, 12));
  for (let offset = 16; offset + 4 <= boxEnd; offset += 4) brands.add(view.toString('latin1', offset, offset + 4));
  return brands;
}

async function readHead(path: string, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
