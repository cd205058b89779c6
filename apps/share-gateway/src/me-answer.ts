import type { ContentCoding, Encoded, EncodedBody } from './encoded-body.ts';
import type { ActiveLink } from './link-resolver.ts';
import { meHead } from './me-body.ts';
import type { GatewayContext } from './recipient.ts';

/**
 * The answer of `GET /api/shared-links/me` once the recipient is checked (docs/spec.md §5.3), in one place for the
 * route (routes/me.ts) and the fast path (fast-path.ts), as derivatives.ts is for thumbnails: which body, which
 * headers (what a load records is recipient.ts `recordLinkLoad`, the same for a share page).
 */
export const ME_ROUTE = '/api/shared-links/me';

/** the body cache's key of a link's `/me` body (link-bodies.ts) */
export const meBodyKey = (link: ActiveLink): string => `me:${link.link.id}`;

/** The link's cached `/me` body when `get` would give it at once (link-bodies.ts `peek`), else undefined. */
export function cachedMeBody(ctx: GatewayContext, link: ActiveLink): EncodedBody | undefined {
  return ctx.bodies.peek(meBodyKey(link), meHead(ctx.deps.config.PUBLIC_URL, link));
}

const JSON_TYPE = 'application/json; charset=utf-8';
const HEADERS: Readonly<Record<ContentCoding, Readonly<Record<string, string>>>> = {
  identity: { 'content-type': JSON_TYPE, vary: 'accept-encoding' },
  br: { 'content-type': JSON_TYPE, vary: 'accept-encoding', 'content-encoding': 'br' },
  gzip: { 'content-type': JSON_TYPE, vary: 'accept-encoding', 'content-encoding': 'gzip' },
};

/** The answer's own headers for a body in this coding (the security headers are everyone's: createHttpApp). */
export const meHeaders = (encoded: Encoded): Readonly<Record<string, string>> => HEADERS[encoded.coding];
