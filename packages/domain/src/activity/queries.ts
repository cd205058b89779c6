import type { Db, LinkActivityAction, LinkActivityRow, NewLinkActivity } from '@immish/db';
import { sql } from 'kysely';
import { beforeCursor, type PageCursor } from '../paging.ts';

/**
 * The SQL of the per-link activity log (issue 18 item 1). Writers are the gateway's background recorder (one
 * multi-row insert per flush); readers are the owner's API (newest first, keyset on (at, id)); the retention
 * job deletes by age.
 */

/** Writes a flushed buffer in one statement; nothing when empty. */
export async function insertActivity(db: Db, rows: readonly NewLinkActivity[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('link_activity')
    .values([...rows])
    .execute();
}

/** One page of a link's log, newest first, strictly after `cursor` (the last row of the previous page). */
export const listActivityPage = (
  db: Db,
  linkId: string,
  opts: { limit: number; cursor?: PageCursor; action?: LinkActivityAction },
): Promise<LinkActivityRow[]> => {
  let q = db.selectFrom('link_activity').selectAll().where('link_id', '=', linkId);
  if (opts.action) q = q.where('action', '=', opts.action);
  if (opts.cursor) q = q.where(beforeCursor('at', 'id', opts.cursor, 'bigint'));
  return q.orderBy('at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
};

export interface ActivityCounts {
  visits: number;
  uniqueVisitors: number;
  downloads: number;
  uploads: number;
}

const countsSelect = sql<ActivityCounts>`
  json_build_object(
    'visits', count(*) FILTER (WHERE action = 'visit' AND NOT bot),
    'uniqueVisitors', count(DISTINCT client_net) FILTER (WHERE action = 'visit' AND NOT bot AND client_net <> ''),
    'downloads', count(*) FILTER (WHERE action IN ('download-original', 'export-downloaded')),
    'uploads', count(*) FILTER (WHERE action = 'upload')
  )`;

/** Totals and the same by UTC day (oldest day first), over what retention kept. */
export async function activitySummary(
  db: Db,
  linkId: string,
): Promise<{ total: ActivityCounts; days: Array<ActivityCounts & { day: string }> }> {
  const total = await db
    .selectFrom('link_activity')
    .select(countsSelect.as('c'))
    .where('link_id', '=', linkId)
    .executeTakeFirstOrThrow();
  const days = await db
    .selectFrom('link_activity')
    .select([sql<string>`to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`.as('day'), countsSelect.as('c')])
    .where('link_id', '=', linkId)
    .groupBy(sql`1`)
    .orderBy(sql`1`)
    .execute();
  return { total: total.c, days: days.map((d) => ({ day: d.day, ...d.c })) };
}

/** Retention: removes entries older than `days` days; returns how many went. */
export async function deleteActivityOlderThan(db: Db, days: number): Promise<number> {
  const r = await db
    .deleteFrom('link_activity')
    .where('at', '<', sql<Date>`now() - make_interval(days => ${days})`)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
