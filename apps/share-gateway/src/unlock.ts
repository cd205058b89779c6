import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SharedLinkRow } from '@immish/db';
import { rateLimited, unauthenticated } from '@immish/runtime';
import type { Redis } from 'ioredis';

/**
 * Unlocking a password-protected link (SPEC §5.2, §10).
 *
 * Token: `v1.<linkId>.<passwordVersion>.<expiresAtSeconds>.<HMAC-SHA256(UNLOCK_SECRET, the four before)>`
 * (base64url). It is bound to the link and to its password version, so changing or removing the password
 * voids every unlock; it expires after UNLOCK_TTL_HOURS. It travels in a cookie per link
 * (`immish_unlock_<linkId>`), so one browser holds unlocks for several links at once.
 */

const VERSION = 'v1';
export const UNLOCK_COOKIE_PREFIX = 'immish_unlock_';

export const unlockCookieName = (linkId: string): string => `${UNLOCK_COOKIE_PREFIX}${linkId.replace(/-/g, '')}`;

export interface UnlockTokenOptions {
  secret: string;
  ttlHours: number;
  now?: () => number;
}

interface TokenClaims {
  linkId: string;
  passwordVersion: string;
  expiresAtMs: number;
}

/** signed tokens remembered (≈200 B each); when full the memory starts over, which costs one HMAC per token */
const VERIFIED_TOKENS_MAX = 10_000;

export class UnlockTokens {
  readonly #secret: string;
  readonly #verified = new Map<string, TokenClaims>();
  readonly #ttlSeconds: number;
  readonly #now: () => number;

  constructor(opts: UnlockTokenOptions) {
    this.#secret = opts.secret;
    this.#ttlSeconds = opts.ttlHours * 3600;
    this.#now = opts.now ?? Date.now;
  }

  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  issue(link: Pick<SharedLinkRow, 'id' | 'password_version'>): { token: string; expiresAt: Date } {
    const exp = Math.floor(this.#now() / 1000) + this.#ttlSeconds;
    const body = `${VERSION}.${link.id}.${link.password_version}.${exp}`;
    return { token: `${body}.${this.#sign(body)}`, expiresAt: new Date(exp * 1000) };
  }

  /** Is `token` a valid unlock of this link at its current password version? Constant-time on the signature. */
  verify(link: Pick<SharedLinkRow, 'id' | 'password_version'>, token: string | undefined): boolean {
    if (!token || token.length > 256) return false;
    const claims = this.#verified.get(token) ?? this.#checkSignature(token);
    return (
      claims !== null &&
      claims.linkId === link.id &&
      claims.passwordVersion === String(link.password_version) &&
      claims.expiresAtMs > this.#now()
    );
  }

  /**
   * The claims of a well-formed token whose signature is right (else null), remembered by the token's exact
   * text: a recipient's browser sends the same cookie with every thumbnail, and an HMAC per request is most
   * of what a cached thumbnail costs. Only signed tokens are remembered; link, password version and expiry
   * are still compared on every request.
   */
  #checkSignature(token: string): TokenClaims | null {
    const parts = token.split('.');
    if (parts.length !== 5) return null;
    const [version, linkId, passwordVersion, exp, signature] = parts as [string, string, string, string, string];
    const body = `${version}.${linkId}.${passwordVersion}.${exp}`;
    // compared as text, not decoded: base64url decoding ignores stray characters, the canonical form does not
    const expected = Buffer.from(this.#sign(body), 'latin1');
    const given = Buffer.from(signature, 'latin1');
    const signatureOk = given.length === expected.length && timingSafeEqual(given, expected);
    if (!signatureOk || version !== VERSION || !/^\d{1,12}$/.test(exp)) return null;
    const claims = { linkId, passwordVersion, expiresAtMs: Number(exp) * 1000 };
    if (this.#verified.size >= VERIFIED_TOKENS_MAX) this.#verified.clear();
    this.#verified.set(token, claims);
    return claims;
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#secret).update(body).digest('base64url');
  }
}

/** The refusal of every recipient request for a locked link (SPEC §5.2; Immich checks only `/me`, §13). */
export const passwordRequired = () => unauthenticated('Password required');

export interface UnlockThrottleOptions {
  redis: Redis;
  prefix: string;
  /** wrong passwords per link and client IP per 15 minutes */
  maxPerIp: number;
  /** wrong passwords per link per hour */
  maxPerLink: number;
}

const IP_WINDOW_SECONDS = 15 * 60;
const LINK_WINDOW_SECONDS = 60 * 60;

/**
 * Wrong-password throttling shared by every gateway replica: fixed-window counters in Redis with expiry.
 * `check` runs BEFORE the password is verified, so a blocked client cannot keep guessing (nor make the
 * server hash passwords for it).
 */
export class UnlockThrottle {
  readonly #opts: UnlockThrottleOptions;

  constructor(opts: UnlockThrottleOptions) {
    this.#opts = opts;
  }

  #keys(linkId: string, ip: string) {
    const p = `${this.#opts.prefix}:unlock-failures`;
    return { ip: `${p}:${linkId}:ip:${ip}`, link: `${p}:${linkId}` };
  }

  /** 429 with Retry-After when this client (or everyone, for this link) has failed too often. */
  async check(linkId: string, ip: string): Promise<void> {
    const keys = this.#keys(linkId, ip);
    const res = await this.#opts.redis.multi().get(keys.ip).pttl(keys.ip).get(keys.link).pttl(keys.link).exec();
    const val = (i: number) => {
      const entry = res?.[i];
      if (!entry || entry[0]) throw entry?.[0] ?? new Error('redis: no answer');
      return entry[1];
    };
    const ipCount = Number(val(0) ?? 0);
    const linkCount = Number(val(2) ?? 0);
    const retry = (pttl: unknown, window: number) => {
      const ms = Number(pttl);
      return ms > 0 ? Math.ceil(ms / 1000) : window;
    };
    if (ipCount >= this.#opts.maxPerIp) {
      const seconds = retry(val(1), IP_WINDOW_SECONDS);
      throw rateLimited(
        `Too many wrong passwords for this link; try again in ${Math.ceil(seconds / 60)} minute(s)`,
        seconds,
      );
    }
    if (linkCount >= this.#opts.maxPerLink) {
      const seconds = retry(val(3), LINK_WINDOW_SECONDS);
      throw rateLimited(
        `Too many wrong passwords for this link; it is locked for ${Math.ceil(seconds / 60)} minute(s)`,
        seconds,
      );
    }
  }

  async recordFailure(linkId: string, ip: string): Promise<void> {
    const keys = this.#keys(linkId, ip);
    await this.#opts.redis
      .multi()
      .set(keys.ip, '0', 'EX', IP_WINDOW_SECONDS, 'NX')
      .incr(keys.ip)
      .set(keys.link, '0', 'EX', LINK_WINDOW_SECONDS, 'NX')
      .incr(keys.link)
      .exec();
  }
}
