import { noAccess, notFound } from '@immish/contracts';
import type { AssetRow, Db } from '@immish/db';
import { checkLinkAccess } from '../access.ts';
import { findLiveMotion, findShownAsset, findShownAssetOrStill, type ShowingLink } from './queries.ts';

/**
 * What a recipient may reach through a link, with the refusals (docs/spec.md §5.3, §10 "every recipient route checks
 * the asset belongs to the link"). Which assets a link shows, in which order, is queries.ts (`linkAssetsQuery`).
 */

/**
 * The video to play for `assetId` through the link: the asset itself when it is a video the link shows, or the
 * motion part of a Live Photo whose still the link shows (asked for by the still's id or, as Immich's clients do,
 * by its `livePhotoVideoId`). The motion is reachable only through a still the recipient may see.
 */
export async function requireLinkVideo(
  db: Db,
  link: ShowingLink,
  assetId: string,
  shown?: AssetRow,
): Promise<AssetRow> {
  const row = shown ?? (await findShownAssetOrStill(db, link, assetId));
  if (!row) throw noAccess('Asset not found in this shared link');
  if (row.type === 'VIDEO') return row;
  if (!row.live_photo_video_id) throw notFound('This asset has no video');
  const motion = await findLiveMotion(db, row);
  if (!motion) throw notFound('The motion part of this Live Photo is not available');
  return motion;
}

/**
 * The asset, when the link shows it; otherwise the recipient access rule's refusal (checkLinkAccess: 400, no
 * existence leak).
 */
export async function requireLinkAsset(db: Db, link: ShowingLink, assetId: string): Promise<AssetRow> {
  const row = await findShownAsset(db, link, assetId);
  checkLinkAccess(link.link, 'link.view', [assetId], row ? [row.id] : []);
  return row!;
}
