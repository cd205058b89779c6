import type { FastPath } from '@immish/runtime';
import { derivativeFromMemory, SHARE_MEDIA_ROUTE } from './derivatives.ts';
import type { GatewayContext } from './recipient.ts';
import { peekRecipientRaw } from './recipient.ts';

/**
 * The gateway's fast path (runtime http/fast-path.ts): a recipient's cached thumbnail or preview,
 * `GET /share/:key/assets/:assetId/thumbnail|preview`, answered from memory without fastify's request cycle —
 * the same checks and the same answer as the route (derivatives.ts `derivativeFromMemory`), on the same caches.
 * Anything else, or anything not plain, is left to fastify: a percent-encoded path (fastify decodes it), a key
 * over the route's 512 characters, an upper-case id, a trailing slash, HEAD, a limited link, a locked one, a miss.
 * A query string is ignored, as the route ignores it (the key in the path comes first: `credentialOf`).
 */
const MEDIA_PATH =
  /^\/share\/([^/?#%]{1,512})\/assets\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/(thumbnail|preview)(?:\?|$)/;

export function recipientFastPath(ctx: GatewayContext): FastPath {
  return (req) => {
    const url = req.url;
    if (url === undefined || !url.startsWith('/share/')) return undefined;
    const m = MEDIA_PATH.exec(url);
    if (!m) return undefined;
    const recipient = peekRecipientRaw(ctx, { kind: 'segment', value: m[1]! }, req.headers.cookie);
    const ifNoneMatch = req.headers['if-none-match'];
    const answer = derivativeFromMemory(ctx, recipient, m[2]!, m[3] as 'thumbnail' | 'preview', ifNoneMatch);
    if (!answer) return undefined;
    ctx.fastAnswers++;
    return { status: answer.status, route: SHARE_MEDIA_ROUTE, headers: answer.headers, body: answer.bytes };
  };
}
