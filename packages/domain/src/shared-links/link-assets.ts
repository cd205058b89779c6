import type { AssetIdsResponseDto } from '@immish/contracts';
import { invalid } from '@immish/contracts';
import { appendEvents, type Db } from '@immish/db';
import { checkAccess } from '../access.ts';
import { deleteLinkAssets, insertLinkAssets, linkAssetsAmong, lockLink, touchLink } from './queries.ts';
import { event, type LinkContext, requireOwnLink, uniqueIds } from './service.ts';

/**
 * The frame of both changes: the caller's own INDIVIDUAL link (else 404 / 400), then `change` in one transaction
 * with the link row locked, so concurrent changes to one link decide on current data. No ids: nothing to do.
 */
async function changeLinkAssets(
  db: Db,
  userId: string,
  linkId: string,
  assetIds: readonly string[],
  change: (trx: Db) => Promise<AssetIdsResponseDto[]>,
): Promise<AssetIdsResponseDto[]> {
  const link = await requireOwnLink(db, userId, linkId);
  if (link.type !== 'INDIVIDUAL') {
    throw invalid('Invalid shared link type: assets can be added to or removed from INDIVIDUAL links only');
  }
  if (assetIds.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    await lockLink(trx, linkId);
    return change(trx);
  });
}

/** PUT /shared-links/:id/assets — per id: success, or `duplicate` (already on the link) / `no_permission`. */
export async function addSharedLinkAssets(
  db: Db,
  ctx: Pick<LinkContext, 'userId' | 'correlationId'>,
  linkId: string,
  assetIds: readonly string[],
): Promise<AssetIdsResponseDto[]> {
  return changeLinkAssets(db, ctx.userId, linkId, assetIds, async (trx) => {
    // the link row is locked: "duplicate" is decided on current data
    const ids = uniqueIds(assetIds);
    const present = new Set(await linkAssetsAmong(trx, linkId, ids));
    const allowed = await checkAccess(
      trx,
      ctx.userId,
      'asset.share',
      ids.filter((id) => !present.has(id)),
    );
    const results: AssetIdsResponseDto[] = [];
    const added: string[] = [];
    for (const assetId of assetIds) {
      const id = assetId.toLowerCase();
      if (present.has(id)) results.push({ assetId, success: false, error: 'duplicate' });
      else if (!allowed.has(id)) results.push({ assetId, success: false, error: 'no_permission' });
      else {
        results.push({ assetId, success: true });
        present.add(id);
        added.push(id);
      }
    }
    if (added.length > 0) {
      await insertLinkAssets(trx, linkId, added);
      await touchLink(trx, linkId);
      await appendEvents(trx, [event(ctx, 'shared-link.assets-added', linkId, { linkId, assetIds: added })]);
    }
    return results;
  });
}

/** DELETE /shared-links/:id/assets — per id: success, or `not_found` (not on the link). */
export async function removeSharedLinkAssets(
  db: Db,
  ctx: Pick<LinkContext, 'userId' | 'correlationId'>,
  linkId: string,
  assetIds: readonly string[],
): Promise<AssetIdsResponseDto[]> {
  return changeLinkAssets(db, ctx.userId, linkId, assetIds, async (trx) => {
    const removed = new Set(await deleteLinkAssets(trx, linkId, uniqueIds(assetIds)));
    const results: AssetIdsResponseDto[] = [];
    const reported = new Set<string>();
    for (const assetId of assetIds) {
      const id = assetId.toLowerCase();
      if (removed.has(id) && !reported.has(id)) {
        results.push({ assetId, success: true });
        reported.add(id);
      } else results.push({ assetId, success: false, error: 'not_found' });
    }
    if (removed.size > 0) {
      await touchLink(trx, linkId);
      await appendEvents(trx, [event(ctx, 'shared-link.assets-removed', linkId, { linkId, assetIds: [...removed] })]);
    }
    return results;
  });
}
