import type { Db, SessionRow, UserRow } from '@immish/db';
import { splitUser, USER_COLUMNS } from '../identity/queries.ts';

/** SQL of the sessions capability: plain functions taking `db` (or a transaction). */

export async function insertSession(
  db: Db,
  values: {
    userId: string;
    tokenHash: string;
    deviceType: string;
    deviceOS: string;
    appVersion: string | null;
    expiresAt: Date;
    absoluteExpiresAt: Date;
    now: Date;
  },
): Promise<SessionRow> {
  return db
    .insertInto('sessions')
    .values({
      user_id: values.userId,
      token_hash: values.tokenHash,
      device_type: values.deviceType,
      device_os: values.deviceOS,
      app_version: values.appVersion,
      created_at: values.now,
      updated_at: values.now,
      expires_at: values.expiresAt,
      absolute_expires_at: values.absoluteExpiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The session whose token hashes to `tokenHash`, with its (not deleted) user; expired ones included. */
export async function findSessionByTokenHash(
  db: Db,
  tokenHash: string,
): Promise<{ session: SessionRow; user: UserRow } | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .selectAll('sessions')
    .select(USER_COLUMNS)
    .where('sessions.token_hash', '=', tokenHash)
    .where('users.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!row) return undefined;
  const { user, rest: session } = splitUser(row);
  return { session, user };
}

export async function touchSession(db: Db, id: string, now: Date, expiresAt: Date): Promise<void> {
  await db.updateTable('sessions').set({ updated_at: now, expires_at: expiresAt }).where('id', '=', id).execute();
}

export async function listLiveSessions(db: Db, userId: string, now: Date): Promise<SessionRow[]> {
  return db
    .selectFrom('sessions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('expires_at', '>', now)
    .orderBy('updated_at', 'desc')
    .execute();
}

/** Deletes one session of the user; returns whether there was one. */
export async function deleteSession(db: Db, userId: string, id: string): Promise<boolean> {
  const res = await db.deleteFrom('sessions').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(res.numDeletedRows) > 0;
}

/** Deletes every session of the user but `keepId` (none kept when null); returns the deleted ids. */
export async function deleteOtherSessions(db: Db, userId: string, keepId: string | null): Promise<string[]> {
  let q = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepId) q = q.where('id', '!=', keepId);
  const rows = await q.returning('id').execute();
  return rows.map((r) => r.id);
}

/** Expired sessions of one user are removed when they sign in again (no sweeper process needed). */
export async function deleteExpiredSessions(db: Db, userId: string, now: Date): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('expires_at', '<=', now).execute();
}

export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.trim().toLowerCase()))
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export async function setPasswordHash(db: Db, userId: string, passwordHash: string): Promise<UserRow> {
  return db
    .updateTable('users')
    .set({ password_hash: passwordHash, updated_at: new Date() })
    .where('id', '=', userId)
    .returningAll()
    .executeTakeFirstOrThrow();
}
