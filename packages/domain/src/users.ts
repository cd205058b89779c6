import type {
  ApiKeyCreateResponseDto,
  ApiKeyResponseDto,
  Permission,
  UserAdminResponseDto,
  UserResponseDto,
} from '@immish/contracts';
import { conflict, invalid, noAccess } from '@immish/contracts';
import type { ApiKeyRow, Db, UserRow } from '@immish/db';
import { hash as argon2Hash } from '@node-rs/argon2';
import { assertCanGrant, hashApiKey, newApiKeySecret } from './identity.ts';

export const toUserDto = (u: UserRow): UserResponseDto => ({
  id: u.id,
  email: u.email,
  name: u.name,
  avatarColor: 'primary',
  profileImagePath: '',
  profileChangedAt: u.created_at.toISOString(),
});

export const toUserAdminDto = (u: UserRow, usageBytes: number | null = null): UserAdminResponseDto => ({
  ...toUserDto(u),
  createdAt: u.created_at.toISOString(),
  updatedAt: u.updated_at.toISOString(),
  deletedAt: u.deleted_at ? u.deleted_at.toISOString() : null,
  isAdmin: u.is_admin,
  license: null,
  oauthId: '',
  quotaSizeInBytes: u.quota_bytes === null ? null : Number(u.quota_bytes),
  quotaUsageInBytes: usageBytes,
  shouldChangePassword: false,
  status: u.deleted_at ? 'deleted' : 'active',
  storageLabel: null,
});

export const toApiKeyDto = (k: ApiKeyRow): ApiKeyResponseDto => ({
  id: k.id,
  name: k.name,
  // stored only through ApiKeyCreateDto's enum (a name stored before it was enforced grants nothing: isGranted)
  permissions: k.permissions as Permission[],
  createdAt: k.created_at.toISOString(),
  updatedAt: k.updated_at.toISOString(),
});

/** argon2id with the library's defaults (OWASP-grade memory cost) — for user and link passwords. */
export const hashPassword = (password: string): Promise<string> => argon2Hash(password, { algorithm: 2 });

export async function createUser(
  db: Db,
  input: { email: string; name: string; password: string; isAdmin?: boolean; quotaSizeInBytes?: number | null },
): Promise<UserRow> {
  const email = input.email.trim();
  const taken = await db
    .selectFrom('users')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
  if (taken) throw conflict('User exists');
  try {
    return await db
      .insertInto('users')
      .values({
        email,
        name: input.name,
        password_hash: await hashPassword(input.password),
        is_admin: input.isAdmin ?? false,
        quota_bytes: input.quotaSizeInBytes ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
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
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  if (!user) throw noAccess('User not found');
  if (permissions.length === 0) throw invalid('permissions must not be empty');
  const secret = newApiKeySecret();
  const row = await db
    .insertInto('api_keys')
    .values({ user_id: userId, name: name || 'API Key', key_hash: hashApiKey(secret), permissions })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { secret, apiKey: toApiKeyDto(row) };
}

/** The first admin (CLI and `npm start`): idempotent — an existing user with that email gets a new key. */
export async function ensureAdmin(
  db: Db,
  email: string,
  name = 'Admin',
): Promise<{ user: UserRow; secret: string; created: boolean }> {
  let user = await db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
  let created = false;
  if (!user) {
    const { randomBytes } = await import('node:crypto');
    user = await createUser(db, { email, name, password: randomBytes(24).toString('base64url'), isAdmin: true });
    created = true;
  }
  const { secret } = await createApiKey(db, user.id, 'admin (created by CLI)');
  return { user, secret, created };
}
