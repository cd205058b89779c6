import type { LinkUploadDecisionResponseDto, LinkUploadDto, LinkUploadStatus, NewEvent } from '@immish/contracts';
import { invalid, noAccess, notFound } from '@immish/contracts';
import { appendEvents, type Db, type SharedLinkRow } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import { findOwnLink } from '../shared-links/queries.ts';
import { placeAssets, type UploadPlacement } from '../uploads/placement.ts';
import { toLinkUploadDto } from './dto.ts';
import {
  deleteUploadAssets,
  expiredPendingUploads,
  linkUploadIdsAmong,
  listLinkUploadRows,
  lockPendingUploads,
  markUploadsDecided,
  releaseLinkUploadBytes,
} from './queries.ts';

/**
 * Guest-upload moderation (issue 19 item 3, README "Guest-upload moderation"). An upload through a link with
 * `upload_review` is stored and ingested as any other (uploads/service.ts) but not placed: it waits in
 * `link_uploads` as `pending`, so nothing that lists what a link or an album shows can see it (recipients, album
 * members, exports, thumbnails). The link's owner lists the queue, approves (the assets join the album or link,
 * as the ingest worker would have placed them) or rejects (the assets are deleted, their files removed from
 * storage). Every decision writes its event in the same transaction (docs/spec.md §6).
 */

export interface LinkUploadCaller {
  userId: string;
  correlationId?: string;
}

/** The caller's own link; another owner's link answers exactly like a missing one (shared-links' rule, 400). */
async function requireOwnLinkRow(db: Db, userId: string, linkId: string): Promise<SharedLinkRow> {
  const link = await findOwnLink(db, userId, linkId);
  if (!link) throw noAccess('Shared link not found or no access');
  return link;
}

const uniqueIds = (ids: readonly string[]): string[] => [...new Set(ids.map((id) => id.toLowerCase()))];

/** Where an approved upload goes: as the ingest worker places an upload through this link. */
const placementOf = (link: SharedLinkRow): UploadPlacement =>
  link.type === 'ALBUM' && link.album_id ? { albumId: link.album_id } : { sharedLinkId: link.id };

export async function listLinkUploads(
  db: Db,
  caller: LinkUploadCaller,
  linkId: string,
  status: LinkUploadStatus = 'pending',
): Promise<LinkUploadDto[]> {
  await requireOwnLinkRow(db, caller.userId, linkId);
  return (await listLinkUploadRows(db, linkId, status)).map(toLinkUploadDto);
}

/**
 * The decision is all or nothing: every id must be a pending upload of this link. An id that is no upload of this
 * link at all → 404; one already decided → 400 (both name the ids).
 */
async function lockDecidable(trx: Db, linkId: string, assetIds: readonly string[]) {
  const locked = await lockPendingUploads(trx, linkId, assetIds);
  if (locked.length === assetIds.length) return locked;
  const pending = new Set(locked.map((r) => r.asset_id));
  const known = await linkUploadIdsAmong(trx, linkId, assetIds);
  const foreign = assetIds.filter((id) => !known.has(id));
  if (foreign.length > 0) throw notFound(`Not uploads of this link: ${foreign.join(', ')}`);
  const decided = assetIds.filter((id) => !pending.has(id));
  throw invalid(`Not pending (already approved or rejected): ${decided.join(', ')}`);
}

const linkEvent = <T extends NewEvent['type']>(
  caller: LinkUploadCaller,
  type: T,
  linkId: string,
  data: NewEvent<T>['data'],
): NewEvent<T> => ({
  type,
  actor: { type: 'user', id: caller.userId },
  subject: { type: 'shared-link', id: linkId },
  data,
  ...(caller.correlationId ? { correlationId: caller.correlationId } : {}),
});

/** Approves pending uploads: they join the album (ALBUM link) or the link (INDIVIDUAL), with their events. */
export async function approveLinkUploads(
  db: Db,
  caller: LinkUploadCaller,
  linkId: string,
  assetIdsIn: readonly string[],
): Promise<LinkUploadDecisionResponseDto> {
  const link = await requireOwnLinkRow(db, caller.userId, linkId);
  const assetIds = uniqueIds(assetIdsIn);
  await db.transaction().execute(async (trx) => {
    await lockDecidable(trx, linkId, assetIds);
    await markUploadsDecided(trx, linkId, assetIds, 'approved');
    const placed = await placeAssets(trx, {
      placement: placementOf(link),
      assetIds,
      actor: { type: 'user', id: caller.userId },
      addedBy: caller.userId,
    });
    await appendEvents(trx, [
      ...placed,
      linkEvent(caller, 'shared-link.upload-approved', linkId, { linkId, ownerId: link.owner_id, assetIds }),
    ]);
  });
  return { status: 'approved', assetIds };
}

/**
 * Rejects pending uploads: the assets are deleted (with their event) and their files (original and derivatives,
 * one prefix per asset) removed from storage once that has committed; their bytes go back to the link's budget.
 */
export async function rejectLinkUploads(
  deps: { db: Db; storage: BlobStore },
  caller: LinkUploadCaller,
  linkId: string,
  assetIdsIn: readonly string[],
): Promise<LinkUploadDecisionResponseDto> {
  const link = await requireOwnLinkRow(deps.db, caller.userId, linkId);
  const assetIds = uniqueIds(assetIdsIn);
  await removeUploads(deps, caller, link, async (trx) => lockDecidable(trx, linkId, assetIds), false);
  return { status: 'rejected', assetIds };
}

async function removeUploads(
  deps: { db: Db; storage: BlobStore },
  caller: LinkUploadCaller,
  link: Pick<SharedLinkRow, 'id' | 'owner_id'>,
  lock: (trx: Db) => Promise<Array<{ asset_id: string; bytes: string }>>,
  expired: boolean,
): Promise<string[]> {
  const deleted = await deps.db.transaction().execute(async (trx) => {
    const locked = await lock(trx);
    const ids = locked.map((r) => r.asset_id);
    if (ids.length === 0) return [];
    await markUploadsDecided(trx, link.id, ids, 'rejected');
    const rows = await deleteUploadAssets(trx, ids);
    await releaseLinkUploadBytes(
      trx,
      link.id,
      locked.reduce((sum, r) => sum + Number(r.bytes), 0),
    );
    await appendEvents(trx, [
      linkEvent(caller, 'shared-link.upload-rejected', link.id, {
        linkId: link.id,
        ownerId: link.owner_id,
        assetIds: ids,
        ...(expired ? { expired: true } : {}),
      }),
    ]);
    return rows;
  });
  for (const row of deleted) {
    const prefix = row.original_key.slice(0, row.original_key.lastIndexOf('/') + 1);
    await deps.storage.deletePrefix(prefix);
  }
  return deleted.map((r) => r.id);
}

/**
 * The maintenance job (export worker, hourly): pending uploads older than `ttlDays` are removed like a rejection,
 * with `shared-link.upload-rejected` (`expired: true`) by the system. Returns how many were removed.
 */
export async function expirePendingUploads(
  deps: { db: Db; storage: BlobStore },
  opts: { ttlDays: number; now?: Date; limit?: number },
): Promise<number> {
  const now = opts.now ?? new Date();
  const before = new Date(now.getTime() - opts.ttlDays * 86_400_000);
  const rows = await expiredPendingUploads(deps.db, before, opts.limit ?? 1000);
  const byLink = new Map<string, { ownerId: string; assetIds: string[] }>();
  for (const r of rows) {
    const entry = byLink.get(r.link_id) ?? { ownerId: r.owner_id, assetIds: [] };
    entry.assetIds.push(r.asset_id);
    byLink.set(r.link_id, entry);
  }
  let removed = 0;
  for (const [linkId, { ownerId, assetIds }] of byLink) {
    // still pending under the lock: an owner's decision meanwhile wins
    const ids = await removeUploads(
      deps,
      { userId: ownerId },
      { id: linkId, owner_id: ownerId },
      (trx) => lockPendingUploads(trx, linkId, assetIds),
      true,
    );
    removed += ids.length;
  }
  return removed;
}
