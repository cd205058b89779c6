import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyCreateResponseDto, Permission } from '@immish/contracts';
import { conflict, forbidden, invalid, noAccess, unauthenticated } from '@immish/contracts';
import type { ApiKeyRow, Db, SessionRow, UserRow } from '@immish/db';
import { hash as argon2Hash } from '@node-rs/argon2';
import { toApiKeyDto } from './dto.ts';
import {
  findApiKeyWithUser,
  findUserByEmailAnyState,
  insertApiKey,
  insertUser,
  isLiveUser,
  splitUser,
  touchApiKey,
} from './queries.ts';

/**
 * API keys: 32 random bytes (base64url) shown once; stored as SHA-256. A key has 256 bits of entropy, so a
 * fast hash is enough (no brute force possible) and lets us find the key by an indexed lookup of its hash —
 * no secret comparison happens in application code at all.
 */
export function newApiKeySecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Who is calling: with an API key (scoped by its permissions) or a login session (every permission: sessions/). */
export interface AuthUser {
  user: UserRow;
  apiKey: ApiKeyRow | null;
  session: SessionRow | null;
}

/**
 * Immich's grant rule: a holder of `all` has every permission, anyone else exactly the ones listed. No
 * permission implies another (`asset.read` does not give `asset.view`), as in Immich.
 */
export function isGranted(current: readonly string[], requested: readonly string[]): boolean {
  if (current.includes('all')) return true;
  return requested.every((p) => current.includes(p));
}

/**
 * What a route asks of its caller: `admin` (admin users only) and `permission`: the one the API key must
 * carry; `false` when any key may call it (Immich's `permission: false`, e.g. GET /api-keys/me); absent means
 * `all` (Immich's default, so a route nobody declared refuses every scoped key: deny by default).
 */
export interface RouteGrant {
  admin?: boolean;
  permission?: Permission | false;
}

/**
 * The one decision whether an authenticated caller may use a route, in Immich's order and words: a non-admin
 * on an admin route → 403 first, then a key missing the permission → 403 `Missing required permission: x`.
 * Only API keys carry scopes: a login session (the owner console, later) passes the permission check with the
 * user's full rights, as Immich's sessions do.
 */
export function authorizeRoute(auth: AuthUser, route: RouteGrant): void {
  if (route.admin && !auth.user.is_admin) throw forbidden('Forbidden: admin privileges required');
  if (route.permission === false) return;
  requirePermission(auth, route.permission ?? 'all');
}

/** 403 unless the caller's key carries `permission` (for a check a route needs beyond its declared one). */
export function requirePermission(auth: AuthUser, permission: Permission): void {
  if (auth.apiKey && !isGranted(auth.apiKey.permissions, [permission])) {
    throw forbidden(`Missing required permission: ${permission}`);
  }
}

/** A key never creates a key with more than it has (Immich: 400 `Cannot grant permissions you do not have`). */
export function assertCanGrant(granter: readonly string[] | null, requested: readonly string[]): void {
  if (granter && !isGranted(granter, requested)) throw invalid('Cannot grant permissions you do not have');
}

/** Resolves an API key to its user; 401 in Immich's words otherwise. Updates last_used_at at most once a minute. */
export async function authenticateApiKey(db: Db, secret: string | null): Promise<AuthUser> {
  if (!secret) throw unauthenticated('Authentication required');
  if (secret.length > 512) throw unauthenticated('Invalid API key');
  const row = await findApiKeyWithUser(db, hashApiKey(secret));
  if (!row || row.u_deleted_at) throw unauthenticated('Invalid API key');
  const { user, rest: apiKey } = splitUser(row);
  if (!apiKey.last_used_at || Date.now() - apiKey.last_used_at.getTime() > 60_000) {
    await touchApiKey(db, apiKey.id);
  }
  return {
    apiKey,
    session: null,
    user,
  };
}

/**
 * API-key authentication with a short in-process cache (hash → user), so a client's burst of requests costs one
 * lookup instead of one per request. The price is bounded staleness: a deleted key or user keeps working on
 * other processes for at most `ttlMs` (default 2 s); in this process `forget()` evicts at once.
 */
export class ApiKeyAuthenticator {
  readonly #db: Db;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { auth: AuthUser; until: number }>();
  constructor(db: Db, opts: { ttlMs?: number } = {}) {
    this.#db = db;
    this.#ttlMs = opts.ttlMs ?? 2000;
  }

  async authenticate(secret: string | null): Promise<AuthUser> {
    if (!secret || secret.length > 512 || this.#ttlMs === 0) return authenticateApiKey(this.#db, secret);
    const hash = hashApiKey(secret);
    const hit = this.#cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.auth;
    const auth = await authenticateApiKey(this.#db, secret);
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(hash, { auth, until: Date.now() + this.#ttlMs });
    return auth;
  }

  /** Evicts every cached entry of an API key id or user id (after deleting a key). */
  forget(id: string): void {
    for (const [hash, { auth }] of this.#cache)
      if (auth.apiKey?.id === id || auth.user.id === id) this.#cache.delete(hash);
  }
}

/** argon2id with the library's defaults (OWASP-grade memory cost) — for user and link passwords. */
export const hashPassword = (password: string): Promise<string> => argon2Hash(password, { algorithm: 2 });

export async function createUser(
  db: Db,
  input: { email: string; name: string; password: string; isAdmin?: boolean; quotaSizeInBytes?: number | null },
): Promise<UserRow> {
  const email = input.email.trim();
  if (await findUserByEmailAnyState(db, email)) throw conflict('User exists');
  try {
    return await insertUser(db, {
      email,
      name: input.name,
      password_hash: await hashPassword(input.password),
      is_admin: input.isAdmin ?? false,
      quota_bytes: input.quotaSizeInBytes ?? null,
    });
  } catch (err) {
    if ((err as { code?: string }).code === '23505') throw conflict('User exists');
    throw err;
  }
}

/**
 * A new API key for `userId`. `grantedBy` is the permission list of the key making the request (null when no
 * key does: the CLI, `npm start`, a future login session): the new key may not carry more than it.
 */
export async function createApiKey(
  db: Db,
  userId: string,
  name: string,
  permissions: string[] = ['all'],
  grantedBy: readonly string[] | null = null,
): Promise<ApiKeyCreateResponseDto> {
  assertCanGrant(grantedBy, permissions);
  if (!(await isLiveUser(db, userId))) throw noAccess('User not found');
  if (permissions.length === 0) throw invalid('permissions must not be empty');
  const secret = newApiKeySecret();
  const row = await insertApiKey(db, { userId, name: name || 'API Key', keyHash: hashApiKey(secret), permissions });
  return { secret, apiKey: toApiKeyDto(row) };
}

/** The first admin (CLI and `npm start`): idempotent — an existing user with that email gets a new key. */
export async function ensureAdmin(
  db: Db,
  email: string,
  name = 'Admin',
): Promise<{ user: UserRow; secret: string; created: boolean }> {
  let user = await findUserByEmailAnyState(db, email);
  let created = false;
  if (!user) {
    const { randomBytes } = await import('node:crypto');
    user = await createUser(db, { email, name, password: randomBytes(24).toString('base64url'), isAdmin: true });
    created = true;
  }
  const { secret } = await createApiKey(db, user.id, 'admin (created by CLI)');
  return { user, secret, created };
}
