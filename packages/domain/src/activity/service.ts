import {
  LINK_ACTIVITY_DEFAULT_LIMIT,
  type LinkActivityActionName,
  type LinkActivityPageDto,
  type LinkActivitySummaryDto,
} from '@immish/contracts';
import type { Db } from '@immish/db';
import { decodePageCursor, pageOf } from '../paging.ts';
import { toLinkActivityEntryDto } from './dto.ts';
import { activitySummary, listActivityPage } from './queries.ts';

/**
 * The owner's side of a link's activity log (issue 18 item 1): a page of entries (newest first, the keyset cursor
 * of paging.ts) and the summary. Whose link it is was checked by the route through the access module
 * (`sharedLink.read`), as for every owner route on one link.
 */
export async function listLinkActivity(
  db: Db,
  linkId: string,
  query: { cursor?: string; limit?: number; action?: LinkActivityActionName },
): Promise<LinkActivityPageDto> {
  const limit = query.limit ?? LINK_ACTIVITY_DEFAULT_LIMIT;
  const cursor = query.cursor === undefined ? undefined : decodePageCursor(query.cursor, 'bigint');
  const rows = await listActivityPage(db, linkId, {
    limit: limit + 1,
    ...(cursor ? { cursor } : {}),
    ...(query.action ? { action: query.action } : {}),
  });
  const { page, nextCursor } = pageOf(rows, limit, (r) => ({ at: r.at, id: r.id }));
  return { items: page.map(toLinkActivityEntryDto), nextCursor };
}

export async function summarizeLinkActivity(db: Db, linkId: string): Promise<LinkActivitySummaryDto> {
  const { total, days } = await activitySummary(db, linkId);
  return { ...total, days };
}
