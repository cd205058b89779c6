import { createHash } from 'node:crypto';
import type { Actor } from '@immish/contracts';
import { invalid, isUuid, noAccess } from '@immish/contracts';
import { appendEvents, type Db, type ExportOptionsRecord, type ExportRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import { exportStoragePrefix } from './keys.ts';
import { exportHiddenByTrash } from './lifecycle.ts';
import { type ExportLimits, enforceExportLimits, lockLinkExports } from './limits.ts';
import {
  deleteExportRow,
  findLiveAlbumName,
  findReadyAssetSizes,
  findReusableExport,
  findScopedExport,
  insertExport,
  lockContentRequests,
  selectExportableAssets,
} from './queries.ts';

/**
 * Exports (docs/spec.md §4.5, §5.3, §7), the request side shared by the owner API (links-api) and the
 * recipient API (share-gateway). The caller authorizes first (owner: the access module; link: the
 * gateway's link checks); these functions then freeze the selection, reuse or queue the work, and
 * make sure one requester never sees another's export.
 */

/**
 * Who asked: an authenticated user, or a shared link (its recipients). The scope of every lookup.
 * A link states whether it hides metadata NOW (showMetadata=false): its exports are then built without
 * metadata (docs/spec.md §14), and an archive built with metadata is never served through it.
 */
export type ExportRequester = { userId: string } | { sharedLinkId: string; hidesMetadata: boolean };

/** Whether exports for this requester are built without metadata (stripped entries named by asset id). */
export const requesterHidesMetadata = (requester: ExportRequester): boolean =>
  'sharedLinkId' in requester && requester.hidesMetadata;

export interface RequestExportInput {
  requester: ExportRequester;
  /** the selection; with `albumId`, restricted to the album's assets */
  assetIds?: readonly string[];
  /** export an album (all its assets, or the `assetIds` among them); names the archive after the album */
  albumId?: string;
  /**
   * bytes; split into several archives (≥ MIN_EXPORT_PART_SIZE, checked by the request schema). Built with
   * `exportPartSizeStep(maxPartSize)`: sizes within the tolerance are the same content.
   */
  maxPartSize?: number;
  /** largest export in assets (EXPORT_MAX_ASSETS) */
  maxAssets?: number;
  /** caps on outstanding exports (recipients through a link; see limits.ts) */
  limits?: ExportLimits;
  correlationId?: string;
}

export interface RequestExportResult {
  export: ExportRow;
  /** true when an identical export of the same requester was reused instead of queuing a new one */
  reused: boolean;
}

export const exportActor = (requester: ExportRequester): Actor =>
  'userId' in requester ? { type: 'user', id: requester.userId } : { type: 'link', id: requester.sharedLinkId };

/**
 * The part size an export is built with: `maxPartSize` rounded DOWN to a multiple of 1/8 of the power of
 * two below it (8 steps per doubling: between 1 and 2 MiB a step is 128 KiB, between 2 and 4 MiB 256 KiB…).
 * This is the tolerance of export reuse (docs/spec.md §5.3 "identical requests reuse"): part sizes that round to
 * the same step are the same content, so `maxPartSize` 1048576+i for any small i is one export, not one per
 * byte. Rounding down keeps the promise to the requester: every part is at most the size asked (unless one
 * file is larger), at most 12.5% smaller than asked.
 */
export function exportPartSizeStep(maxPartSize: number): number {
  let power = 2 ** Math.floor(Math.log2(maxPartSize));
  // Math.log2 may round across an integer near powers of two: settle on the exact power ≤ maxPartSize.
  while (power > maxPartSize) power /= 2;
  while (power * 2 <= maxPartSize) power *= 2;
  const step = Math.max(1, power / 8);
  return Math.floor(maxPartSize / step) * step;
}

/**
 * The identity of an export's content: the sorted asset ids, the album (it names the archive) and the
 * options that change the bytes (part size; hidden metadata, which strips entries and names them by asset
 * id). Identical requests hash the same. v2: the stripping mode joined the identity (v1 rows, built with
 * metadata whatever their names, are never reused).
 */
export function exportContentHash(input: {
  assetIds: readonly string[];
  albumId: string | null;
  maxPartSize: number | null;
  hideMetadata: boolean;
}): string {
  const canonical = JSON.stringify({
    v: 2,
    assetIds: [...input.assetIds].map((id) => id.toLowerCase()).sort(),
    albumId: input.albumId,
    maxPartSize: input.maxPartSize,
    hideMetadata: input.hideMetadata,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * A Live Photo is exported as both its files (README "Formats"): each still's motion video follows it, once, even
 * though the motion is hidden from timelines and links and was never selected itself.
 */
async function withLivePhotoMotion(
  db: Db,
  selected: Array<{ id: string; size: string; live_photo_video_id: string | null }>,
): Promise<Array<{ id: string; size: string }>> {
  const motionIds = selected.flatMap((a) => (a.live_photo_video_id ? [a.live_photo_video_id] : []));
  if (motionIds.length === 0) return selected;
  const motions = await findReadyAssetSizes(db, motionIds);
  const byId = new Map(motions.map((m) => [m.id, m]));
  const seen = new Set(selected.map((a) => a.id));
  const out: Array<{ id: string; size: string }> = [];
  for (const asset of selected) {
    out.push(asset);
    const motion = asset.live_photo_video_id ? byId.get(asset.live_photo_video_id) : undefined;
    if (motion && !seen.has(motion.id)) {
      seen.add(motion.id);
      out.push(motion);
    }
  }
  return out;
}

/**
 * Requests an archive of the selection. Freezes the list of exportable assets (status `ready`, not
 * trashed; in the album when `albumId` is given), then, in one transaction: reuses an export of the
 * same requester with the same content that is queued, running, or ready and not expired (docs/spec.md §5.3
 * "identical requests reuse it"; in-flight ones too, so a double click never builds two archives), or
 * inserts a new `queued` export with its `export.requested` event (routed to the `exports` queue).
 * An empty selection → 400.
 */
export async function requestExport(db: Db, input: RequestExportInput): Promise<RequestExportResult> {
  const albumId = input.albumId ?? null;
  const hideMetadata = requesterHidesMetadata(input.requester);
  const maxPartSize = input.maxPartSize === undefined ? null : exportPartSizeStep(input.maxPartSize);
  if (input.assetIds === undefined && albumId === null) throw invalid('Give assetIds or albumId to export');
  const wanted = input.assetIds === undefined ? null : [...new Set(input.assetIds.map((id) => id.toLowerCase()))];
  if (wanted?.some((id) => !isUuid(id))) throw invalid('assetIds must be UUIDs');
  if (albumId !== null && !isUuid(albumId)) throw noAccess();

  let albumName: string | null = null;
  if (albumId !== null) {
    const name = await findLiveAlbumName(db, albumId);
    if (name === undefined) throw noAccess();
    albumName = name;
  }

  if (wanted !== null && wanted.length === 0) throw invalid('Nothing to export: the selection is empty');
  // One stable order for identical content: the archive reads like the timeline.
  const selected = await selectExportableAssets(db, { albumId, assetIds: wanted });
  const assets = await withLivePhotoMotion(db, selected);
  if (assets.length === 0) {
    throw invalid('Nothing to export: none of the selected assets is ready for download (processed and not trashed)');
  }
  if (input.maxAssets !== undefined && assets.length > input.maxAssets) {
    throw invalid(`An export holds at most ${input.maxAssets} assets; select fewer (got ${assets.length})`);
  }

  const assetIds = assets.map((a) => a.id);
  const bytesTotal = assets.reduce((sum, a) => sum + Number(a.size), 0);
  const contentHash = exportContentHash({ assetIds, albumId, maxPartSize, hideMetadata });
  const options: ExportOptionsRecord = maxPartSize !== null ? { maxPartSize } : {};
  const requester = input.requester;
  const userId = 'userId' in requester ? requester.userId : null;
  const sharedLinkId = 'sharedLinkId' in requester ? requester.sharedLinkId : null;

  return db.transaction().execute(async (trx) => {
    // Two identical requests at once: the second waits here and then finds the first's row. Through a
    // link every request of the link waits (the caps count the link's exports: limits.ts).
    if (sharedLinkId !== null) await lockLinkExports(trx, sharedLinkId);
    else await lockContentRequests(trx, `${userId ?? ''}||${contentHash}`);
    // The stripping mode is part of the identity (it is in the hash too): a stripped archive is never
    // handed to a requester that shows metadata, nor one with metadata to a link that hides it.
    const reusable = await findReusableExport(trx, {
      contentHash,
      hidesMetadata: hideMetadata,
      scope: userId !== null ? { userId } : { sharedLinkId: sharedLinkId! },
    });
    if (reusable) return { export: reusable, reused: true };
    if (sharedLinkId !== null && input.limits) await enforceExportLimits(trx, sharedLinkId, input.limits);

    const row = await insertExport(trx, {
      requested_by_user_id: userId,
      shared_link_id: sharedLinkId,
      album_id: albumId,
      asset_ids: assetIds,
      options: JSON.stringify(options),
      content_hash: contentHash,
      hides_metadata: hideMetadata,
      client_key: sharedLinkId !== null && input.limits ? input.limits.clientKey : null,
      // The album name as it was when asked (the worker turns it into a safe file name); '' = none.
      archive_name: albumName ?? '',
      bytes_total: bytesTotal,
    });
    await appendEvents(trx, [
      {
        type: 'export.requested',
        actor: exportActor(requester),
        subject: { type: 'export', id: row.id },
        data: { exportId: row.id },
        ...(input.correlationId ? { correlationId: input.correlationId } : {}),
      },
    ]);
    return { export: row, reused: false };
  });
}

/**
 * The requester's export, or 400 "Not found or no access" (another requester's looks the same as none). A ready
 * export that trash has voided (exportHiddenByTrash) comes back `expired`: its status says so and its parts
 * answer 410. Through a link that hides metadata, an archive built with metadata (the link hid nothing when
 * it was built) comes back `expired` too, without parts: it can be neither listed nor downloaded, and asking
 * again builds a stripped one (the stripping mode is part of the reuse identity).
 */
export async function getExport(db: Db, requester: ExportRequester, id: string): Promise<ExportRow> {
  if (!isUuid(id)) throw noAccess();
  const scope = 'userId' in requester ? { userId: requester.userId } : { sharedLinkId: requester.sharedLinkId };
  const row = await findScopedExport(db, scope, id);
  if (!row) throw noAccess();
  if (requesterHidesMetadata(requester) && !row.hides_metadata && row.status === 'ready') {
    return { ...row, status: 'expired', parts: [] };
  }
  // a ready archive holding an asset trashed since is void for this requester: shown expired, never served
  if (row.status === 'ready' && (await exportHiddenByTrash(db, row))) return { ...row, status: 'expired' };
  return row;
}

/** A ready export past its expiry is shown as expired even before the cleanup job has run. */
export function effectiveExportStatus(row: ExportRow, now: Date = new Date()): ExportRow['status'] {
  if (row.status === 'ready' && row.expires_at !== null && row.expires_at <= now) return 'expired';
  return row.status;
}

/**
 * Deletes the requester's export and its archives. A worker still building it notices (its progress
 * and completion updates find no row), discards what it wrote and stops.
 */
export async function deleteExport(db: Db, storage: BlobStore, requester: ExportRequester, id: string): Promise<void> {
  const row = await getExport(db, requester, id);
  await deleteExportRow(db, row.id);
  await storage.deletePrefix(exportStoragePrefix(row.id));
}
