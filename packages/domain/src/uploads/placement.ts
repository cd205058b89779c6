import type { Actor, NewEvent } from '@immish/contracts';
import type { Db } from '@immish/db';
import { isLiveAlbum, linkType, placeInAlbum, placeOnLink } from './queries.ts';

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
    const added = (await isLiveAlbum(trx, albumId))
      ? await placeInAlbum(trx, albumId, input.assetIds, input.addedBy)
      : [];
    if (added.length > 0) {
      events.push({
        type: 'album.assets-added',
        actor: input.actor,
        subject: { type: 'album', id: albumId },
        data: { albumId, assetIds: added },
      });
    }
  }
  if (sharedLinkId) {
    // ALBUM links show their album's assets; only INDIVIDUAL links list assets themselves.
    if ((await linkType(trx, sharedLinkId)) === 'INDIVIDUAL') {
      const added = await placeOnLink(trx, sharedLinkId, input.assetIds);
      if (added.length > 0) {
        events.push({
          type: 'shared-link.assets-added',
          actor: input.actor,
          subject: { type: 'shared-link', id: sharedLinkId },
          data: { linkId: sharedLinkId, assetIds: added },
        });
      }
    }
  }
  return events;
}
