import { randomBytes } from 'node:crypto';
import type { Db, SessionRow, UserRow } from '@immish/db';
import { verify as argon2Verify } from '@node-rs/argon2';
import { type AuthUser, hashApiKey, hashPassword } from '../identity/index.ts';
import {
  deleteExpiredSessions,
  deleteOtherSessions,
  deleteSession,
  findSessionByTokenHash,
  findUserByEmail,
  insertSession,
  listLiveSessions,
  setPasswordHash,
  touchSession,
} from './queries.ts';

/**
 * Session lifetime (SESSION_IDLE_DAYS, SESSION_MAX_DAYS). Decision: sliding — a session in use stays signed in
 * (an owner who opens the console weekly is never asked again), one left alone ends after `idleDays`, and none
 * outlives `maxDays` after its sign-in, so a token copied once does not work forever.
 */
export interface SessionPolicy {
  idleDays: number;
  maxDays: number;
}

export interface DeviceInfo {
  deviceType: string;
  deviceOS: string;
  appVersion: string | null;
}

const DAY_MS = 24 * 3600 * 1000;
/** The expiry slides (and `updatedAt`, Immich's "last used", moves) at most once a minute per session. */
const TOUCH_EVERY_MS = 60_000;
/** Signed-in sessions remembered in this process (hash → auth); when full the memory starts over. */
const CACHE_MAX = 10_000;

/** 32 random bytes (base64url), shown once in the login response and cookie; stored as SHA-256 like API keys. */
export const newSessionToken = (): string => randomBytes(32).toString('base64url');
/** The same rule as API keys (identity.ts): 256 bits of entropy, so SHA-256 and an indexed lookup suffice. */
export const hashSessionToken = hashApiKey;

/** "Chrome", "Firefox"… and "macOS", "Android"… from a User-Agent, for the sessions list (no UA database). */
export function deviceFromUserAgent(ua: string | undefined): DeviceInfo {
  const s = ua ?? '';
  const os =
    [
      [/Android/, 'Android'],
      [/iPhone|iPad|iPod/, 'iOS'],
      [/CrOS/, 'ChromeOS'],
      [/Mac OS X|Macintosh/, 'macOS'],
      [/Windows/, 'Windows'],
      [/Linux/, 'Linux'],
    ].find(([re]) => (re as RegExp).test(s))?.[1] ?? '';
  const type =
    [
      [/Edg\//, 'Edge'],
      [/Firefox\//, 'Firefox'],
      [/Chrom(e|ium)\//, 'Chrome'],
      [/Safari\//, 'Safari'],
      [/immich|Dart/i, 'Immich app'],
      [/node|undici|axios|curl/i, 'Script'],
    ].find(([re]) => (re as RegExp).test(s))?.[1] ?? '';
  return { deviceType: String(type), deviceOS: String(os), appVersion: null };
}

/**
 * Login sessions (docs/spec.md §14: Immich's `/api/auth/*` and `/api/sessions`). Sessions carry every
 * permission of their user, as Immich's do. Authentication is cached per process for `cacheTtlMs` (default 2 s,
 * like API keys): revoking a session takes effect at once in this process (`forget`) and within that bound in
 * the others.
 */
export class Sessions {
  readonly #db: Db;
  readonly #policy: SessionPolicy;
  readonly #now: () => number;
  readonly #cacheTtlMs: number;
  readonly #cache = new Map<string, { auth: AuthUser; until: number }>();

  constructor(db: Db, policy: SessionPolicy, opts: { now?: () => number; cacheTtlMs?: number } = {}) {
    this.#db = db;
    this.#policy = policy;
    this.#now = opts.now ?? Date.now;
    this.#cacheTtlMs = opts.cacheTtlMs ?? 2000;
  }

  async create(user: UserRow, device: DeviceInfo): Promise<{ token: string; session: SessionRow }> {
    const now = this.#now();
    await deleteExpiredSessions(this.#db, user.id, new Date(now));
    const absolute = now + this.#policy.maxDays * DAY_MS;
    const token = newSessionToken();
    const session = await insertSession(this.#db, {
      userId: user.id,
      tokenHash: hashSessionToken(token),
      ...device,
      now: new Date(now),
      expiresAt: new Date(Math.min(absolute, now + this.#policy.idleDays * DAY_MS)),
      absoluteExpiresAt: new Date(absolute),
    });
    return { token, session };
  }

  /** The live session of `token` with its user (its expiry slid forward), or null: unknown, expired or revoked. */
  async authenticate(token: string | null): Promise<AuthUser | null> {
    if (!token || token.length > 512) return null;
    const hash = hashSessionToken(token);
    const now = this.#now();
    const hit = this.#cache.get(hash);
    if (hit && hit.until > now && hit.auth.session && hit.auth.session.expires_at.getTime() > now) return hit.auth;
    const found = await findSessionByTokenHash(this.#db, hash);
    if (!found || found.session.expires_at.getTime() <= now) return null;
    let { session } = found;
    if (now - session.updated_at.getTime() >= TOUCH_EVERY_MS) {
      const expiresAt = new Date(Math.min(session.absolute_expires_at.getTime(), now + this.#policy.idleDays * DAY_MS));
      await touchSession(this.#db, session.id, new Date(now), expiresAt);
      session = { ...session, updated_at: new Date(now), expires_at: expiresAt };
    }
    const auth: AuthUser = { user: found.user, apiKey: null, session };
    if (this.#cache.size >= CACHE_MAX) this.#cache.clear();
    this.#cache.set(hash, { auth, until: now + this.#cacheTtlMs });
    return auth;
  }

  /** Evicts the cached sign-ins of a session id or of every session of a user id. */
  forget(id: string): void {
    for (const [hash, { auth }] of this.#cache) {
      if (auth.session?.id === id || auth.user.id === id) this.#cache.delete(hash);
    }
  }

  list(userId: string): Promise<SessionRow[]> {
    return listLiveSessions(this.#db, userId, new Date(this.#now()));
  }

  async revoke(userId: string, id: string): Promise<boolean> {
    const deleted = await deleteSession(this.#db, userId, id);
    this.forget(id);
    return deleted;
  }

  /** Signs out every session of the user except `keepId` (the caller's own, when it is a session). */
  async revokeOthers(userId: string, keepId: string | null): Promise<number> {
    const ids = await deleteOtherSessions(this.#db, userId, keepId);
    for (const id of ids) this.forget(id);
    return ids.length;
  }
}

/**
 * Password checks of sign-in and password change (argon2id, docs/spec.md §10). An unknown email, a deleted user
 * and a user without a password go through the same argon2 verification (against a hash of a random password
 * made once per instance), so the answer's timing does not tell which emails have accounts.
 */
export class PasswordCheck {
  readonly #db: Db;
  #dummyHash: Promise<string> | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  /** The user with this email and password, or null (the same work either way). */
  async signIn(email: string, password: string): Promise<UserRow | null> {
    const user = await findUserByEmail(this.#db, email);
    return (await this.verify(user ?? null, password)) ? (user ?? null) : null;
  }

  async verify(user: UserRow | null, password: string): Promise<boolean> {
    this.#dummyHash ??= hashPassword(randomBytes(24).toString('base64url'));
    const hash = user?.password_hash ?? (await this.#dummyHash);
    let ok: boolean;
    try {
      ok = await argon2Verify(hash, password);
    } catch {
      ok = false; // a malformed stored hash signs nobody in
    }
    return ok && user !== null && user.password_hash !== null;
  }

  async setPassword(userId: string, newPassword: string): Promise<UserRow> {
    return setPasswordHash(this.#db, userId, await hashPassword(newPassword));
  }
}
