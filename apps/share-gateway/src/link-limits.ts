import { createHmac, timingSafeEqual } from 'node:crypto';
import { LINK_INVALIDATION_CHANNEL } from '@immish/contracts';
import type { Db } from '@immish/db';
import { consumeLinkUse, type LinkUse, type LinkUseOutcome } from '@immish/domain';
import type { RedisConnection } from '@immish/runtime';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveLink, LinkResolver } from './link-resolver.ts';

/**
 * Limited links in the gateway (issue 19 item 1, README "Limited links"): the admission cookie and the counting
 * of uses. The decisions (which route needs what) are `recipient.ts` `gateRecipient`, the one gate.
 *
 * A visit is "a new unlock, or a first page / `/me` load from a client not seen in 30 minutes". A client admitted
 * to a visit-limited link gets a signed admission cookie for that link (`immish_admit_<linkId>`:
 * `v1.<linkId>.<expiresAtSeconds>.<HMAC-SHA256>`, the key derived from UNLOCK_SECRET); while it holds a valid one
 * it browses without consuming more visits, and every request that finds it older than ADMISSION_REFRESH_MS gets
 * a fresh one (a sliding 30 minutes). The cookie is not bound to the cap: raising or clearing a cap keeps who was
 * admitted admitted.
 */
export const ADMISSION_WINDOW_MS = 30 * 60_000;
/** a cookie older than this (in its 30 minutes) is renewed on the next request of its link */
const ADMISSION_REFRESH_MS = 5 * 60_000;
const VERSION = 'v1';

export const admissionCookieName = (linkId: string): string => `immish_admit_${linkId.replace(/-/g, '')}`;

export class AdmissionTokens {
  readonly #key: Buffer;
  readonly #now: () => number;

  constructor(opts: { unlockSecret: string; now?: () => number }) {
    // a key of its own (an admission token is never an unlock token), derived from the gateway's unlock secret
    this.#key = createHmac('sha256', opts.unlockSecret).update('immish link admission v1').digest();
    this.#now = opts.now ?? Date.now;
  }

  issue(linkId: string): { token: string; expiresAt: Date } {
    const exp = Math.floor((this.#now() + ADMISSION_WINDOW_MS) / 1000);
    const body = `${VERSION}.${linkId}.${exp}`;
    return { token: `${body}.${this.#sign(body)}`, expiresAt: new Date(exp * 1000) };
  }

  /** The token's expiry (ms) when it is a valid, unexpired admission to this link; else null. */
  expiryOf(linkId: string, token: string | undefined): number | null {
    if (!token || token.length > 200) return null;
    const cut = token.lastIndexOf('.');
    if (cut < 0) return null;
    const body = token.slice(0, cut);
    const [version, id, exp] = body.split('.');
    if (version !== VERSION || id !== linkId || !exp || !/^\d{1,12}$/.test(exp)) return null;
    const given = Buffer.from(token.slice(cut + 1));
    const expected = Buffer.from(this.#sign(body));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const expiresAtMs = Number(exp) * 1000;
    return expiresAtMs > this.#now() ? expiresAtMs : null;
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

export interface LinkLimitsOptions {
  db: Db;
  /** publishes the exhaustion of a link to every replica (the link-invalidation channel) */
  redis: RedisConnection;
  prefix: string;
  links: LinkResolver;
  tokens: AdmissionTokens;
  now?: () => number;
  onError?: (err: unknown) => void;
}

/** Admission cookies to set or renew, per request, set on the response by the app's onSend hook. */
export class LinkLimits {
  readonly tokens: AdmissionTokens;
  readonly #db: Db;
  readonly #redis: RedisConnection;
  readonly #channel: string;
  readonly #links: LinkResolver;
  readonly #now: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #toAdmit = new WeakMap<FastifyRequest, { linkId: string; secure: boolean }>();

  constructor(opts: LinkLimitsOptions) {
    this.tokens = opts.tokens;
    this.#db = opts.db;
    this.#redis = opts.redis;
    this.#channel = `${opts.prefix}:${LINK_INVALIDATION_CHANNEL}`;
    this.#links = opts.links;
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError ?? (() => {});
  }

  /** The request's admission to this link: `fresh` (valid), `stale` (valid, due for renewal) or `none`. */
  admission(req: FastifyRequest, link: ActiveLink): 'fresh' | 'stale' | 'none' {
    const header = req.headers.cookie;
    if (!header) return 'none';
    req.cookies ??= req.server.parseCookie(header);
    const token = (req.cookies as Record<string, string | undefined>)[admissionCookieName(link.link.id)];
    const expiresAt = this.tokens.expiryOf(link.link.id, token);
    if (expiresAt === null) return 'none';
    return expiresAt - this.#now() < ADMISSION_WINDOW_MS - ADMISSION_REFRESH_MS ? 'stale' : 'fresh';
  }

  /** Gives (or renews) the request's admission cookie when its response is sent. */
  admitOnSend(req: FastifyRequest, link: ActiveLink, secure: boolean): void {
    this.#toAdmit.set(req, { linkId: link.link.id, secure });
  }

  /** onSend: sets the admission cookie chosen for this request, if any. */
  applyCookie(req: FastifyRequest, reply: FastifyReply): void {
    const admit = this.#toAdmit.get(req);
    if (!admit) return;
    this.#toAdmit.delete(req);
    const { token, expiresAt } = this.tokens.issue(admit.linkId);
    // written here rather than through reply.setCookie: @fastify/cookie's own onSend hook may have run already
    const cookie = req.server.serializeCookie(admissionCookieName(admit.linkId), token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: admit.secure,
      maxAge: ADMISSION_WINDOW_MS / 1000,
      expires: expiresAt,
    });
    const current = reply.getHeader('set-cookie');
    const list = current === undefined ? [] : Array.isArray(current) ? current : [String(current)];
    reply.header('set-cookie', [...list, cookie]);
  }

  /**
   * Counts `by` uses of the link (atomic in PostgreSQL). When that leaves the cap reached, or finds it reached
   * already, every replica forgets the link's cached row at once (here, and over the invalidation channel), so
   * they all answer "used up" from the new row rather than after LINK_CACHE_TTL_MS. `db`: the caller's
   * transaction (an upload counts in the one that records it).
   */
  async consume(link: ActiveLink, use: LinkUse, opts: { by?: number; db?: Db } = {}): Promise<LinkUseOutcome> {
    const outcome = await consumeLinkUse(opts.db ?? this.#db, link.link.id, use, opts.by ?? 1);
    if (!outcome.granted || (outcome.max !== null && outcome.used >= outcome.max)) {
      const msg = { linkId: link.link.id };
      this.#links.invalidate(msg);
      this.#redis.publish(this.#channel, JSON.stringify(msg)).catch(this.#onError);
    }
    return outcome;
  }
}
