import type { Actor, NewEvent } from '@immish/contracts';
import type { Db } from '@immish/db';

// Step 2: record it ----------------------------------------------------------------------------------

/** Where an uploaded asset should land: an album (batch target / ALBUM link) or an INDIVIDUAL link. */
export interface UploadPlacement {
  albumId?: string;
  sharedLinkId?: string;
}

/** Adds existing assets to an album / link (idempotent), with their events; deleted targets are skipped. */
export async function placeAssets(
  trx: Db,
  input: { placement: UploadPlacement; assetIds: readonly string[]; actor: Actor; addedBy: string | null },
): Promise<NewEvent[]> {
  const events: NewEvent[] = [];
  const { albumId, sharedLinkId } = input.placement;
  if (input.assetIds.length === 0) return events;
  if (albumId) {
    const album = await trx
      .selectFrom('albums')
      .select('id')
      .where('id', '=', albumId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    const rows = album
      ? await trx
          .insertInto('album_assets')
          .values(input.assetIds.map((asset_id) => ({ album_id: albumId, asset_id, added_by: input.addedBy })))
          .onConflict((oc) => oc.columns(['album_id', 'asset_id']).doNothing())
          .returning('asset_id')
          .execute()
      : [];
    if (rows.length > 0) {
      await trx.updateTable('albums').set({ updated_at: new Date() }).where('id', '=', albumId).execute();
      events.push({
        type: 'album.assets-added',
        actor: input.actor,
        subject: { type: 'album', id: albumId },
        data: { albumId, assetIds: rows.map((r) => r.asset_id) },
      });
    }
  }
  if (sharedLinkId) {
    const link = await trx
      .selectFrom('shared_links')
      .select(['id', 'type'])
      .where('id', '=', sharedLinkId)
      .executeTakeFirst();
    // ALBUM links show their album's assets; only INDIVIDUAL links list assets themselves.
    if (link?.type === 'INDIVIDUAL') {
      const rows = await trx
        .insertInto('shared_link_assets')
        .values(input.assetIds.map((asset_id) => ({ link_id: sharedLinkId, asset_id })))
        .onConflict((oc) => oc.columns(['link_id', 'asset_id']).doNothing())
        .returning('asset_id')
        .execute();
      if (rows.length > 0) {
        events.push({
          type: 'shared-link.assets-added',
          actor: input.actor,
          subject: { type: 'shared-link', id: sharedLinkId },
          data: { linkId: sharedLinkId, assetIds: rows.map((r) => r.asset_id) },
        });
      }
    }
  }
  return events;
}
