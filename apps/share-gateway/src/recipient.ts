import { fastifyCookie } from '@fastify/cookie';
import type { AssetRow, LinkActivityAction } from '@immish/db';
import {
  type ActivityClient,
  type ClientAddressMode,
  describeClient,
  isLimitedLink,
  type LinkUse,
  linkUsedUp,
  looksLikeBot,
  requireLinkAsset,
  usedUp,
  usedUpError,
  useLimit,
} from '@immish/domain';
import { type ConcurrencyGate, forbidden } from '@immish/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActivityLogRecorder } from './activity-log.ts';
import type { LinkAssetCache } from './asset-cache.ts';
import type { ByteLru } from './cache.ts';
import type { GatewayDeps } from './deps.ts';
import type { LinkActivityRecorder } from './link-activity.ts';
import type { LinkBodyCache } from './link-bodies.ts';
import type { LinkLimits } from './link-limits.ts';
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
  /** serialized responses of a link (the `/me` body of a 1,000-asset album is ~1 MB of JSON), rebuilt on changes */
  bodies: LinkBodyCache;
  /** the share page's grid pages, ready to send (routes/pages.ts `gridPage`), rebuilt on the same changes */
  pages: LinkBodyCache;
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
  /** limited links: admission cookies and counted uses (link-limits.ts); the rules are `gateRecipient` below */
  limits: LinkLimits;
  /** answers given by the fast path (fast-path.ts) since start: tests tell by it which way a request went */
  fastAnswers: number;
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
  recordActivity(ctx, req.ip, req.headers['user-agent'], linkId, action, ids);
}

/**
 * `logActivity` from the client's address and User-Agent, for answers given without fastify's request (the fast
 * path: the address from createHttpApp's `FastRequest.ip()`, the same TRUST_PROXY rule as `req.ip`).
 */
export function recordActivity(
  ctx: GatewayContext,
  ip: string,
  userAgent: string | undefined,
  linkId: string,
  action: LinkActivityAction,
  ids: { assetId?: string; exportId?: string } = {},
): void {
  if (!ctx.activityLog) return;
  ctx.activityLog.record({ linkId, action, client: describedClient(ctx, ip, userAgent), ...ids });
}

/**
 * What loading the link (a share page, `/me`; GET, not HEAD) records, wherever it is answered (the routes, the fast
 * path): a view on the link's counters, except for a link-preview bot (logged as a bot, not a view), and a visit in
 * the activity log.
 */
export function recordLinkLoad(
  ctx: GatewayContext,
  linkId: string,
  client: { ip: string; userAgent: string | undefined },
  correlationId: string,
): void {
  if (!looksLikeBot(client.userAgent)) ctx.activity.count(linkId, 'view', 1, correlationId);
  recordActivity(ctx, client.ip, client.userAgent, linkId, 'visit');
}

/** described clients remembered per (address, User-Agent), per gateway; when full the memory starts over */
const DESCRIBED_MAX = 10_000;
const described = new WeakMap<GatewayContext['activityClient'], Map<string, ActivityClient>>();

/**
 * `describeClient` of the request, remembered: a recipient's browser sends the same address and User-Agent with
 * every request, and parsing the User-Agent (and, in hash mode, an HMAC of the address) was most of what
 * recording a visit cost (issue 18 benchmark: `/me` with the log on vs off).
 */
function describedClient(ctx: GatewayContext, ip: string, ua: string | undefined): ActivityClient {
  let memory = described.get(ctx.activityClient);
  if (!memory) {
    memory = new Map();
    described.set(ctx.activityClient, memory);
  }
  const key = `${ip}\n${ua === undefined ? '\u0000' : ua}`;
  let client = memory.get(key);
  if (!client) {
    client = describeClient(ip, ua, ctx.activityClient);
    if (memory.size >= DESCRIBED_MAX) memory.clear();
    memory.set(key, client);
  }
  return client;
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
  return unlockedBy(ctx, link, req.cookies as Record<string, string | undefined>);
}

/** The unlock rule on parsed cookies: the link's unlock cookie holds a valid token for it. */
function unlockedBy(ctx: GatewayContext, link: ActiveLink, cookies: Record<string, string | undefined>): boolean {
  return ctx.tokens.verify(link.link, cookies[unlockCookieName(link.link.id)]);
}

/**
 * What a recipient route serves, for the limited-link and bot gate (`gateRecipient`):
 * - `entry`: a page or `/me` load, which admits a client to a visit-limited link (counting a visit);
 * - `content`: everything else of the link (its JSON, media, downloads, exports, uploads);
 * - `card`: the Open Graph image, which link-preview bots may fetch of any link without a password.
 */
export type RecipientSurface = 'entry' | 'content' | 'card';

/**
 * The link a recipient request names, checked: it exists and works (else 401 `Invalid share key|slug`), it is not
 * used up for this client (else 410), when it has a password the request carries a valid unlock (else 401
 * `Password required`), and the limited-link rules let this request through (`gateRecipient`).
 */
export async function requireRecipient(
  ctx: GatewayContext,
  req: FastifyRequest,
  surface: RecipientSurface = 'content',
): Promise<Recipient> {
  const credential = credentialOf(req);
  const link = await ctx.links.require(credential);
  refuseUsedUp(ctx, req, link);
  if (!isUnlocked(ctx, req, link)) throw passwordRequired();
  await gateRecipient(ctx, req, link, surface);
  return { credential: credential!, link };
}

/** A link-preview bot (the one list: `@immish/domain` activity/bots.ts). */
export const isPreviewBotAgent = (userAgent: string | undefined): boolean => looksLikeBot(userAgent);
export const isPreviewBot = (req: FastifyRequest): boolean => isPreviewBotAgent(req.headers['user-agent']);

export const BOT_REFUSED =
  'Link-preview bots get only the preview card of a limited link (docs: README "Link-preview bots")';
const ADMISSION_REQUIRED =
  'This link can be opened a limited number of times: open its page (or GET /api/shared-links/me) first';

/**
 * Limited links (issue 19): a link whose visits are used up answers 410 "used up" on every route, like an expired
 * link, to every client but those admitted before it was (they keep browsing while their admission lasts).
 */
export function refuseUsedUp(ctx: GatewayContext, req: FastifyRequest, link: ActiveLink): void {
  if (linkUsedUp(link.link) && ctx.limits.admission(req, link) === 'none') throw usedUpError('visit');
}

/**
 * THE limited-link and link-preview-bot gate (issue 19, README "Limited links", "Link-preview bots"), after the
 * unlock check, for every recipient route:
 * - a card is open to anyone who may see the link (bots included);
 * - a bot gets nothing else of a limited link (403), and never consumes or counts anything;
 * - a visit-limited link needs an admission: a page or `/me` load (GET) admits a client that has none by counting
 *   a visit (410 when none is left); every other request without one is refused (403); a valid one is renewed.
 */
export async function gateRecipient(
  ctx: GatewayContext,
  req: FastifyRequest,
  link: ActiveLink,
  surface: RecipientSurface,
): Promise<void> {
  const row = link.link;
  if (surface === 'card' || !isLimitedLink(row)) return;
  if (isPreviewBot(req)) throw forbidden(BOT_REFUSED);
  if (row.max_visits === null) return;
  const admission = ctx.limits.admission(req, link);
  if (admission !== 'none') {
    if (admission === 'stale') ctx.limits.admitOnSend(req, link, isSecureRequest(ctx, req));
    return;
  }
  if (surface !== 'entry' || req.method !== 'GET') throw forbidden(ADMISSION_REQUIRED);
  await admitVisit(ctx, req, link);
}

/** Counts a visit and admits the client (410 when the link has none left). Unlocking is a visit too. */
export async function admitVisit(ctx: GatewayContext, req: FastifyRequest, link: ActiveLink): Promise<void> {
  const outcome = await ctx.limits.consume(link, 'visit');
  if (!outcome.granted) throw usedUpError('visit');
  ctx.limits.admitOnSend(req, link, isSecureRequest(ctx, req));
}

/**
 * Counts one download (an original, or an export archive) of a download-limited link: 403 once none is left.
 * Nothing to count on a link without `maxDownloads`.
 */
export async function countLimitedUse(ctx: GatewayContext, link: ActiveLink, use: Exclude<LinkUse, 'visit'>) {
  if (useLimit(link.link, use) === null) return;
  if (usedUp(link.link, use)) throw usedUpError(use);
  const outcome = await ctx.limits.consume(link, use);
  if (!outcome.granted) throw usedUpError(use);
}

/**
 * `requireRecipient` answered from memory: the recipient when the link is cached and active and the request
 * is unlocked; undefined when that cannot be told without the database (or the answer is a refusal, which
 * `requireRecipient` then gives with its proper error).
 */
export function peekRecipient(ctx: GatewayContext, req: FastifyRequest): Recipient | undefined {
  const credential = credentialOf(req);
  if (!credential) return undefined;
  const link = peekLink(ctx, credential);
  if (!link || !isUnlocked(ctx, req, link)) return undefined;
  return { credential, link };
}

/**
 * `peekRecipient` for a raw request (the fast path, fast-path.ts): the link segment of its path and its Cookie
 * header, parsed by the same parser as fastify's `parseCookie` (@fastify/cookie's, no options).
 */
export function peekRecipientRaw(
  ctx: GatewayContext,
  credential: LinkCredential,
  cookieHeader: string | undefined,
): Recipient | undefined {
  const link = peekLink(ctx, credential);
  if (!link) return undefined;
  if (link.link.password_hash && !(cookieHeader && unlockedBy(ctx, link, fastifyCookie.parse(cookieHeader))))
    return undefined;
  return { credential, link };
}

/** The cached active link, unless it is limited: a limited link always takes the full path (gateRecipient). */
function peekLink(ctx: GatewayContext, credential: LinkCredential): ActiveLink | undefined {
  const link = ctx.links.peek(credential);
  return link && !isLimitedLink(link.link) ? link : undefined;
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
