import { createHash } from 'node:crypto';
import {
  AttemptBudget,
  forbidden,
  isSpent,
  type RedisConnection,
  type ReservedAttempt,
  rateLimited,
} from '@immish/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Immich's cookie names (its web client and server use these), so what a browser holds means the same thing:
 * the session token (HttpOnly), how it was obtained, and a flag the page's script may read to know it is
 * signed in (the only one not HttpOnly; it carries no secret).
 */
export const ACCESS_TOKEN_COOKIE = 'immich_access_token';
export const AUTH_TYPE_COOKIE = 'immich_auth_type';
export const IS_AUTHENTICATED_COOKIE = 'immich_is_authenticated';

/** HTTPS as the browser sees it: the request itself, or X-Forwarded-Proto from a proxy TRUST_PROXY names. */
const isSecure = (req: FastifyRequest): boolean => req.protocol === 'https';

export function setSessionCookies(req: FastifyRequest, reply: FastifyReply, token: string, expires: Date): void {
  // Lax: sent on top-level navigations from elsewhere (a bookmarked console opens signed in), never on a
  // cross-site POST or fetch; the Origin check below covers what Lax lets through.
  const base = { path: '/', sameSite: 'lax' as const, secure: isSecure(req), expires };
  reply.setCookie(ACCESS_TOKEN_COOKIE, token, { ...base, httpOnly: true });
  reply.setCookie(AUTH_TYPE_COOKIE, 'password', { ...base, httpOnly: true });
  reply.setCookie(IS_AUTHENTICATED_COOKIE, 'true', { ...base, httpOnly: false });
}

export function clearSessionCookies(req: FastifyRequest, reply: FastifyReply): void {
  const base = { path: '/', sameSite: 'lax' as const, secure: isSecure(req) };
  for (const name of [ACCESS_TOKEN_COOKIE, AUTH_TYPE_COOKIE, IS_AUTHENTICATED_COOKIE]) reply.clearCookie(name, base);
}

/** The session token of the request's cookie, if any (cookies are parsed only where needed). */
export function sessionCookieOf(req: FastifyRequest): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  req.cookies ??= req.server.parseCookie(header);
  return (req.cookies as Record<string, string | undefined>)[ACCESS_TOKEN_COOKIE] || null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF (docs/spec.md §10): a request that a browser may have sent on another site's behalf. Decision: a
 * cookie-authenticated unsafe request must prove it comes from this origin — `Sec-Fetch-Site: same-origin`, or
 * an `Origin` equal to this server's own (scheme and host as the browser used them). Every browser since 2020
 * sends one of the two on a POST; a request that sends neither is refused too (a script holding the cookie can
 * use the access token as a Bearer header instead, which no other site can make a browser send).
 */
export function isSameOriginRequest(req: FastifyRequest): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin') return true;
  const origin = req.headers.origin;
  if (typeof origin !== 'string') return false;
  return origin === `${req.protocol}://${req.host}`;
}

export function assertSameOrigin(req: FastifyRequest): void {
  if (SAFE_METHODS.has(req.method) || isSameOriginRequest(req)) return;
  throw forbidden('Cross-site request refused: send it from this origin, or authenticate with a header');
}

/**
 * Sign-in from a form on another site (login CSRF: signing the victim into the attacker's account) is refused
 * when the browser says so. Immich's apps and the CLI send neither header, and keep working.
 */
export function assertNotCrossSite(req: FastifyRequest): void {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  const crossSite = site === 'cross-site' || site === 'same-site';
  const foreignOrigin = typeof origin === 'string' && origin !== `${req.protocol}://${req.host}`;
  if (crossSite || foreignOrigin) throw forbidden('Cross-site sign-in refused');
}

const IP_WINDOW_MS = 15 * 60 * 1000;
const ACCOUNT_WINDOW_MS = 60 * 60 * 1000;

/**
 * Wrong-password throttling of sign-in and password change, like link unlocks (runtime's AttemptBudget:
 * reserved atomically before argon2 runs, given back when the password was right): `maxPerIp` per account and
 * client per 15 minutes, `maxPerAccount` per account per hour from everywhere. The account is named by a hash
 * of its lower-cased email (no addresses in Redis; unknown emails are counted the same way). Trade-off, named:
 * the per-account budget lets someone who knows an email lock its password sign-in for up to an hour; sessions
 * already signed in and API keys keep working, and the budget is large enough (100) that a family never hits it.
 */
export class LoginThrottle {
  readonly #budget: AttemptBudget;
  readonly #prefix: string;
  readonly #maxPerIp: number;
  readonly #maxPerAccount: number;

  constructor(opts: { redis: RedisConnection; prefix: string; maxPerIp: number; maxPerAccount: number }) {
    this.#budget = new AttemptBudget(opts.redis);
    this.#prefix = opts.prefix;
    this.#maxPerIp = opts.maxPerIp;
    this.#maxPerAccount = opts.maxPerAccount;
  }

  async reserve(email: string, ip: string): Promise<ReservedAttempt> {
    const account = createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 32);
    const key = `${this.#prefix}:login-attempts:{${account}}`;
    const outcome = await this.#budget.reserve([
      { key: `${key}:ip:${ip}`, max: this.#maxPerIp, windowMs: IP_WINDOW_MS },
      { key, max: this.#maxPerAccount, windowMs: ACCOUNT_WINDOW_MS },
    ]);
    if (!isSpent(outcome)) return outcome;
    const minutes = Math.ceil(outcome.retryAfterSeconds / 60);
    throw rateLimited(
      `Too many wrong passwords for this account; try again in ${minutes} minute(s)`,
      outcome.retryAfterSeconds,
    );
  }
}
