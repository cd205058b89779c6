import { randomBytes } from 'node:crypto';
import { invalid } from '@immish/contracts';
import { verify as argon2Verify } from '@node-rs/argon2';
import { hashPassword } from '../identity/service.ts';

/**
 * THE rules of a shared link, in one place (docs/architecture.md "One place for each rule"): slug rule, key
 * generation, share-URL format, link state/expiry and password hashing. links-api and share-gateway both
 * import these; nothing else re-implements them.
 */

// ── key ─────────────────────────────────────────────────────────────────────────────────────────────

/** Bytes of CSPRNG output in a link key (docs/spec.md §10: ≥ 256 bits). */
export const LINK_KEY_BYTES = 32;

/** Length of a key as text: 32 bytes base64url without padding = 43 characters, longer than any slug. */
export const LINK_KEY_LENGTH = 43;

const KEY_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A new link key: 32 bytes from the CSPRNG, base64url (no padding). */
export function newLinkKey(): string {
  return randomBytes(LINK_KEY_BYTES).toString('base64url');
}

/** Could this string be a link key? (A slug is at most 40 characters, so a key and a slug never collide.) */
export function looksLikeLinkKey(value: string): boolean {
  return KEY_SHAPE.test(value);
}

// ── slug ────────────────────────────────────────────────────────────────────────────────────────────

export const SLUG_MIN_LENGTH = 3;

export const SLUG_MAX_LENGTH = 40;

const SLUG_SHAPE = /^[A-Za-z0-9_-]{3,40}$/;

/**
 * Words a slug may not be (compared case-insensitively): path segments of the services and the share
 * page, so `/share/<slug>` and `/s/<slug>` never shadow a real route or confuse a reader.
 */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  'api',
  'share',
  's',
  'health',
  'metrics',
  'login',
  'logout',
  'admin',
  'assets',
  'asset',
  'static',
  'docs',
  'me',
  'photos',
  'albums',
  'album',
  'download',
  'downloads',
  'upload',
  'uploads',
  'export',
  'exports',
  'unlock',
  'openapi',
  'favicon',
  'robots',
  'null',
  'undefined',
]);

/** The rule in words, as error messages say it. */
export const SLUG_RULE = `a slug is ${SLUG_MIN_LENGTH}–${SLUG_MAX_LENGTH} characters of letters, digits, '-' and '_', and not a reserved word (${[...RESERVED_SLUGS].join(', ')})`;

/** Why `slug` is not acceptable, or null when it is. */
export function slugProblem(slug: string): string | null {
  if (!SLUG_SHAPE.test(slug)) return `Invalid slug "${truncate(slug)}": ${SLUG_RULE}`;
  if (RESERVED_SLUGS.has(slug.toLowerCase())) return `Invalid slug "${slug}": it is a reserved word; ${SLUG_RULE}`;
  return null;
}

export function isValidSlug(slug: string): boolean {
  return slugProblem(slug) === null;
}

/** Throws 400 with the rule unless the slug is acceptable. */
export function assertValidSlug(slug: string): void {
  const problem = slugProblem(slug);
  if (problem) throw invalid(problem);
}

/** Slugs are unique case-insensitively (DB: unique index on lower(slug)); look them up the same way. */
export const normalizeSlug = (slug: string): string => slug.toLowerCase();

const truncate = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

// ── share URL ───────────────────────────────────────────────────────────────────────────────────────

/** `{PUBLIC_URL}/share/{slug}` when the link has a slug, else `{PUBLIC_URL}/share/{key}` (the seed's form). */
export function shareUrl(publicUrl: string, link: { key: string; slug: string | null }): string {
  const base = publicUrl.replace(/\/+$/, '');
  return `${base}/share/${encodeURIComponent(link.slug ?? link.key)}`;
}

// ── state / expiry ──────────────────────────────────────────────────────────────────────────────────

export type LinkState = 'active' | 'expired';

/** Anything with the row's expiry (a `shared_links` row) or the DTO's (`expiresAt`). */
export type HasExpiry = { expires_at: Date | null } | { expiresAt: string | null };

function expiryOf(link: HasExpiry): Date | null {
  if ('expires_at' in link) return link.expires_at;
  return link.expiresAt === null ? null : new Date(link.expiresAt);
}

/** A link expires AT its `expires_at` (a link whose expiry equals `now` is already expired). */
export function linkExpired(link: HasExpiry, now: Date = new Date()): boolean {
  const at = expiryOf(link);
  return at !== null && at.getTime() <= now.getTime();
}

export function linkState(link: HasExpiry, now: Date = new Date()): LinkState {
  return linkExpired(link, now) ? 'expired' : 'active';
}

// ── password ────────────────────────────────────────────────────────────────────────────────────────

/** Longest accepted link password (argon2 hashes any length, but we bound the work per request). */
export const LINK_PASSWORD_MAX_LENGTH = 1024;

/** argon2id (docs/spec.md §10); the same parameters as user passwords. */
export const hashLinkPassword = (password: string): Promise<string> => hashPassword(password);

/**
 * Does `password` unlock this link? False when the link has no password or the hash does not match
 * (argon2 `verify` compares in constant time). Never throws on a malformed stored hash.
 */
export async function verifyLinkPassword(link: { password_hash: string | null }, password: string): Promise<boolean> {
  if (!link.password_hash || password.length === 0 || password.length > LINK_PASSWORD_MAX_LENGTH) return false;
  try {
    return await argon2Verify(link.password_hash, password);
  } catch {
    return false;
  }
}
