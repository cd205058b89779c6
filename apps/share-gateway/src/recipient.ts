import type { AssetRow, LinkActivityAction } from '@immish/db';
import { type ClientAddressMode, describeClient, requireLinkAsset } from '@immish/domain';
import type { ConcurrencyGate } from '@immish/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActivityLogRecorder } from './activity-log.ts';
import type { LinkAssetCache } from './asset-cache.ts';
import type { ByteLru, LinkScopedCache } from './cache.ts';
import type { GatewayDeps } from './deps.ts';
import type { EncodedBody } from './encoded-body.ts';
import type { LinkActivityRecorder } from './link-activity.ts';
import { type ActiveLink, credentialOf, type LinkCredential, type LinkResolver } from './link-resolver.ts';
import { passwordRequired, type UnlockThrottle, type UnlockTokens, unlockCookieName } from './unlock.ts';

/**
 * What every recipient route plugin gets: the deps plus the link resolution and unlock modules. Route plugins
 * (JSON, media, exports, uploads, pages) all go through `requireRecipient`, so no route can forget a check.
 */
export interface GatewayContext {
  deps: GatewayDeps;
  links: LinkResolver;
  /** the assets each link shows (membership, checked on every media request), dropped with the link */
  assets: LinkAssetCache;
  /** serialized responses of a link (the `/me` body of a 1,000-asset album is ~1 MB of JSON), dropped with it */
  bodies: LinkScopedCache<EncodedBody>;
  tokens: UnlockTokens;
  throttle: UnlockThrottle;
  /** bounds the argon2 verifications this process runs at once (memory and the libuv thread pool) */
  passwordVerifications: ConcurrencyGate;
  /** thumbnails and previews in memory (immutable per asset version); only served after the checks */
  derivatives: ByteLru;
  /** link counters (views, downloads, uploads), written in the background: one write per link in flight */
  activity: LinkActivityRecorder;
  /**
   * the per-link activity log (who did what, issue 18; `activity-log.ts`), distinct from the counters above;
   * undefined when ACTIVITY_LOG=false
   */
  activityLog: ActivityLogRecorder | undefined;
  /** how the log describes a client's address (ACTIVITY_IP_MODE, ACTIVITY_HASH_KEY) */
  activityClient: { mode: ClientAddressMode; hashKey?: string };
}

/**
 * Appends one recipient action to the link's activity log. Never awaited: the recorder buffers and writes in
 * the background. The address is fastify's `req.ip` (X-Forwarded-For only from the TRUST_PROXY hops), never
 * kept whole (truncated or hashed by domain's `describeClient`).
 */
export function logActivity(
  ctx: GatewayContext,
  req: FastifyRequest,
  linkId: string,
  action: LinkActivityAction,
  ids: { assetId?: string; exportId?: string } = {},
): void {
  if (!ctx.activityLog) return;
  ctx.activityLog.record({
    linkId,
    action,
    client: describeClient(req.ip, req.headers['user-agent'], ctx.activityClient),
    ...ids,
  });
}

export interface Recipient {
  credential: LinkCredential;
  link: ActiveLink;
}

/** Does the request carry a valid unlock for this link (or does the link have no password)? */
export function isUnlocked(ctx: GatewayContext, req: FastifyRequest, link: ActiveLink): boolean {
  if (!link.link.password_hash) return true;
  const header = req.headers.cookie;
  if (!header) return false;
  req.cookies ??= req.server.parseCookie(header);
  const cookies = req.cookies as Record<string, string | undefined>;
  return ctx.tokens.verify(link.link, cookies[unlockCookieName(link.link.id)]);
}

/**
 * The link a recipient request names, checked: it exists and works (else 401 `Invalid share key|slug`) and,
 * when it has a password, the request carries a valid unlock (else 401 `Password required`).
 */
export async function requireRecipient(ctx: GatewayContext, req: FastifyRequest): Promise<Recipient> {
  const credential = credentialOf(req);
  const link = await ctx.links.require(credential);
  if (!isUnlocked(ctx, req, link)) throw passwordRequired();
  return { credential: credential!, link };
}

/**
 * `requireRecipient` answered from memory: the recipient when the link is cached and active and the request
 * is unlocked; undefined when that cannot be told without the database (or the answer is a refusal, which
 * `requireRecipient` then gives with its proper error).
 */
export function peekRecipient(ctx: GatewayContext, req: FastifyRequest): Recipient | undefined {
  const credential = credentialOf(req);
  if (!credential) return undefined;
  const link = ctx.links.peek(credential);
  if (!link || !isUnlocked(ctx, req, link)) return undefined;
  return { credential, link };
}

/** HTTPS as the recipient sees it: PUBLIC_URL says so, or the request (X-Forwarded-Proto with TRUST_PROXY). */
export function isSecureRequest(ctx: GatewayContext, req: FastifyRequest): boolean {
  return ctx.deps.config.PUBLIC_URL.startsWith('https:') || req.protocol === 'https';
}

export function setUnlockCookie(
  ctx: GatewayContext,
  req: FastifyRequest,
  reply: FastifyReply,
  link: ActiveLink,
): { expiresAt: Date } {
  const { token, expiresAt } = ctx.tokens.issue(link.link);
  reply.setCookie(unlockCookieName(link.link.id), token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: isSecureRequest(ctx, req),
    maxAge: ctx.tokens.ttlSeconds,
    expires: expiresAt,
  });
  return { expiresAt };
}

/** The path segment to address a link in `/share/...` URLs: the slug when it has one, else the key. */
export const linkPathSegment = (link: ActiveLink): string => link.link.slug ?? link.link.key;

/**
 * The asset, when the link shows it (else checkLinkAccess's 400 "Asset not found in this shared link"), cached
 * with the link: a grid of thumbnails asks for each asset again and again. Stale at most LINK_CACHE_TTL_MS after
 * a change.
 */
export async function requireRecipientAsset(ctx: GatewayContext, link: ActiveLink, assetId: string): Promise<AssetRow> {
  return ctx.assets.getOrLoad(link, assetId, () => requireLinkAsset(ctx.deps.db, link, assetId));
}
