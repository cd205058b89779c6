import { looksLikeBot } from '@immish/domain';
import type { ContentCoding, Encoded, EncodedBody } from './encoded-body.ts';
import type { ActiveLink } from './link-resolver.ts';
import { meHead } from './me-body.ts';
import { type GatewayContext, recordActivity } from './recipient.ts';

/**
 * The answer of `GET /api/shared-links/me` once the recipient is checked (docs/spec.md §5.3), in one place for the
 * route (routes/me.ts) and the fast path (fast-path.ts), as derivatives.ts is for thumbnails: which body, what a
 * load records, which headers.
 */
export const ME_ROUTE = '/api/shared-links/me';

/** the body cache's key of a link's `/me` body (link-bodies.ts) */
export const meBodyKey = (link: ActiveLink): string => `me:${link.link.id}`;

/** The link's cached `/me` body when `get` would give it at once (link-bodies.ts `peek`), else undefined. */
export function cachedMeBody(ctx: GatewayContext, link: ActiveLink): EncodedBody | undefined {
  return ctx.bodies.peek(meBodyKey(link), meHead(ctx.deps.config.PUBLIC_URL, link));
}

/**
 * What loading `/me` (GET, not HEAD) records: a view on the link's counters, except for a link-preview bot (logged
 * as a bot, not a view), and a visit in the activity log.
 */
export function recordMeLoad(
  ctx: GatewayContext,
  linkId: string,
  client: { ip: string; userAgent: string | undefined },
  correlationId: string,
): void {
  if (!looksLikeBot(client.userAgent)) ctx.activity.count(linkId, 'view', 1, correlationId);
  recordActivity(ctx, client.ip, client.userAgent, linkId, 'visit');
}

const JSON_TYPE = 'application/json; charset=utf-8';
const HEADERS: Readonly<Record<ContentCoding, Readonly<Record<string, string>>>> = {
  identity: { 'content-type': JSON_TYPE, vary: 'accept-encoding' },
  br: { 'content-type': JSON_TYPE, vary: 'accept-encoding', 'content-encoding': 'br' },
  gzip: { 'content-type': JSON_TYPE, vary: 'accept-encoding', 'content-encoding': 'gzip' },
};

/** The answer's own headers for a body in this coding (the security headers are everyone's: createHttpApp). */
export const meHeaders = (encoded: Encoded): Readonly<Record<string, string>> => HEADERS[encoded.coding];
