import type { ApiKeyRow, Database, Db, UserRow } from '@immish/db';
import type { Insertable } from 'kysely';

/**
 * A credential (API key or session) and its user in one round trip: the user's columns are selected next to the
 * credential's under a `u_` prefix (`USER_COLUMNS`), then split back (`splitUser`). One list of the user's
 * columns for every credential lookup.
 */
export const USER_COLUMNS = [
  'users.id as u_id',
  'users.email as u_email',
  'users.name as u_name',
  'users.password_hash as u_password_hash',
  'users.is_admin as u_is_admin',
  'users.quota_bytes as u_quota_bytes',
  'users.created_at as u_created_at',
  'users.updated_at as u_updated_at',
  'users.deleted_at as u_deleted_at',
] as const;

type Prefixed = { [K in keyof UserRow as `u_${K & string}`]: UserRow[K] };

/** The user of a row selected with `USER_COLUMNS`, and the rest of the row (the credential's own columns). */
export function splitUser<R extends Prefixed>(row: R): { user: UserRow; rest: Omit<R, keyof Prefixed> } {
  const {
    u_id,
    u_email,
    u_name,
    u_password_hash,
    u_is_admin,
    u_quota_bytes,
    u_created_at,
    u_updated_at,
    u_deleted_at,
    ...rest
  } = row;
  return {
    user: {
      id: u_id,
      email: u_email,
      name: u_name,
      password_hash: u_password_hash,
      is_admin: u_is_admin,
      quota_bytes: u_quota_bytes,
      created_at: u_created_at,
      updated_at: u_updated_at,
      deleted_at: u_deleted_at,
    },
    rest,
  };
}

/** An API key by the hash of its secret, with its user's columns (`USER_COLUMNS`) in the same row. */
export async function findApiKeyWithUser(db: Db, keyHash: string) {
  return db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .selectAll('api_keys')
    .select(USER_COLUMNS)
    .where('api_keys.key_hash', '=', keyHash)
    .executeTakeFirst();
}

export async function touchApiKey(db: Db, apiKeyId: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', apiKeyId).execute();
}

/** The user with this e-mail address (case-insensitive), deleted or not. */
export async function findUserByEmailAnyState(db: Db, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .executeTakeFirst();
}

export async function insertUser(db: Db, values: Insertable<Database['users']>): Promise<UserRow> {
  return db.insertInto('users').values(values).returningAll().executeTakeFirstOrThrow();
}

/** Whether the user exists and is not deleted. */
export async function isLiveUser(db: Db, userId: string): Promise<boolean> {
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('id', '=', userId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return user !== undefined;
}

export async function insertApiKey(
  db: Db,
  values: { userId: string; name: string; keyHash: string; permissions: string[] },
): Promise<ApiKeyRow> {
  return db
    .insertInto('api_keys')
    .values({ user_id: values.userId, name: values.name, key_hash: values.keyHash, permissions: values.permissions })
    .returningAll()
    .executeTakeFirstOrThrow();
}
