import { createHmac, timingSafeEqual } from 'node:crypto';
import type { GatewayConfig } from '@immish/contracts';
import type { SharedLinkRow } from '@immish/db';
import {
  AttemptBudget,
  ConcurrencyGate,
  isSpent,
  type RedisConnection,
  type ReservedAttempt,
  rateLimited,
  unauthenticated,
} from '@immish/runtime';

/**
 * Unlocking a password-protected link (docs/spec.md §5.2, §10).
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

/** The refusal of every recipient request for a locked link (docs/spec.md §5.2; Immich checks only `/me`, §13). */
export const passwordRequired = () => unauthenticated('Password required');

export interface UnlockThrottleOptions {
  redis: RedisConnection;
  prefix: string;
  /** wrong passwords per link and client IP per 15 minutes */
  maxPerIp: number;
  /** wrong passwords per link per hour */
  maxPerLink: number;
}

const IP_WINDOW_SECONDS = 15 * 60;
const LINK_WINDOW_SECONDS = 60 * 60;

/** A reserved password attempt: counted until given back. */
export type UnlockAttempt = ReservedAttempt;

/**
 * Wrong-password throttling shared by every gateway replica (docs/spec.md §5.2, §14 "limits are atomic"): fixed windows
 * in Redis, `maxPerIp` attempts per link and client per 15 minutes and `maxPerLink` per link per hour, reserved
 * atomically BEFORE the password is verified (runtime's AttemptBudget).
 *
 * Decision: an attempt whose password was right is given back, as is one that could not be verified (the server
 * was busy): the budget is of WRONG passwords, and a family unlocking an album on several devices behind one
 * address must not lock itself out; giving back needs the right password, so it buys a guesser nothing.
 *
 * Both keys carry the link id as a Redis Cluster hash tag (`{<linkId>}`), so the script's keys share a slot
 * (a QUEUE_PREFIX with its own hash tag, `{immish}`, puts every key in that one slot, which works as well).
 */
export class UnlockThrottle {
  readonly #opts: UnlockThrottleOptions;
  readonly #budget: AttemptBudget;

  constructor(opts: UnlockThrottleOptions) {
    this.#opts = opts;
    this.#budget = new AttemptBudget(opts.redis);
  }

  /** Reserves one attempt, or throws 429 with Retry-After when this client (or everyone, for this link) is out. */
  async reserve(linkId: string, ip: string): Promise<UnlockAttempt> {
    const link = `${this.#opts.prefix}:unlock-attempts:{${linkId}}`;
    const outcome = await this.#budget.reserve([
      { key: `${link}:ip:${ip}`, max: this.#opts.maxPerIp, windowMs: IP_WINDOW_SECONDS * 1000 },
      { key: link, max: this.#opts.maxPerLink, windowMs: LINK_WINDOW_SECONDS * 1000 },
    ]);
    if (!isSpent(outcome)) return outcome;
    const minutes = Math.ceil(outcome.retryAfterSeconds / 60);
    throw rateLimited(
      outcome.spent === 0
        ? `Too many wrong passwords for this link; try again in ${minutes} minute(s)`
        : `Too many wrong passwords for this link; it is locked for ${minutes} minute(s)`,
      outcome.retryAfterSeconds,
    );
  }
}

/** Password checks that may wait for a slot, per slot: at ~80 ms each, a full queue clears in well under a second. */
const VERIFICATION_QUEUE_PER_SLOT = 8;

/**
 * The per-process bound on argon2 verifications (UNLOCK_VERIFY_CONCURRENCY at once, a short queue behind them,
 * then 503 + Retry-After: 1). Each costs ~19 MiB and a libuv thread-pool thread, which the fs storage driver
 * needs too; unbounded, a burst of guesses on many links would take the memory and stall file reads.
 */
export const passwordVerificationGate = (config: Pick<GatewayConfig, 'UNLOCK_VERIFY_CONCURRENCY'>): ConcurrencyGate =>
  new ConcurrencyGate({
    name: 'password verifications',
    slots: config.UNLOCK_VERIFY_CONCURRENCY,
    queue: config.UNLOCK_VERIFY_CONCURRENCY * VERIFICATION_QUEUE_PER_SLOT,
  });
