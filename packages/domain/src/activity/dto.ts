import { type LinkActivityEntryDto, toIso } from '@immish/contracts';
import type { LinkActivityRow } from '@immish/db';

/** One stored activity entry as its owner sees it (README "Link activity log"). */
export const toLinkActivityEntryDto = (row: LinkActivityRow): LinkActivityEntryDto => ({
  id: String(row.id),
  at: toIso(row.at),
  action: row.action,
  assetId: row.asset_id,
  exportId: row.export_id,
  client: { network: row.client_net, browser: row.browser, os: row.os, bot: row.bot },
});
