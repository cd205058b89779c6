import type { IncomingMessage } from 'node:http';
import type { FastAnswer, FastPath, FastRequest } from '@immish/runtime';
import { derivativeFromMemory, SHARE_MEDIA_ROUTE } from './derivatives.ts';
import type { LinkCredential } from './link-resolver.ts';
import { cachedMeBody, ME_ROUTE, meHeaders, recordMeLoad } from './me-answer.ts';
import type { GatewayContext } from './recipient.ts';
import { peekRecipientRaw } from './recipient.ts';

/**
 * The gateway's fast path (runtime http/fast-path.ts): the recipient's hottest requests answered from memory
 * without fastify's request cycle, with the same checks and the same answer as their routes, on the same caches:
 * - a cached thumbnail or preview, `GET /share/:key/assets/:assetId/thumbnail|preview` (derivatives.ts
 *   `derivativeFromMemory`, as routes/media.ts);
 * - a cached `/me` body, `GET /api/shared-links/me?key=…` (or `?slug=`, or no query and Immich's
 *   `x-immich-share-key|slug` header), in a coding already made (me-answer.ts, as routes/me.ts), recording the
 *   view and the visit as the route does (the address: `FastRequest.ip()`, fastify's `req.ip` rule).
 * Anything else, or anything not plain, is left to fastify: a percent-encoded path or query value (fastify
 * decodes it), any other query parameter, a key over the route's 512 characters, an upper-case id, a trailing
 * slash, HEAD, a limited link, a locked one, a miss, a body past its age or a coding not made yet.
 */
const MEDIA_PATH =
  /^\/share\/([^/?#%]{1,512})\/assets\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(thumbnail|preview)(?:\?|$)/;
/** one `key` or `slug` parameter of unreserved characters: the value fastify's query parser gives is the text */
const ME_QUERY = /^\?(key|slug)=([A-Za-z0-9._~-]{1,512})$/;

export function recipientFastPath(ctx: GatewayContext): FastPath {
  return (req, info) => {
    const url = req.url;
    if (url === undefined) return undefined;
    if (url.startsWith('/share/')) return media(ctx, req, url);
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
  recordMeLoad(ctx, recipient.link.link.id, { ip: info.ip(), userAgent }, info.id());
  ctx.fastAnswers++;
  return { status: 200, route: ME_ROUTE, headers: meHeaders(encoded), body: encoded.bytes };
}
