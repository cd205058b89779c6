import type { ContentCoding, Encoded, EncodedBody } from './encoded-body.ts';
import type { ActiveLink } from './link-resolver.ts';
import { meHead } from './me-body.ts';

/**
 * The kept grid pages of the share page (`GET /share/:key[?page=N]`, docs/spec.md §5.4), in one place for the
 * route (routes/pages.ts) and the fast path (fast-path.ts), as me-answer.ts is for `/me`: the keys a page and the
 * link's count are kept under (link-bodies.ts, `ctx.pages`), the rows' head they were built from, the page number
 * rule and the answer's headers.
 */
export const GRID_ROUTE = '/share/:key';

/** Photos per grid page: divisible by 2–6 so full rows stay full at common column counts. */
export const GRID_PAGE_SIZE = 120;

/** Sent by the bundle when it fetches the next grid page for infinite scrolling. */
export const CONTINUATION_HEADER = 'x-share-continuation';

const pageHeads = new WeakMap<ActiveLink, string>();

/**
 * What a grid page shows of the link, owner and album rows (link-bodies.ts `head`): the `/me` head (the recipient's
 * view of them, without the counters) and what only the page uses — the upload review, whether a password guards
 * the link (the preview card's picture), the key and slug of its URLs. Once per resolved link.
 */
export function pageHead(publicUrl: string, link: ActiveLink): string {
  let head = pageHeads.get(link);
  if (head === undefined) {
    const l = link.link;
    head = `${meHead(publicUrl, link)}\u0000${JSON.stringify([l.upload_review, !!l.password_hash, l.key, l.slug, l.show_metadata])}`;
    pageHeads.set(link, head);
  }
  return head;
}

/** `?page=` as a number ≥ 1 (anything else is page 1) */
export function pageNumber(value: string | undefined): number {
  const n = value && /^\d{1,7}$/.test(value) ? Number(value) : 1;
  return Math.max(1, n);
}

/** the page asked for, clamped to the last one: every number past it is the same page (one entry, one build) */
export function clampedPage(asked: number, total: number): number {
  return Math.min(asked, Math.max(1, Math.ceil(total / GRID_PAGE_SIZE)));
}

/** the key of the link's asset count among the kept pages (same scope and head, dropped with them) */
export const linkTotalKey = (linkId: string): string => `count:${linkId}`;

/** the key of one kept grid page: its link, language, number, order and grouping, and whether it is the data alone */
export const gridPageKey = (
  linkId: string,
  locale: string,
  page: number,
  order: 'asc' | 'desc' | null,
  group: 'day' | 'month' | null,
  continuation: boolean,
): string => `grid:${linkId}:${locale}:${page}:${order ?? ''}:${group ?? ''}:${continuation ? 'data' : 'page'}`;

/** the link's asset count as kept (`linkTotalKey`'s body holds the number as text) */
export const totalOf = (body: EncodedBody): number => Number(body.identity.toString('latin1'));

const HTML_TYPE = 'text/html; charset=utf-8';
const VARY = `accept-language, ${CONTINUATION_HEADER}, accept-encoding`;
const HEADERS: Readonly<Record<ContentCoding, Readonly<Record<string, string>>>> = {
  identity: { 'content-type': HTML_TYPE, 'cache-control': 'no-store', vary: VARY },
  br: { 'content-type': HTML_TYPE, 'cache-control': 'no-store', vary: VARY, 'content-encoding': 'br' },
  gzip: { 'content-type': HTML_TYPE, 'cache-control': 'no-store', vary: VARY, 'content-encoding': 'gzip' },
};

/**
 * A kept page's own headers in this coding (the security headers are everyone's: createHttpApp): HTML, never
 * stored by caches, varying with the language, the bundle's continuation header and the coding.
 */
export const gridPageHeaders = (encoded: Encoded): Readonly<Record<string, string>> => HEADERS[encoded.coding];
