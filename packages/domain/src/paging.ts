import { invalid } from '@immish/contracts';
import { type RawBuilder, sql } from 'kysely';

/**
 * Keyset pages, newest first (issue 18: a link's activity log, a webhook's delivery log): a page ends with its last
 * row, and the next one is every row strictly before it in (time, id) order, so rows written meanwhile never shift
 * a page (no gap, no duplicate). The cursor is opaque to clients: `base64url("<time in ms>.<id>")` of that row. It
 * is exact because every table paged this way keeps its time in whole milliseconds (link_activity: its writers
 * stamp JS dates; webhook_deliveries.created_at: a timestamptz(3) column).
 */
export interface PageCursor {
  at: Date;
  id: string;
}

/** How a table's ids are written: a bigserial's digits, or a uuid. */
export type PageIdKind = 'bigint' | 'uuid';

const ID_FORM: Record<PageIdKind, RegExp> = {
  bigint: /^\d{1,19}$/,
  uuid: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
};

export function encodePageCursor(c: PageCursor): string {
  return Buffer.from(`${c.at.getTime()}.${c.id}`).toString('base64url');
}

/** The cursor a client sent back, or 400 (a cursor is only ever what the API gave). */
export function decodePageCursor(cursor: string, kind: PageIdKind): PageCursor {
  const m = /^(\d{1,15})\.(.+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = m?.[2] ?? '';
  const at = m ? new Date(Number(m[1])) : null;
  const fits =
    ID_FORM[kind].test(id) && (kind !== 'bigint' || BigInt(id) <= 9223372036854775807n) && !Number.isNaN(at?.getTime());
  if (!m || !at || !fits) throw invalid('cursor is not one this API returned');
  return { at, id };
}

/** `(time, id)` strictly before the cursor's row: the WHERE of a next page (ORDER BY time DESC, id DESC). */
export function beforeCursor(time: string, id: string, c: PageCursor, kind: PageIdKind): RawBuilder<boolean> {
  return sql<boolean>`(${sql.ref(time)}, ${sql.ref(id)}) < (${c.at}::timestamptz, ${c.id}::${sql.raw(kind)})`;
}

/**
 * A page from the `limit + 1` rows a query returned (one more than asked tells whether there is a next page
 * without a second query), and the cursor of the next page (null at the end).
 */
export function pageOf<R>(
  rows: R[],
  limit: number,
  cursorOf: (row: R) => PageCursor,
): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last ? encodePageCursor(cursorOf(last)) : null };
}
