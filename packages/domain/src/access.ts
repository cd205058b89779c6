import { type DomainError, forbidden, isUuid, noAccess, unauthenticated } from '@immish/contracts';
import type { AlbumRole, Db, SharedLinkRow } from '@immish/db';
import { CompiledQuery, type RawBuilder, sql } from 'kysely';

/**
 * The one access module (docs/architecture.md "One access module for owners and recipients"). Every owner route
 * asks `requireAccess` (or `requireAlbumRole`) before acting; every recipient path, the gateway's in-memory fast
 * path included, asks `checkLinkAccess`.
 * Deny by default; bulk checks over id sets; a lookup table instead of a switch. Failures are domain errors
 * (400 "Not found or no access", like Immich: a foreign id and a missing id look the same).
 */
export type AlbumPermission =
  | 'album.read'
  | 'album.download'
  | 'album.update'
  | 'album.delete'
  | 'album.addAssets'
  | 'album.removeAssets'
  | 'album.manageMembers'
  | 'album.share';

export type AssetPermission = 'asset.read' | 'asset.download' | 'asset.delete' | 'asset.share';
export type LinkPermission = 'sharedLink.read' | 'sharedLink.update' | 'sharedLink.delete';
export type Permission = AlbumPermission | AssetPermission | LinkPermission;

/** docs/spec.md §4.3 role table. `album.removeAssets` for editors is limited to assets they added (checked by the caller). */
export const albumRoleGrants: Record<AlbumRole, ReadonlySet<AlbumPermission>> = {
  owner: new Set<AlbumPermission>([
    'album.read',
    'album.download',
    'album.update',
    'album.delete',
    'album.addAssets',
    'album.removeAssets',
    'album.manageMembers',
    'album.share',
  ]),
  editor: new Set<AlbumPermission>([
    'album.read',
    'album.download',
    'album.update',
    'album.addAssets',
    'album.removeAssets',
    'album.manageMembers',
    'album.share',
  ]),
  viewer: new Set<AlbumPermission>(['album.read', 'album.download']),
};

/** Role of `userId` in each of `albumIds` (live albums only). */
export async function albumRoles(db: Db, userId: string, albumIds: readonly string[]): Promise<Map<string, AlbumRole>> {
  if (albumIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('album_users')
    .innerJoin('albums', 'albums.id', 'album_users.album_id')
    .select(['album_users.album_id', 'album_users.role'])
    .where('album_users.user_id', '=', userId)
    .where(sql<boolean>`album_users.album_id = any(${albumIds}::uuid[])`)
    .where('albums.deleted_at', 'is', null)
    .execute();
  return new Map(rows.map((r) => [r.album_id, r.role]));
}

/**
 * Trash (docs/spec.md §14, issue 12 item 8): a trashed asset is in its owner's trash and nowhere else. Its owner still
 * reads it by id (info, original, thumbnail: `isTrashed` tells); everyone else (album members, link recipients,
 * exports made for them) finds nothing, as if it did not exist. No collection holds it for anyone, its owner
 * included (as in Immich, trash is the only place it shows): album contents, counts, dates and thumbnails, a
 * link's assets, archives. Every reader applies one of the two fragments below; nothing else spells the rule.
 */

/** The collection half of the trash rule: the asset (`alias`, any alias of `assets`) is not trashed. */
export const assetNotTrashed = (alias = 'assets'): RawBuilder<boolean> =>
  sql<boolean>`${sql.ref(`${alias}.trashed_at`)} is null`;

/** The by-id half: the asset is visible to `viewerId` (its owner sees it trashed too; null is a link recipient). */
export const assetVisibleTo = (viewerId: string | null, alias = 'assets'): RawBuilder<boolean> =>
  viewerId === null
    ? assetNotTrashed(alias)
    : sql<boolean>`(${sql.ref(`${alias}.trashed_at`)} is null or ${sql.ref(`${alias}.owner_id`)} = ${viewerId})`;

/**
 * Whether some of `assetIds` are hidden by trash from `viewerId` (null: a link recipient): an export frozen for
 * them must not be built or served any more (its archive may hold the asset). Ids no longer in the table (deleted)
 * hide nothing here: the archive never had them or the worker leaves them out.
 */
export async function someHiddenByTrash(
  db: Db,
  viewerId: string | null,
  assetIds: readonly string[],
): Promise<boolean> {
  if (assetIds.length === 0) return false;
  const row = await db
    .selectFrom('assets')
    .select('assets.id')
    .where(sql<boolean>`assets.id = any(${assetIds}::uuid[])`)
    .where((eb) => eb.not(assetVisibleTo(viewerId)))
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

type Checker = (db: Db, userId: string, ids: readonly string[]) => Promise<Set<string>>;

/**
 * The `asset.delete` / `asset.share` rule as SQL, for statements that fold the check into their
 * write (creating shared links): the condition that the `assets` row `alias` is the asset `idExpr` and belongs
 * to the user `userExpr` (SQL expressions: parameters or columns).
 */
export const ownedAssetSql = (alias: string, userExpr: string, idExpr: string): string =>
  `${alias}.id = ${idExpr} AND ${alias}.owner_id = ${userExpr}`;

/** A named prepared statement in the links-api (prepared-statements.ts). */
export const OWNED_ASSETS_SQL = `SELECT a.id FROM assets a WHERE ${ownedAssetSql('a', '$1', 'ANY($2::uuid[])')}`;

const ownedAssets: Checker = async (db, userId, ids) => {
  const { rows } = await db.executeQuery<{ id: string }>(CompiledQuery.raw(OWNED_ASSETS_SQL, [userId, ids]));
  return new Set(rows.map((r) => r.id));
};

/** Owned (trashed too: the owner's trash), or not trashed and in a live album the user is a member of. */
const readableAssets: Checker = async (db, userId, ids) => {
  const owned = await ownedAssets(db, userId, ids);
  const rest = ids.filter((id) => !owned.has(id));
  if (rest.length === 0) return owned;
  const rows = await db
    .selectFrom('album_assets')
    .innerJoin('album_users', 'album_users.album_id', 'album_assets.album_id')
    .innerJoin('albums', 'albums.id', 'album_assets.album_id')
    .innerJoin('assets', 'assets.id', 'album_assets.asset_id')
    .select('album_assets.asset_id')
    .distinct()
    .where('album_users.user_id', '=', userId)
    .where('albums.deleted_at', 'is', null)
    .where(sql<boolean>`album_assets.asset_id = any(${rest}::uuid[])`)
    .where(assetNotTrashed())
    .execute();
  for (const r of rows) owned.add(r.asset_id);
  return owned;
};

const ownedLinks: Checker = async (db, userId, ids) => {
  const rows = await db
    .selectFrom('shared_links')
    .select('id')
    .where('owner_id', '=', userId)
    .where(sql<boolean>`id = any(${ids}::uuid[])`)
    .execute();
  return new Set(rows.map((r) => r.id));
};

const albumChecker =
  (permission: AlbumPermission): Checker =>
  async (db, userId, ids) => {
    const roles = await albumRoles(db, userId, ids);
    return new Set([...roles].filter(([, role]) => albumRoleGrants[role].has(permission)).map(([id]) => id));
  };

const checkers: Record<Permission, Checker> = {
  'album.read': albumChecker('album.read'),
  'album.download': albumChecker('album.download'),
  'album.update': albumChecker('album.update'),
  'album.delete': albumChecker('album.delete'),
  'album.addAssets': albumChecker('album.addAssets'),
  'album.removeAssets': albumChecker('album.removeAssets'),
  'album.manageMembers': albumChecker('album.manageMembers'),
  'album.share': albumChecker('album.share'),
  'asset.read': readableAssets,
  'asset.download': readableAssets,
  'asset.delete': ownedAssets,
  'asset.share': ownedAssets,
  'sharedLink.read': ownedLinks,
  'sharedLink.update': ownedLinks,
  'sharedLink.delete': ownedLinks,
};

/** The subset of `ids` the user may act on with `permission` (malformed ids are simply not allowed). */
export async function checkAccess(
  db: Db,
  userId: string,
  permission: Permission,
  ids: Iterable<string>,
): Promise<Set<string>> {
  const valid = [...new Set(ids)].filter((id) => isUuid(id));
  if (valid.length === 0) return new Set();
  return checkers[permission](db, userId, valid);
}

/** Throws 400 "Not found or no access" unless the user may act on every id. */
export async function requireAccess(
  db: Db,
  userId: string,
  permission: Permission,
  ids: string | readonly string[],
): Promise<void> {
  const list = typeof ids === 'string' ? [ids] : ids;
  const allowed = await checkAccess(db, userId, permission, list);
  if (list.some((id) => !allowed.has(id))) throw noAccess();
}

/**
 * Like `requireAccess` for one album, returning the caller's role there (routes whose rule depends on it:
 * an editor removes only the assets they added). Throws 400 "Not found or no access" otherwise.
 */
export async function requireAlbumRole(
  db: Db,
  userId: string,
  permission: AlbumPermission,
  albumId: string,
): Promise<AlbumRole> {
  const role = isUuid(albumId) ? (await albumRoles(db, userId, [albumId])).get(albumId) : undefined;
  if (!role || !albumRoleGrants[role].has(permission)) throw noAccess();
  return role;
}

/**
 * What a link recipient may do (docs/spec.md §5): see what the link shows (pages, thumbnails, previews), download
 * originals and archives, upload through it. The link itself is resolved and unlocked before (the gateway's link
 * resolution); these are the rules on top of that.
 */
export type RecipientPermission = 'link.view' | 'link.download' | 'link.upload';

export const DOWNLOADS_DISABLED =
  'Downloads are disabled for this shared link; only thumbnails and previews can be viewed';
export const UPLOADS_DISABLED = 'This shared link does not allow uploads';
export const NOT_IN_LINK = 'Asset not found in this shared link';

/** Each permission's condition on the link's settings (view needs none); Immich answers 401 for uploads. */
const recipientGrants: Record<RecipientPermission, (link: LinkSettings) => DomainError | null> = {
  'link.view': () => null,
  'link.download': (link) => (link.allow_download ? null : forbidden(DOWNLOADS_DISABLED)),
  'link.upload': (link) => (link.allow_upload ? null : unauthenticated(UPLOADS_DISABLED)),
};

type LinkSettings = Pick<SharedLinkRow, 'allow_download' | 'allow_upload'>;

/**
 * Why the recipient of `link` may not do `permission` on `assetIds`, or null when they may: the link's setting
 * first (403/401), then every asset must be one the link shows (400 "Asset not found in this shared link", like a
 * missing one). `shown` are the ids the link was found to show among `assetIds` (a query of
 * shared-links/queries.ts, or the gateway's cache of one); ids compare case-insensitively. For callers that
 * answer a refusal in their own form (the share page renders HTML); everyone else calls `checkLinkAccess`.
 */
export function linkAccessRefusal(
  link: LinkSettings,
  permission: RecipientPermission,
  assetIds: readonly string[] = [],
  shown: Iterable<string> = [],
): DomainError | null {
  const refusal = recipientGrants[permission](link);
  if (refusal) return refusal;
  if (assetIds.length === 0) return null;
  const members = new Set([...shown].map((id) => id.toLowerCase()));
  return assetIds.every((id) => members.has(id.toLowerCase())) ? null : noAccess(NOT_IN_LINK);
}

/** Throws `linkAccessRefusal`'s refusal, if any: the recipient check every gateway path makes. */
export function checkLinkAccess(
  link: LinkSettings,
  permission: RecipientPermission,
  assetIds: readonly string[] = [],
  shown: Iterable<string> = [],
): void {
  const refusal = linkAccessRefusal(link, permission, assetIds, shown);
  if (refusal) throw refusal;
}
