import type { UserRow } from '@immish/db';

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
