import type { IncomingMessage } from 'node:http';
import type { FastAnswer, FastPath, FastRequest } from '@immish/runtime';
import { derivativeFromMemory, SHARE_MEDIA_ROUTE } from './derivatives.ts';
import type { LinkCredential } from './link-resolver.ts';
import { cachedMeBody, ME_ROUTE, meHeaders } from './me-answer.ts';
import {
  CONTINUATION_HEADER,
  clampedPage,
  GRID_ROUTE,
  gridPageHeaders,
  gridPageKey,
  linkTotalKey,
  pageHead,
  pageNumber,
  totalOf,
} from './page-answer.ts';
import type { GatewayContext } from './recipient.ts';
import { isPreviewBotAgent, peekRecipientRaw, recordLinkLoad } from './recipient.ts';
import { pickLocale } from './views/i18n/index.ts';

/**
 * The gateway's fast path (runtime http/fast-path.ts): the recipient's hottest requests answered from memory
 * without fastify's request cycle, with the same checks and the same answer as their routes, on the same caches:
 * - a cached thumbnail or preview, `GET /share/:key/assets/:assetId/thumbnail|preview` (derivatives.ts
 *   `derivativeFromMemory`, as routes/media.ts);
 * - a cached `/me` body, `GET /api/shared-links/me?key=…` (or `?slug=`, or no query and Immich's
 *   `x-immich-share-key|slug` header), in a coding already made (me-answer.ts, as routes/me.ts), recording the
 *   view and the visit as the route does (the address: `FastRequest.ip()`, fastify's `req.ip` rule);
 * - a kept grid page of the share page, `GET /share/:key` or `/share/:key?page=N` (page-answer.ts, as
 *   routes/pages.ts): the whole page or, with the bundle's continuation header, its data, in a coding already made,
 *   counting the view and the visit as the route does (not for the bundle's next pages: the same visit). A
 *   link-preview bot, an order or grouping choice, `/s/:slug` and anything else take the route. Why (issue 17 item
 *   3): at saturation a turn of fastify's path finished every page its requests asked for (254 KB each), the
 *   gateway's loop p99 read 12.8–14.2 ms on this VM's AMD host; here its answers share the fast path's bounded
 *   turn (FAST_ANSWER_MS_PER_TURN).
 * Anything else, or anything not plain, is left to fastify: a percent-encoded path or query value (fastify
 * decodes it), any other query parameter, a key over the route's 512 characters, an upper-case id, a trailing
 * slash, HEAD, a limited link, a locked one, a miss, a body past its age or a coding not made yet.
 */
const MEDIA_PATH =
  /^\/share\/([^/?#%]{1,512})\/assets\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(thumbnail|preview)(?:\?|$)/;
/** one `key` or `slug` parameter of unreserved characters: the value fastify's query parser gives is the text */
const ME_QUERY = /^\?(key|slug)=([A-Za-z0-9._~-]{1,512})$/;
/** a grid page: the link's segment, and at most a `page` of digits (fastify's schema allows 16 characters) */
const GRID_PATH = /^\/share\/([^/?#%]{1,512})(?:\?page=(\d{1,16}))?$/;

export function recipientFastPath(ctx: GatewayContext): FastPath {
  return (req, info) => {
    const url = req.url;
    if (url === undefined) return undefined;
    if (url.startsWith('/share/')) return media(ctx, req, url) ?? gridPage(ctx, req, url, info);
    if (url.startsWith(ME_ROUTE)) return me(ctx, req, url, info);
    return undefined;
  };
}

function media(ctx: GatewayContext, req: IncomingMessage, url: string): FastAnswer | undefined {
  const m = MEDIA_PATH.exec(url);
  if (!m) return undefined;
  const recipient = peekRecipientRaw(ctx, { kind: 'segment', value: m[1]! }, req.headers.cookie);
  const answer = derivativeFromMemory(
    ctx,
    recipient,
    m[2]!,
    m[3] as 'thumbnail' | 'preview',
    req.headers['if-none-match'],
  );
  if (!answer) return undefined;
  ctx.fastAnswers++;
  return { status: answer.status, route: SHARE_MEDIA_ROUTE, headers: answer.headers, body: answer.bytes };
}

/** The credential of a `/me` URL as link-resolver.ts `credentialOf` reads it, when it is that plain. */
function meCredential(req: IncomingMessage, url: string): LinkCredential | undefined {
  if (url.length === ME_ROUTE.length) {
    // no query: Immich's headers (a string; the key first, as credentialOf)
    const key = req.headers['x-immich-share-key'];
    if (typeof key === 'string' && key.length > 0) return { kind: 'key', value: key };
    const slug = req.headers['x-immich-share-slug'];
    if (typeof slug === 'string' && slug.length > 0) return { kind: 'slug', value: slug };
    return undefined;
  }
  const m = ME_QUERY.exec(url.slice(ME_ROUTE.length));
  if (!m) return undefined;
  return { kind: m[1] as 'key' | 'slug', value: m[2]! };
}

function me(ctx: GatewayContext, req: IncomingMessage, url: string, info: FastRequest): FastAnswer | undefined {
  const credential = meCredential(req, url);
  if (!credential) return undefined;
  const recipient = peekRecipientRaw(ctx, credential, req.headers.cookie);
  if (!recipient) return undefined;
  const encoded = cachedMeBody(ctx, recipient.link)?.ready(req.headers['accept-encoding']);
  if (!encoded) return undefined;
  const userAgent = req.headers['user-agent'];
  recordLinkLoad(ctx, recipient.link.link.id, { ip: info.ip(), userAgent }, info.id());
  ctx.fastAnswers++;
  return { status: 200, route: ME_ROUTE, headers: meHeaders(encoded), body: encoded.bytes };
}

function gridPage(ctx: GatewayContext, req: IncomingMessage, url: string, info: FastRequest): FastAnswer | undefined {
  const m = GRID_PATH.exec(url);
  if (!m) return undefined;
  const userAgent = req.headers['user-agent'];
  // a preview bot gets the Open Graph card, from the route
  if (isPreviewBotAgent(userAgent)) return undefined;
  const recipient = peekRecipientRaw(ctx, { kind: 'segment', value: m[1]! }, req.headers.cookie);
  if (!recipient) return undefined;
  const link = recipient.link;
  const head = pageHead(ctx.deps.config.PUBLIC_URL, link);
  const total = ctx.pages.peek(linkTotalKey(link.link.id), head);
  if (!total) return undefined;
  const continuation = req.headers[CONTINUATION_HEADER] === '1';
  const page = clampedPage(pageNumber(m[2]), totalOf(total));
  const locale = pickLocale(req.headers['accept-language']);
  const body = ctx.pages.peek(gridPageKey(link.link.id, locale, page, null, null, continuation), head);
  const encoded = body?.ready(req.headers['accept-encoding']);
  if (!encoded) return undefined;
  if (!continuation) recordLinkLoad(ctx, link.link.id, { ip: info.ip(), userAgent }, info.id());
  ctx.fastAnswers++;
  return { status: 200, route: GRID_ROUTE, headers: gridPageHeaders(encoded), body: encoded.bytes };
}
