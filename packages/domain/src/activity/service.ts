import {
  invalid,
  LINK_ACTIVITY_DEFAULT_LIMIT,
  type LinkActivityActionName,
  type LinkActivityPageDto,
  type LinkActivitySummaryDto,
} from '@immish/contracts';
import type { Db } from '@immish/db';
import { toLinkActivityEntryDto } from './dto.ts';
import { type ActivityCursor, activitySummary, listActivityPage } from './queries.ts';

/**
 * The owner's side of a link's activity log (issue 18 item 1): a page of entries (newest first, keyset cursor)
 * and the summary. Whose link it is was checked by the route through the access module (`sharedLink.read`),
 * as for every owner route on one link.
 *
 * The cursor is opaque to clients: `base64url("<at ms>.<id>")` of the page's last entry. Every writer stamps `at`
 * in milliseconds (the gateway's recorder, the export worker's export-ready), so the pair is exact.
 */
export function encodeActivityCursor(c: ActivityCursor): string {
  return Buffer.from(`${c.at.getTime()}.${c.id}`).toString('base64url');
}

/** The cursor a client sent back, or 400 (a cursor is only ever what the API gave). */
export function decodeActivityCursor(cursor: string): ActivityCursor {
  const m = /^(\d{1,15})\.(\d{1,19})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const at = m ? new Date(Number(m[1])) : null;
  if (!m || !at || Number.isNaN(at.getTime()) || BigInt(m[2]!) > 9223372036854775807n)
    throw invalid('cursor is not one this API returned');
  return { at, id: m[2]! };
}

export async function listLinkActivity(
  db: Db,
  linkId: string,
  query: { cursor?: string; limit?: number; action?: LinkActivityActionName },
): Promise<LinkActivityPageDto> {
  const limit = query.limit ?? LINK_ACTIVITY_DEFAULT_LIMIT;
  const cursor = query.cursor === undefined ? undefined : decodeActivityCursor(query.cursor);
  // one more than asked tells whether there is a next page without a second query
  const rows = await listActivityPage(db, linkId, {
    limit: limit + 1,
    ...(cursor ? { cursor } : {}),
    ...(query.action ? { action: query.action } : {}),
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map(toLinkActivityEntryDto),
    nextCursor: rows.length > limit && last ? encodeActivityCursor({ at: last.at, id: last.id }) : null,
  };
}

export async function summarizeLinkActivity(db: Db, linkId: string): Promise<LinkActivitySummaryDto> {
  const { total, days } = await activitySummary(db, linkId);
  return { ...total, days };
}
