import { loadSharp } from './sharp.ts';

export type AssetType = 'IMAGE' | 'VIDEO' | 'OTHER';

export interface MediaFormat {
  /** The canonical MIME type immish stores and serves. */
  readonly mime: string;
  /** The canonical file extension (no dot), used for download file names. */
  readonly ext: string;
  /** Every extension (with dot) announced to clients through `GET /api/server/media-types`. */
  readonly extensions: readonly string[];
  readonly assetType: AssetType;
  /** Whether sharp in this process can decode it into pixels (thumbnails, preview, thumbhash). */
  readonly decodable: boolean;
  /** Whether `createMetadataStripper` can remove its metadata without re-encoding. */
  readonly strippable: boolean;
}

/**
 * HEIC/HEIF photos use HEVC, which sharp's prebuilt libvips does not ship (patents): its libheif
 * only has the AV1 decoder, so it reads AVIF but not HEIC. sharp advertises that by narrowing the
 * heif loader's suffixes to `.avif`; a sharp built against a global libvips with libde265 lists
 * `.heic` again, and then HEIC photos get real thumbnails with no code change. Asked of sharp when first
 * needed (loading sharp is left to the processes that use it: ./sharp.ts).
 */
let heicDecodable: boolean | undefined;
export function isHeicDecodable(): boolean {
  heicDecodable ??= loadSharp().format.heif?.input.fileSuffix?.includes('.heic') ?? false;
  return heicDecodable;
}

/** The one table of what immish accepts. Order matters only for the media-types listing. */
export const SUPPORTED_FORMATS: readonly MediaFormat[] = [
  {
    mime: 'image/jpeg',
    ext: 'jpg',
    extensions: ['.jpg', '.jpeg', '.jpe'],
    assetType: 'IMAGE',
    decodable: true,
    strippable: true,
  },
  { mime: 'image/png', ext: 'png', extensions: ['.png'], assetType: 'IMAGE', decodable: true, strippable: true },
  { mime: 'image/webp', ext: 'webp', extensions: ['.webp'], assetType: 'IMAGE', decodable: true, strippable: true },
  { mime: 'image/avif', ext: 'avif', extensions: ['.avif'], assetType: 'IMAGE', decodable: true, strippable: false },
  { mime: 'image/gif', ext: 'gif', extensions: ['.gif'], assetType: 'IMAGE', decodable: true, strippable: false },
  {
    mime: 'image/tiff',
    ext: 'tif',
    extensions: ['.tif', '.tiff'],
    assetType: 'IMAGE',
    decodable: true,
    strippable: false,
  },
  {
    mime: 'image/heic',
    ext: 'heic',
    extensions: ['.heic'],
    assetType: 'IMAGE',
    get decodable() {
      return isHeicDecodable();
    },
    strippable: true,
  },
  {
    mime: 'image/heif',
    ext: 'heif',
    extensions: ['.heif', '.hif'],
    assetType: 'IMAGE',
    get decodable() {
      return isHeicDecodable();
    },
    strippable: true,
  },
  { mime: 'video/mp4', ext: 'mp4', extensions: ['.mp4'], assetType: 'VIDEO', decodable: false, strippable: true },
  { mime: 'video/x-m4v', ext: 'm4v', extensions: ['.m4v'], assetType: 'VIDEO', decodable: false, strippable: true },
  {
    mime: 'video/quicktime',
    ext: 'mov',
    extensions: ['.mov'],
    assetType: 'VIDEO',
    decodable: false,
    strippable: true,
  },
  { mime: 'video/webm', ext: 'webm', extensions: ['.webm'], assetType: 'VIDEO', decodable: false, strippable: false },
];

const byMime = new Map(SUPPORTED_FORMATS.map((format) => [format.mime, format]));

export function formatForMime(mime: string): MediaFormat | undefined {
  return byMime.get(mime.toLowerCase());
}

export interface MediaTypes {
  readonly image: readonly string[];
  readonly video: readonly string[];
  readonly sidecar: readonly string[];
}

/** The body of Immich's `GET /api/server/media-types`, derived from SUPPORTED_FORMATS. */
export const MEDIA_TYPES: MediaTypes = Object.freeze({
  image: Object.freeze(SUPPORTED_FORMATS.filter((f) => f.assetType === 'IMAGE').flatMap((f) => f.extensions)),
  video: Object.freeze(SUPPORTED_FORMATS.filter((f) => f.assetType === 'VIDEO').flatMap((f) => f.extensions)),
  sidecar: Object.freeze(['.xmp']),
});
