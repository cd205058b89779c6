// The SQL of albums, all of it (docs/architecture.md: SQL only in queries.ts): listings as AlbumResponseDto,
// filters, statistics, locks, members and album assets. Longer than ~350 lines for that reason: the member
// listing alone is one ~150-line statement (statistics, thumbnail, members, link flag in one round trip).
import type {
  AlbumResponseDto,
  AlbumStatisticsResponseDto,
  AlbumUserRole,
  GetAlbumsQuery,
  NewEvent,
} from '@immish/contracts';
import { noAccess } from '@immish/contracts';
import type { AlbumRole, AssetRow, Database, Db } from '@immish/db';
import { type Expression, type ExpressionBuilder, type SqlBool, sql, type Updateable } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import { assetNotTrashed, assetVisibleTo } from '../access.ts';
import { assetColumns } from '../assets/queries.ts';
import { toUserDto } from '../identity/dto.ts';
import { toAlbumResponseDto } from './dto.ts';

/** Who is acting (events carry the user as actor and the request's correlation id). */
export interface AlbumCaller {
  userId: string;
  correlationId?: string;
}

export const albumActor = (caller: AlbumCaller) => ({
  actor: { type: 'user' as const, id: caller.userId },
  ...(caller.correlationId ? { correlationId: caller.correlationId } : {}),
});

export const albumSubject = (albumId: string) => ({ type: 'album' as const, id: albumId });

type AlbumsEb = ExpressionBuilder<Database, 'albums'>;

/** Album is shared: another member besides the owner, or a shared link. Reusable fragment (filters). */
export const albumIsShared = (eb: AlbumsEb): Expression<SqlBool> =>
  eb.or([
    eb.exists(
      eb
        .selectFrom('album_users as other')
        .select('other.user_id')
        .whereRef('other.album_id', '=', 'albums.id')
        .where('other.role', '<>', 'owner'),
    ),
    eb.exists(
      eb.selectFrom('shared_links').select('shared_links.id').whereRef('shared_links.album_id', '=', 'albums.id'),
    ),
  ]);

export interface AlbumFilter {
  ids?: readonly string[];
  name?: string;
  isOwned?: boolean;
  isShared?: boolean;
  assetId?: string;
}

/** Immich's query parameters (3.1's and the legacy `shared`) → one filter. */
export function albumFilterFromQuery(q: GetAlbumsQuery): AlbumFilter {
  if (q.assetId) return { assetId: q.assetId };
  const f: AlbumFilter = {};
  if (q.id) f.ids = [q.id];
  if (q.name !== undefined) f.name = q.name;
  if (q.isOwned !== undefined) f.isOwned = q.isOwned;
  if (q.isShared !== undefined) f.isShared = q.isShared;
  if (q.shared === true) f.isShared = true;
  if (q.shared === false) {
    f.isShared = false;
    f.isOwned = true;
  }
  return f;
}

/**
 * The albums `viewerId` is a member of (owner included), as AlbumResponseDtos, computed in SQL:
 * one query for the albums with their asset statistics, members and link flag, one for the member users.
 * Deleted albums are never returned; trashed assets are not counted.
 */
export async function listAlbumDtos(db: Db, viewerId: string, filter: AlbumFilter = {}): Promise<AlbumResponseDto[]> {
  if (filter.ids && filter.ids.length === 0) return [];
  let query = db
    .selectFrom('albums')
    .innerJoin('album_users as me', (j) => j.onRef('me.album_id', '=', 'albums.id').on('me.user_id', '=', viewerId))
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('album_assets')
          .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
          .whereRef('album_assets.album_id', '=', 'albums.id')
          .where(assetNotTrashed())
          .select((s) => [
            s.fn.countAll<string>().as('asset_count'),
            s.fn.min('assets.file_created_at').as('start_date'),
            s.fn.max('assets.file_created_at').as('end_date'),
            s.fn.max('assets.updated_at').as('last_modified'),
          ])
          .as('stats'),
      (j) => j.onTrue(),
    )
    .select((eb) => [
      'albums.id',
      'albums.owner_id',
      'albums.name',
      'albums.description',
      // The chosen thumbnail while it is a live asset of the album, else the newest live asset (assets placed
      // by the ingest worker, or a thumbnail that was trashed).
      eb.fn
        .coalesce(
          eb
            .selectFrom('album_assets as ta')
            .innerJoin('assets as t', 't.id', 'ta.asset_id')
            .select('t.id')
            .whereRef('ta.album_id', '=', 'albums.id')
            .whereRef('ta.asset_id', '=', 'albums.thumbnail_asset_id')
            .where(assetNotTrashed('t')),
          eb
            .selectFrom('album_assets as na')
            .innerJoin('assets as n', 'n.id', 'na.asset_id')
            .select('n.id')
            .whereRef('na.album_id', '=', 'albums.id')
            .where(assetNotTrashed('n'))
            .orderBy('n.file_created_at', 'desc')
            .orderBy('n.id')
            .limit(1),
        )
        .as('thumbnail_asset_id'),
      'albums.is_activity_enabled',
      'albums.sort_order',
      'albums.created_at',
      'albums.updated_at',
      'stats.asset_count',
      'stats.start_date',
      'stats.end_date',
      'stats.last_modified',
      // Immich's order: the owner, then the caller, then everyone else by name.
      jsonArrayFrom(
        eb
          .selectFrom('album_users as au')
          .innerJoin('users as u', 'u.id', 'au.user_id')
          .whereRef('au.album_id', '=', 'albums.id')
          .select(['au.user_id', 'au.role'])
          .orderBy(sql`au.role = 'owner'`, 'desc')
          .orderBy(sql`au.user_id = ${viewerId}`, 'desc')
          .orderBy('u.name')
          .orderBy('u.id'),
      ).as('members'),
      eb
        .exists(
          eb.selectFrom('shared_links').select('shared_links.id').whereRef('shared_links.album_id', '=', 'albums.id'),
        )
        .as('has_shared_link'),
    ])
    .where('albums.deleted_at', 'is', null);

  if (filter.ids) query = query.where('albums.id', 'in', filter.ids);
  if (filter.name !== undefined) query = query.where('albums.name', '=', filter.name);
  if (filter.isOwned === true) query = query.where('albums.owner_id', '=', viewerId);
  if (filter.isOwned === false) query = query.where('albums.owner_id', '<>', viewerId);
  if (filter.isShared === true) query = query.where((eb) => albumIsShared(eb));
  if (filter.isShared === false) query = query.where((eb) => eb.not(albumIsShared(eb)));
  if (filter.assetId) {
    const assetId = filter.assetId;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('album_assets as has')
          .innerJoin('assets as ha', 'ha.id', 'has.asset_id')
          .select('has.asset_id')
          .whereRef('has.album_id', '=', 'albums.id')
          .where('has.asset_id', '=', assetId)
          // a trashed asset is in no album but for its owner's question
          .where(assetVisibleTo(viewerId, 'ha')),
      ),
    );
  }
  const rows = await query.orderBy('albums.created_at', 'desc').orderBy('albums.id').execute();
  if (rows.length === 0) return [];

  const userIds = [...new Set(rows.flatMap((r) => r.members.map((m) => m.user_id)))];
  const users = new Map(
    (await db.selectFrom('users').selectAll().where('id', 'in', userIds).execute()).map((u) => [u.id, toUserDto(u)]),
  );

  return rows.map((r) => {
    const albumUsers = r.members.flatMap((m) => {
      const user = users.get(m.user_id);
      return user ? [{ role: m.role as AlbumUserRole, user }] : [];
    });
    const assetCount = Number(r.asset_count ?? 0);
    const hasSharedLink = Boolean(r.has_shared_link);
    const owner = users.get(r.owner_id);
    if (!owner) throw new Error(`album ${r.id} has no owner row`);
    return toAlbumResponseDto(r, {
      owner,
      albumUsers,
      assetCount,
      hasSharedLink,
      shared: hasSharedLink || r.members.length > 1,
      dates:
        r.start_date && r.end_date && r.last_modified
          ? { start: new Date(r.start_date), end: new Date(r.end_date), lastModified: new Date(r.last_modified) }
          : null,
    });
  });
}

/**
 * Albums as Immich's AlbumResponseDto without a viewer (every member listed, the owner first), for the albums of
 * an owner's links that the owner is no longer a member of. Two queries for any number; an album without its
 * owner's row is left out (the link is then shown without its album). Deleted albums never.
 */
export async function listAlbumDtosWithoutViewer(
  db: Db,
  albumIds: readonly string[],
): Promise<Map<string, AlbumResponseDto>> {
  const result = new Map<string, AlbumResponseDto>();
  const ids = [...new Set(albumIds)];
  if (ids.length === 0) return result;
  const [albums, members] = await Promise.all([
    db
      .selectFrom('albums')
      .selectAll('albums')
      .select((eb) => [
        eb
          .selectFrom('album_assets')
          .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
          .select((e) => e.fn.countAll<string>().as('n'))
          .whereRef('album_assets.album_id', '=', 'albums.id')
          .where(assetNotTrashed())
          .as('asset_count'),
      ])
      .where('albums.id', 'in', ids)
      .where('albums.deleted_at', 'is', null)
      .execute(),
    db
      .selectFrom('album_users')
      .innerJoin('users', 'users.id', 'album_users.user_id')
      .selectAll('users')
      .select(['album_users.album_id', 'album_users.role'])
      .where('album_users.album_id', 'in', ids)
      .orderBy('users.name')
      .execute(),
  ]);
  const usersByAlbum = new Map<string, AlbumResponseDto['albumUsers']>();
  for (const { album_id, role, ...user } of members) {
    const list = usersByAlbum.get(album_id) ?? [];
    if (list.length === 0) usersByAlbum.set(album_id, list);
    list.push({ role, user: toUserDto(user) });
  }
  for (const a of albums) {
    const users = usersByAlbum.get(a.id) ?? [];
    // Immich: the first entry is always the owner.
    users.sort((x, y) => Number(y.user.id === a.owner_id) - Number(x.user.id === a.owner_id));
    const owner = users[0]?.user;
    if (!owner || owner.id !== a.owner_id) continue; // no owner row: the link is shown without its album
    result.set(
      a.id,
      toAlbumResponseDto(a, {
        owner,
        albumUsers: users,
        assetCount: Number(a.asset_count ?? 0),
        hasSharedLink: true,
        shared: true,
      }),
    );
  }
  return result;
}

/** One album as its member sees it (with Immich's `contributorCounts`); 400 when not a member. */
export async function getAlbumDto(db: Db, viewerId: string, albumId: string): Promise<AlbumResponseDto> {
  const [album] = await listAlbumDtos(db, viewerId, { ids: [albumId] });
  if (!album) throw noAccess();
  const contributors = await db
    .selectFrom('album_assets')
    .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
    .select((eb) => ['album_assets.added_by', eb.fn.countAll<string>().as('n')])
    .where('album_assets.album_id', '=', albumId)
    .where(assetNotTrashed())
    .where('album_assets.added_by', 'is not', null)
    .groupBy('album_assets.added_by')
    .orderBy('album_assets.added_by')
    .execute();
  album.contributorCounts = contributors.map((c) => ({ userId: c.added_by as string, assetCount: Number(c.n) }));
  return album;
}

/** Locks a live album row for the rest of the transaction (serializes concurrent changes to it). */
export async function lockAlbum(trx: Db, albumId: string) {
  const album = await trx
    .selectFrom('albums')
    .selectAll()
    .where('id', '=', albumId)
    .where('deleted_at', 'is', null)
    .forUpdate()
    .executeTakeFirst();
  if (!album) throw noAccess();
  return album;
}

/** The album changed (members, assets, settings): its `updated_at`. */
export async function touchAlbum(trx: Db, albumId: string): Promise<void> {
  await trx.updateTable('albums').set({ updated_at: new Date() }).where('id', '=', albumId).execute();
}

/** A member's role in the album; undefined when the user is not a member. */
export async function findMemberRole(trx: Db, albumId: string, userId: string): Promise<AlbumRole | undefined> {
  const member = await trx
    .selectFrom('album_users')
    .select('role')
    .where('album_id', '=', albumId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return member?.role;
}

/** Which of `userIds` are members of the album. */
export async function membersAmong(trx: Db, albumId: string, userIds: readonly string[]): Promise<string[]> {
  const rows = await trx
    .selectFrom('album_users')
    .select('user_id')
    .where('album_id', '=', albumId)
    .where('user_id', 'in', userIds)
    .execute();
  return rows.map((r) => r.user_id);
}

/** Which of `userIds` are users that exist (not deleted). */
export async function liveUsersAmong(trx: Db, userIds: readonly string[]): Promise<string[]> {
  const rows = await trx
    .selectFrom('users')
    .select('id')
    .where('id', 'in', userIds)
    .where('deleted_at', 'is', null)
    .execute();
  return rows.map((u) => u.id);
}

/** Adds members (already members: skipped). */
export async function insertMembers(
  trx: Db,
  albumId: string,
  members: readonly { userId: string; role: AlbumRole }[],
): Promise<void> {
  await trx
    .insertInto('album_users')
    .values(members.map((m) => ({ album_id: albumId, user_id: m.userId, role: m.role })))
    .onConflict((oc) => oc.columns(['album_id', 'user_id']).doNothing())
    .execute();
}

export async function setMemberRole(trx: Db, albumId: string, userId: string, role: AlbumRole): Promise<void> {
  await trx
    .updateTable('album_users')
    .set({ role })
    .where('album_id', '=', albumId)
    .where('user_id', '=', userId)
    .execute();
}

export async function deleteMember(trx: Db, albumId: string, userId: string): Promise<void> {
  await trx.deleteFrom('album_users').where('album_id', '=', albumId).where('user_id', '=', userId).execute();
}

/** Which of `assetIds` are in the album, with who added each. */
export async function albumAssetsAmong(
  trx: Db,
  albumId: string,
  assetIds: readonly string[],
): Promise<Array<{ asset_id: string; added_by: string | null }>> {
  if (assetIds.length === 0) return [];
  return trx
    .selectFrom('album_assets')
    .select(['asset_id', 'added_by'])
    .where('album_id', '=', albumId)
    .where('asset_id', 'in', assetIds)
    .execute();
}

export async function insertAlbumAssets(
  trx: Db,
  albumId: string,
  assetIds: readonly string[],
  addedBy: string,
): Promise<void> {
  await trx
    .insertInto('album_assets')
    .values(assetIds.map((assetId) => ({ album_id: albumId, asset_id: assetId, added_by: addedBy })))
    .execute();
}

export async function deleteAlbumAssets(trx: Db, albumId: string, assetIds: readonly string[]): Promise<void> {
  await trx.deleteFrom('album_assets').where('album_id', '=', albumId).where('asset_id', 'in', assetIds).execute();
}

/** The newest live asset of the album (the thumbnail when the chosen one goes); undefined when none. */
export async function newestLiveAlbumAsset(trx: Db, albumId: string): Promise<string | undefined> {
  const next = await trx
    .selectFrom('album_assets')
    .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
    .select('assets.id')
    .where('album_assets.album_id', '=', albumId)
    .where(assetNotTrashed())
    .orderBy('assets.file_created_at', 'desc')
    .orderBy('assets.id')
    .limit(1)
    .executeTakeFirst();
  return next?.id;
}

/** The album changed its assets: `updated_at` and its thumbnail. */
export async function touchAlbumThumbnail(trx: Db, albumId: string, thumbnailAssetId: string | null): Promise<void> {
  await trx
    .updateTable('albums')
    .set({ updated_at: new Date(), thumbnail_asset_id: thumbnailAssetId })
    .where('id', '=', albumId)
    .execute();
}

/** One page of the album's live timeline assets (newest first) and their total. */
export async function albumAssetPage(
  db: Db,
  albumId: string,
  page: number,
  size: number,
): Promise<{ rows: AssetRow[]; total: number }> {
  const base = db
    .selectFrom('album_assets')
    .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
    .where('album_assets.album_id', '=', albumId)
    .where(assetNotTrashed())
    // a Live Photo's motion shows through its still (`livePhotoVideoId`), as in Immich
    .where('assets.visibility', '=', 'timeline');
  const [rows, count] = await Promise.all([
    base
      .select(assetColumns)
      .orderBy('assets.file_created_at', 'desc')
      .orderBy('assets.id', 'desc')
      .limit(size)
      .offset((page - 1) * size)
      .execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

export async function insertAlbum(
  trx: Db,
  values: { ownerId: string; name: string; description: string; thumbnailAssetId: string | null },
): Promise<string> {
  const album = await trx
    .insertInto('albums')
    .values({
      owner_id: values.ownerId,
      name: values.name,
      description: values.description,
      thumbnail_asset_id: values.thumbnailAssetId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return album.id;
}

/** Whether the asset is a live (not trashed) asset of the album. */
export async function isLiveAlbumAsset(trx: Db, albumId: string, assetId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('album_assets')
    .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
    .select('assets.id')
    .where('album_assets.album_id', '=', albumId)
    .where('album_assets.asset_id', '=', assetId)
    .where(assetNotTrashed())
    .executeTakeFirst();
  return row !== undefined;
}

export async function updateAlbumRow(trx: Db, albumId: string, set: Updateable<Database['albums']>): Promise<void> {
  await trx
    .updateTable('albums')
    .set({ ...set, updated_at: new Date() })
    .where('id', '=', albumId)
    .execute();
}

/** Soft delete: the album disappears from every listing and route. */
export async function softDeleteAlbum(trx: Db, albumId: string): Promise<void> {
  await trx.updateTable('albums').set({ deleted_at: new Date() }).where('id', '=', albumId).execute();
}

export const isAssignableRole = (role: AlbumUserRole): role is Exclude<AlbumRole, 'owner'> => role !== 'owner';

/**
 * A link to an album is valid only while its creator may share the album (docs/spec.md §4.3: owner or editor).
 * Deletes the album's links created by `userId` (all of them when `userId` is null: the album is deleted)
 * and returns their `shared-link.deleted` events, for the caller's transaction (the gateway drops them).
 */
export async function revokeAlbumLinks(
  trx: Db,
  caller: AlbumCaller,
  albumId: string,
  userId: string | null,
): Promise<NewEvent[]> {
  let q = trx.deleteFrom('shared_links').where('album_id', '=', albumId);
  if (userId !== null) q = q.where('owner_id', '=', userId);
  const links = await q.returning('id').execute();
  return links.map((l) => ({
    type: 'shared-link.deleted',
    ...albumActor(caller),
    subject: { type: 'shared-link', id: l.id },
    data: { linkId: l.id },
  }));
}

/** Immich's `GET /api/albums/statistics`: albums I own, shared albums I belong to, my albums not shared. One query. */
export async function albumStatistics(db: Db, userId: string): Promise<AlbumStatisticsResponseDto> {
  const row = await db
    .selectFrom('albums')
    .innerJoin('album_users as me', (j) => j.onRef('me.album_id', '=', 'albums.id').on('me.user_id', '=', userId))
    .where('albums.deleted_at', 'is', null)
    .select((eb) => [
      eb.fn.countAll<string>().filterWhere('albums.owner_id', '=', userId).as('owned'),
      eb.fn.countAll<string>().filterWhere(albumIsShared(eb)).as('shared'),
      eb.fn
        .countAll<string>()
        .filterWhere(eb.and([eb('albums.owner_id', '=', userId), eb.not(albumIsShared(eb))]))
        .as('not_shared'),
    ])
    .executeTakeFirstOrThrow();
  return { owned: Number(row.owned), shared: Number(row.shared), notShared: Number(row.not_shared) };
}
