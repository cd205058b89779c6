import type { AssetIdsResponseDto } from '@immish/contracts';
import { invalid } from '@immish/contracts';
import { appendEvents, type Db, type SharedLinkRow } from '@immish/db';
import { checkAccess } from '../access.ts';
import { event, type LinkContext, requireOwnLink, uniqueIds } from './service.ts';

async function requireIndividualLink(db: Db, userId: string, linkId: string): Promise<SharedLinkRow> {
  const link = await requireOwnLink(db, userId, linkId);
  if (link.type !== 'INDIVIDUAL') {
    throw invalid('Invalid shared link type: assets can be added to or removed from INDIVIDUAL links only');
  }
  return link;
}

/** PUT /shared-links/:id/assets — per id: success, or `duplicate` (already on the link) / `no_permission`. */
export async function addSharedLinkAssets(
  db: Db,
  ctx: Pick<LinkContext, 'userId' | 'correlationId'>,
  linkId: string,
  assetIds: readonly string[],
): Promise<AssetIdsResponseDto[]> {
  await requireIndividualLink(db, ctx.userId, linkId);
  if (assetIds.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    // Lock the link row: concurrent adds to one link serialize, so "duplicate" is decided on current data.
    await trx.selectFrom('shared_links').select('id').where('id', '=', linkId).forUpdate().executeTakeFirst();
    const ids = uniqueIds(assetIds);
    const present = new Set(
      (
        await trx
          .selectFrom('shared_link_assets')
          .select('asset_id')
          .where('link_id', '=', linkId)
          .where('asset_id', 'in', ids)
          .execute()
      ).map((r) => r.asset_id),
    );
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
      await trx
        .insertInto('shared_link_assets')
        .values(added.map((asset_id) => ({ link_id: linkId, asset_id })))
        .execute();
      await trx.updateTable('shared_links').set({ updated_at: new Date() }).where('id', '=', linkId).execute();
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
  await requireIndividualLink(db, ctx.userId, linkId);
  if (assetIds.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    await trx.selectFrom('shared_links').select('id').where('id', '=', linkId).forUpdate().executeTakeFirst();
    const removed = new Set(
      (
        await trx
          .deleteFrom('shared_link_assets')
          .where('link_id', '=', linkId)
          .where('asset_id', 'in', uniqueIds(assetIds))
          .returning('asset_id')
          .execute()
      ).map((r) => r.asset_id),
    );
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
      await trx.updateTable('shared_links').set({ updated_at: new Date() }).where('id', '=', linkId).execute();
      await appendEvents(trx, [event(ctx, 'shared-link.assets-removed', linkId, { linkId, assetIds: [...removed] })]);
    }
    return results;
  });
}
