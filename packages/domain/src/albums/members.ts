import type { AlbumResponseDto, AlbumUserRole, NewEvent } from '@immish/contracts';
import { invalid } from '@immish/contracts';
import { type AlbumRole, appendEvents, type Db } from '@immish/db';
import {
  type AlbumCaller,
  albumActor,
  albumSubject,
  deleteMember,
  findMemberRole,
  getAlbumDto,
  insertMembers,
  liveUsersAmong,
  lockAlbum,
  membersAmong,
  revokeAlbumLinks,
  setMemberRole,
  touchAlbum,
} from './queries.ts';

/**
 * Album members (docs/spec.md §4.3). The route has already checked the caller's permission with the access module;
 * these functions enforce the member rules: `owner` is never assignable, unknown users are refused, the
 * owner's role never changes, existing members are skipped silently.
 */

export interface NewMember {
  userId: string;
  role?: AlbumUserRole;
}

/**
 * Validates members to add (all or nothing) and returns the ones that are not members yet, deduplicated,
 * with Immich's default role `editor`. Throws 400 for role `owner` or an unknown user.
 */
export async function resolveNewMembers(
  trx: Db,
  albumId: string | null,
  ownerId: string,
  requested: readonly NewMember[],
): Promise<{ userId: string; role: Exclude<AlbumRole, 'owner'> }[]> {
  const wanted = new Map<string, Exclude<AlbumRole, 'owner'>>();
  for (const m of requested) {
    const role = m.role ?? 'editor';
    if (role === 'owner') {
      throw invalid(`Role "owner" cannot be assigned: an album has exactly one owner (use "editor" or "viewer")`);
    }
    if (!wanted.has(m.userId)) wanted.set(m.userId, role);
  }
  if (wanted.size === 0) return [];
  const ids = [...wanted.keys()];
  const known = new Set(await liveUsersAmong(trx, ids));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length > 0) throw invalid(`User not found: ${unknown.join(', ')}`);
  const existing = new Set<string>([ownerId]);
  if (albumId) for (const id of await membersAmong(trx, albumId, ids)) existing.add(id);
  return ids.filter((id) => !existing.has(id)).map((userId) => ({ userId, role: wanted.get(userId)! }));
}

export const memberAddedEvents = (
  caller: AlbumCaller,
  albumId: string,
  members: readonly { userId: string; role: AlbumRole }[],
): NewEvent[] =>
  members.map((m) => ({
    type: 'album.member-added',
    ...albumActor(caller),
    subject: albumSubject(albumId),
    data: { albumId, userId: m.userId, role: m.role },
  }));

/** `PUT /api/albums/:id/users`: adds members (existing ones are skipped); returns the album. */
export async function addAlbumMembers(
  db: Db,
  caller: AlbumCaller,
  albumId: string,
  requested: readonly NewMember[],
): Promise<AlbumResponseDto> {
  await db.transaction().execute(async (trx) => {
    const album = await lockAlbum(trx, albumId);
    const added = await resolveNewMembers(trx, albumId, album.owner_id, requested);
    if (added.length === 0) return;
    await insertMembers(trx, albumId, added);
    await touchAlbum(trx, albumId);
    await appendEvents(trx, memberAddedEvents(caller, albumId, added));
  });
  return getAlbumDto(db, caller.userId, albumId);
}

const resolveTarget = (caller: AlbumCaller, userId: string) => (userId === 'me' ? caller.userId : userId);

/** Locks the album (concurrent member changes serialize) and returns the user's role in it; 400 when not a member. */
async function lockedMemberRole(trx: Db, albumId: string, userId: string): Promise<AlbumRole> {
  await lockAlbum(trx, albumId);
  const role = await findMemberRole(trx, albumId, userId);
  if (!role) throw invalid('User is not a member of this album');
  return role;
}

/** `PUT /api/albums/:id/user/:userId` `{role}`. */
export async function updateAlbumMemberRole(
  db: Db,
  caller: AlbumCaller,
  albumId: string,
  userIdOrMe: string,
  role: AlbumUserRole,
): Promise<void> {
  if (role === 'owner') {
    throw invalid(`Role "owner" cannot be assigned: an album has exactly one owner (use "editor" or "viewer")`);
  }
  const userId = resolveTarget(caller, userIdOrMe);
  await db.transaction().execute(async (trx) => {
    const current = await lockedMemberRole(trx, albumId, userId);
    if (current === 'owner') throw invalid("The album owner's role cannot be changed");
    if (current === role) return;
    await setMemberRole(trx, albumId, userId, role);
    await touchAlbum(trx, albumId);
    // a viewer may not share the album: the links they created as an editor stop working
    const revoked = role === 'viewer' ? await revokeAlbumLinks(trx, caller, albumId, userId) : [];
    await appendEvents(trx, [
      {
        type: 'album.member-updated',
        ...albumActor(caller),
        subject: albumSubject(albumId),
        data: { albumId, userId, role },
      },
      ...revoked,
    ]);
  });
}

/** Is `DELETE /api/albums/:id/user/:userId` the caller leaving (needs only membership)? */
export const isLeavingAlbum = (caller: AlbumCaller, userIdOrMe: string) =>
  resolveTarget(caller, userIdOrMe) === caller.userId;

/** `DELETE /api/albums/:id/user/:userId`: removes a member, or the caller leaves (`me`). The owner stays. */
export async function removeAlbumMember(
  db: Db,
  caller: AlbumCaller,
  albumId: string,
  userIdOrMe: string,
): Promise<void> {
  const userId = resolveTarget(caller, userIdOrMe);
  await db.transaction().execute(async (trx) => {
    if ((await lockedMemberRole(trx, albumId, userId)) === 'owner') {
      throw invalid(
        userId === caller.userId
          ? 'The album owner cannot leave the album; delete it instead'
          : 'The album owner cannot be removed from the album',
      );
    }
    await deleteMember(trx, albumId, userId);
    await touchAlbum(trx, albumId);
    const revoked = await revokeAlbumLinks(trx, caller, albumId, userId);
    await appendEvents(trx, [
      {
        type: 'album.member-removed',
        ...albumActor(caller),
        subject: albumSubject(albumId),
        data: { albumId, userId },
      },
      ...revoked,
    ]);
  });
}
