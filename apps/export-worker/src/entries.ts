import { pipeline as pipe, type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExportSubstitutionRecord } from '@immish/db';
import type { ExportSourceAsset } from '@immish/domain';
import { createMetadataStripper, isMediaError } from '@immish/media';
import { BlobNotFoundError } from '@immish/storage';
import { type EntryReader, splitExtension } from './archive/index.ts';

/**
 * What goes into an export's archive, entry by entry (docs/spec.md §7, §14).
 *
 * - As is (owner exports, links that show metadata): each original, under its file name.
 * - Without metadata (links with showMetadata=false): each original stripped of EXIF/XMP/IPTC/GPS by the
 *   same lossless stripping as the gateway's `/original` (`createMetadataStripper` of packages/media, the one
 *   place that knows which types can be stripped: when media learns a type, exports follow), named
 *   `<asset id>.<ext>`. A type media cannot strip (HEIC, video, RAW…), or an original the stripper cannot
 *   parse, is replaced by the asset's full-size preview JPEG `<asset id>.jpg` (run through the JPEG
 *   stripper too: previews are written without metadata, and this keeps it so whatever wrote them), or
 *   left out when it has none; both are listed as substitutions.
 *
 * Sizes: the zip writer puts every entry's exact size in its local header (so streaming readers can find
 * the end of a STORED entry) and plans parts by exact archive sizes (`maxPartSize`, ZIP64 decisions). A
 * stripped entry's size is only known once stripped, so a sizing pass streams each stripped source once
 * through its stripper into a counter before anything is written, and the write pass strips it again.
 * Chosen over local headers without sizes (data descriptor only), which streaming readers such as Java's
 * ZipInputStream refuse for STORED entries and which would leave part sizes to guesses; the cost is a
 * second read of the stripped files (photos, a few MB each), for metadata-hiding exports only, and never
 * more than a stripper's own buffer in memory. Stripping is deterministic: the writer still checks that
 * every entry delivers exactly the bytes measured (EntrySizeMismatchError otherwise).
 */

export interface ExportEntry {
  /** raw entry name (planExport makes it safe and unique) */
  name: string;
  /** the name when `name` sanitizes to nothing: `<asset id>.<ext>` */
  fallbackName: string;
  /** exact number of bytes `open()` delivers */
  size: number;
  modifiedAt: Date;
  open(): Promise<Readable>;
  /** the same bytes for positional reads (see ArchiveEntrySource.openReader) */
  openReader?: () => Promise<EntryReader>;
}

export interface ExportContent {
  entries: ExportEntry[];
  /** the assets replaced by their preview or left out (metadata-hiding exports only) */
  substitutions: ExportSubstitutionRecord[];
}

export interface EntrySourceOptions {
  /** opens a stored object for reading (throttled by the caller when configured) */
  read: (key: string) => Promise<Readable>;
  /** opens a stored object for positional reads, when the store can and reads are not throttled (as-is entries) */
  openReader?: ((key: string) => Promise<EntryReader>) | undefined;
  /** bytes produced by the sizing pass, as they flow (progress) */
  onSized?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** Owner exports and links that show metadata: the originals under their file names. */
export function contentAsIs(assets: readonly ExportSourceAsset[], opts: EntrySourceOptions): ExportContent {
  return {
    entries: assets.map((asset) => ({
      name: asset.originalFileName,
      fallbackName: anonymousName(asset),
      size: asset.size,
      modifiedAt: asset.modifiedAt,
      open: () => opts.read(asset.originalKey),
      ...(opts.openReader ? { openReader: () => opts.openReader!(asset.originalKey) } : {}),
    })),
    substitutions: [],
  };
}

const PREVIEW_MIME = 'image/jpeg';

/** `<asset id>.<ext of the original>`: the entry name when metadata (file names included) is hidden. */
const anonymousName = (asset: ExportSourceAsset): string =>
  `${asset.id}${splitExtension(asset.originalFileName).ext.toLowerCase()}`;

/** The stored object stripped of metadata, streaming (the type is one `createMetadataStripper` knows). */
async function openStripped(opts: EntrySourceOptions, key: string, mime: string): Promise<Readable> {
  const stripper = createMetadataStripper(mime);
  if (!stripper) throw new Error(`cannot strip ${mime}`);
  // pipeline: an error of either stream destroys both, so it reaches the stripper (the stream the zip
  // writer reads); the writer destroying the stripper (entry written, archive failed) ends the read.
  // The error itself is reported by the writer, hence the empty callback.
  return pipe(await opts.read(key), stripper, () => {});
}

/**
 * The stripped length of a stored object: one pass through the stripper into a counter. Null when the
 * stripper refuses the content (not the format it claims, truncated: a MediaError) or the object is gone;
 * other failures (storage errors, abort) are thrown so the job is retried.
 */
async function strippedSize(
  opts: EntrySourceOptions,
  key: string,
  mime: string,
  missingIsFatal: boolean,
): Promise<number | null> {
  const stripper = createMetadataStripper(mime);
  if (!stripper) return null;
  let size = 0;
  const counter = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      opts.onSized?.(chunk.length);
      callback();
    },
  });
  try {
    await pipeline(await opts.read(key), stripper, counter, opts.signal ? { signal: opts.signal } : {});
  } catch (err) {
    if (isMediaError(err)) return null;
    if (err instanceof BlobNotFoundError && !missingIsFatal) return null;
    throw err;
  }
  return size;
}

/**
 * Links with showMetadata=false: every entry without metadata (see the module comment). Sizes every
 * stripped entry first (one asset at a time: memory stays one stripper's buffer). A missing original
 * fails the export as it does with metadata; a missing preview only leaves its asset out.
 */
export async function contentWithoutMetadata(
  assets: readonly ExportSourceAsset[],
  opts: EntrySourceOptions,
): Promise<ExportContent> {
  const entries: ExportEntry[] = [];
  const substitutions: ExportSubstitutionRecord[] = [];
  for (const asset of assets) {
    let reason: ExportSubstitutionRecord['reason'] = 'not-strippable';
    if (createMetadataStripper(asset.mimeType) !== null) {
      const size = await strippedSize(opts, asset.originalKey, asset.mimeType, true);
      if (size !== null) {
        const name = anonymousName(asset);
        entries.push({
          name,
          fallbackName: name,
          size,
          modifiedAt: asset.modifiedAt,
          open: () => openStripped(opts, asset.originalKey, asset.mimeType),
        });
        continue;
      }
      reason = 'unreadable';
    }
    const previewKey = asset.previewKey;
    const previewSize = previewKey === null ? null : await strippedSize(opts, previewKey, PREVIEW_MIME, false);
    if (previewKey !== null && previewSize !== null) {
      entries.push({
        name: `${asset.id}.jpg`,
        fallbackName: `${asset.id}.jpg`,
        size: previewSize,
        modifiedAt: asset.modifiedAt,
        open: () => openStripped(opts, previewKey, PREVIEW_MIME),
      });
      substitutions.push({ assetId: asset.id, reason, substitute: 'preview' });
    } else {
      substitutions.push({ assetId: asset.id, reason, substitute: 'omitted' });
    }
  }
  return { entries, substitutions };
}
