import type { AssetIdsResponseDto } from '@immish/contracts';
import { invalid } from '@immish/contracts';
import { appendEvents, type Db } from '@immish/db';
import { checkAccess } from '../access.ts';
import { deleteLinkAssets, insertLinkAssets, linkAssetsAmong, lockLink, touchLink } from './queries.ts';
import { event, type LinkContext, requireOwnLink, uniqueIds } from './service.ts';

type LinkAssetsChange = (
  db: Db,
  ctx: Pick<LinkContext, 'userId' | 'correlationId'>,
  linkId: string,
  assetIds: readonly string[],
) => Promise<AssetIdsResponseDto[]>;

/**
 * The frame of both changes: the caller's own INDIVIDUAL link (else 404 / 400), then `change` in one transaction
 * with the link row locked, so concurrent changes to one link decide on current data. When `change` reports
 * assets changed, the link is marked changed and `eventType` is appended in the same transaction. No ids: nothing
 * to do.
 */
async function changeLinkAssets(
  [db, ctx, linkId, assetIds]: Parameters<LinkAssetsChange>,
  eventType: 'shared-link.assets-added' | 'shared-link.assets-removed',
  change: (trx: Db) => Promise<{ results: AssetIdsResponseDto[]; changed: string[] }>,
): Promise<AssetIdsResponseDto[]> {
  const link = await requireOwnLink(db, ctx.userId, linkId);
  if (link.type !== 'INDIVIDUAL') {
    throw invalid('Invalid shared link type: assets can be added to or removed from INDIVIDUAL links only');
  }
  if (assetIds.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    await lockLink(trx, linkId);
    const { results, changed } = await change(trx);
    if (changed.length > 0) {
      await touchLink(trx, linkId);
      await appendEvents(trx, [event(ctx, eventType, linkId, { linkId, assetIds: changed })]);
    }
    return results;
  });
}

/** PUT /shared-links/:id/assets — per id: success, or `duplicate` (already on the link) / `no_permission`. */
export const addSharedLinkAssets: LinkAssetsChange = (...args) => {
  const [, ctx, linkId, assetIds] = args;
  return changeLinkAssets(args, 'shared-link.assets-added', async (trx) => {
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
    if (added.length > 0) await insertLinkAssets(trx, linkId, added);
    return { results, changed: added };
  });
};

/** DELETE /shared-links/:id/assets — per id: success, or `not_found` (not on the link). */
export const removeSharedLinkAssets: LinkAssetsChange = (...args) => {
  const [, , linkId, assetIds] = args;
  return changeLinkAssets(args, 'shared-link.assets-removed', async (trx) => {
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
    return { results, changed: [...removed] };
  });
};
