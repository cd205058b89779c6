import { randomUUID } from 'node:crypto';
import type { NewEvent, SharedLinkCreateDto, SharedLinkEditDto, SharedLinkResponseDto } from '@immish/contracts';
import { conflict, invalid, isUuid, noAccess } from '@immish/contracts';
import { appendEvents, type Db, type SharedLinkRow } from '@immish/db';
import { checkAccess } from '../access.ts';
import { toSharedLinkResponseDtos } from './dto.ts';
import { limitChangesOf, limitValuesOf } from './limits.ts';
import { checkLinkExpiry, checkLinkPassword, defaultLinkExpiry, type LinkPolicy } from './policy.ts';
import {
  deleteOwnLink,
  findLinksWithAssets,
  findOwnLink,
  type LinkWithAssets,
  loadLinkAssetRows,
  slugTaken,
  updateOwnLink,
} from './queries.ts';
import { assertValidSlug, hashLinkPassword, newLinkKey, verifyLinkPassword } from './rules.ts';
import { createSharedLinkStore, type SharedLinkStore } from './store.ts';

/**
 * Shared links, owner side (docs/spec.md §4.4). Routes authorize with the access module (or these functions do, for
 * the link itself: only the owner sees or changes a link) and call ONE of these. Every change writes its
 * docs/spec.md §6 event in the same transaction.
 *
 * Decisions (documented for clients):
 * - `password`: null or "" means "no password" (on update: remove it). A password equal to the current one
 *   is not a change. Setting, changing or removing it increments `password_version`, which voids every unlock.
 * - `slug`: null or "" means "no slug" (on update: remove it). Otherwise SLUG_RULE; taken (case-insensitively) → 409.
 * - `expiresAt`: must be in the future. Absent on create → the policy's default (see policy.ts).
 * - Nothing actually changed on PATCH → no write and no event.
 */
export interface LinkContext {
  userId: string;
  publicUrl: string;
  policy: LinkPolicy;
  correlationId?: string;
  now?: Date;
  /** how links are written (store.ts): the links-api passes the one its composition root built; default plain */
  store?: SharedLinkStore;
}

const SLUG_INDEX = 'shared_links_slug_lower_uq';

const KEY_INDEX = 'shared_links_key_uq';

const pgConstraint = (err: unknown): string | undefined =>
  (err as { code?: string }).code === '23505' ? ((err as { constraint?: string }).constraint ?? 'unique') : undefined;

export const event = <T extends NewEvent['type']>(
  ctx: Pick<LinkContext, 'userId' | 'correlationId'>,
  type: T,
  linkId: string,
  data: NewEvent<T>['data'],
): NewEvent<T> => ({
  type,
  actor: { type: 'user', id: ctx.userId },
  subject: { type: 'shared-link', id: linkId },
  data,
  ...(ctx.correlationId ? { correlationId: ctx.correlationId } : {}),
});

/** UUIDs compare case-insensitively (PostgreSQL returns them lower-case): dedupe and compare them so. */
export const uniqueIds = (ids: readonly string[]): string[] => [...new Set(ids.map((id) => id.toLowerCase()))];

/** "" and null both mean "none". */
const blankToNull = (v: string | null | undefined): string | null | undefined => (v === '' ? null : v);

const slugConflict = (slug: string) =>
  conflict(`Slug "${slug}" is already in use (slugs are unique regardless of case); choose another`);

/** The ids of `ids` the caller may not use, in request order, for a message naming them. */
async function deniedIds(db: Db, userId: string, permission: 'asset.share' | 'album.share', ids: readonly string[]) {
  const allowed = await checkAccess(db, userId, permission, ids);
  return uniqueIds(ids).filter((id) => !allowed.has(id));
}

/** The response DTO of one of the owner's links (one query, plus two for an ALBUM link's album). */
async function linkResponse(db: Db, ctx: Pick<LinkContext, 'userId' | 'publicUrl'>, linkId: string) {
  const found = await findLinksWithAssets(db, { ownerId: ctx.userId, id: linkId });
  if (found.length === 0) throw noAccess('Shared link not found or no access');
  const [dto] = await toSharedLinkResponseDtos(db, ctx.userId, found, ctx.publicUrl);
  return dto as SharedLinkResponseDto;
}

/** The response DTO of a link row just read or written (its assets: one query; an album: two). */
async function rowResponse(db: Db, ctx: Pick<LinkContext, 'userId' | 'publicUrl'>, link: SharedLinkRow) {
  const assets = link.type === 'INDIVIDUAL' ? ((await loadLinkAssetRows(db, [link.id])).get(link.id) ?? []) : [];
  const [dto] = await toSharedLinkResponseDtos(db, ctx.userId, [{ link, assets }], ctx.publicUrl);
  return dto as SharedLinkResponseDto;
}

function parseExpiry(value: string | null): Date | null {
  if (value === null) return null;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw invalid(`expiresAt is not a valid ISO-8601 date-time: ${value}`);
  return d;
}

/**
 * Creates a link, read top to bottom: validate the request, authorize the album (`album.share`), then the store
 * (store.ts) writes the link, its assets and its `shared-link.created` event atomically, only if the owner may
 * share every asset (`asset.share`; docs/spec.md §6: the link exists if and only if its event does). Which store
 * is the composition root's choice (`ctx.store`); the default is the plain one-transaction store.
 */
export async function createSharedLink(
  db: Db,
  ctx: LinkContext,
  dto: SharedLinkCreateDto,
): Promise<SharedLinkResponseDto> {
  const now = ctx.now ?? new Date();
  let albumId: string | null = null;
  let assetIds: string[] = [];
  if (dto.type === 'ALBUM') {
    if (dto.albumId === undefined) throw invalid('albumId is required for an ALBUM link');
    if (dto.assetIds !== undefined && dto.assetIds.length > 0) {
      throw invalid('assetIds is not allowed on an ALBUM link (it shares the whole album)');
    }
    albumId = dto.albumId.toLowerCase();
    if ((await deniedIds(db, ctx.userId, 'album.share', [albumId])).length > 0) {
      throw invalid(`Album not found or no access: ${dto.albumId}`);
    }
  } else {
    if (dto.albumId !== undefined) throw invalid('albumId is not allowed on an INDIVIDUAL link; use type ALBUM');
    if (!dto.assetIds || dto.assetIds.length === 0)
      throw invalid('assetIds must list at least one asset for an INDIVIDUAL link');
    assetIds = uniqueIds(dto.assetIds);
    if (!assetIds.every(isUuid)) await refuseDeniedAssets(db, ctx.userId, assetIds); // malformed: refused at once
  }
  const expiresAt = dto.expiresAt === undefined ? defaultLinkExpiry(ctx.policy, now) : parseExpiry(dto.expiresAt);
  checkLinkExpiry(ctx.policy, expiresAt, now);
  const password = blankToNull(dto.password) ?? null;
  const allowUpload = dto.allowUpload ?? false;
  checkLinkPassword(ctx.policy, { hasPassword: password !== null, allowUpload });
  const slug = blankToNull(dto.slug) ?? null;
  if (slug !== null) {
    assertValidSlug(slug);
    if (await slugTaken(db, slug)) throw slugConflict(slug);
  }
  const passwordHash = password === null ? null : await hashLinkPassword(password);

  const values = {
    owner_id: ctx.userId,
    type: dto.type,
    album_id: albumId,
    slug,
    description: dto.description ?? null,
    password_hash: passwordHash,
    expires_at: expiresAt,
    allow_download: dto.allowDownload ?? true,
    allow_upload: allowUpload,
    show_metadata: dto.showMetadata ?? true,
    ...limitValuesOf(dto),
    ...uploadModerationValues(dto),
  };
  const store = ctx.store ?? createSharedLinkStore(db);
  for (let attempt = 0; ; attempt++) {
    const id = randomUUID();
    let created: LinkWithAssets | null;
    try {
      created = await store.create({
        values: { ...values, id, key: newLinkKey() },
        assetIds,
        event: event(ctx, 'shared-link.created', id, { linkId: id, ownerId: ctx.userId, linkType: dto.type, albumId }),
      });
    } catch (err) {
      const constraint = pgConstraint(err);
      if (constraint === SLUG_INDEX && slug !== null) throw slugConflict(slug);
      if (constraint === KEY_INDEX && attempt < 3) continue; // 2^-256: practically never
      if ((err as { code?: string }).code === '23503') throw invalid('An asset or album was deleted meanwhile; retry');
      throw err;
    }
    if (!created) {
      // Nothing written: some asset is not the caller's. Name them (an extra query on this path only).
      await refuseDeniedAssets(db, ctx.userId, assetIds);
      if (attempt < 3) continue; // they all were the caller's by now (a concurrent change): try again
      throw invalid('The assets changed meanwhile; retry');
    }
    const [out] = await toSharedLinkResponseDtos(db, ctx.userId, [created], ctx.publicUrl);
    return out as SharedLinkResponseDto;
  }
}

/** 400 naming the ids of `assetIds` the caller may not share, if any. */
async function refuseDeniedAssets(db: Db, userId: string, assetIds: readonly string[]): Promise<void> {
  if (assetIds.length === 0) return;
  const denied = await deniedIds(db, userId, 'asset.share', assetIds);
  if (denied.length > 0) throw invalid(`Assets not found or no access: ${denied.join(', ')}`);
}

/** The caller's links (newest first), optionally only those of one album or one id. */
export async function listSharedLinks(
  db: Db,
  ctx: Pick<LinkContext, 'userId' | 'publicUrl'>,
  filter: { albumId?: string | undefined; id?: string | undefined } = {},
): Promise<SharedLinkResponseDto[]> {
  const links = await findLinksWithAssets(db, { ownerId: ctx.userId, ...filter });
  return toSharedLinkResponseDtos(db, ctx.userId, links, ctx.publicUrl);
}

/** The caller's own link, else 400 "Not found or no access" (another user's link looks like a missing one). */
export async function requireOwnLink(db: Db, userId: string, linkId: string): Promise<SharedLinkRow> {
  const row = await findOwnLink(db, userId, linkId);
  if (!row) throw noAccess('Shared link not found or no access');
  return row;
}

export async function getSharedLink(
  db: Db,
  ctx: Pick<LinkContext, 'userId' | 'publicUrl'>,
  linkId: string,
): Promise<SharedLinkResponseDto> {
  return linkResponse(db, ctx, linkId);
}

/** The guest-upload moderation options of a new link (issue 19 item 3); absent = Immich's behaviour. */
function uploadModerationValues(dto: SharedLinkCreateDto): { upload_review?: boolean; max_upload_bytes?: number } {
  return {
    ...(dto.uploadReview ? { upload_review: true } : {}),
    ...(dto.maxUploadBytes != null ? { max_upload_bytes: dto.maxUploadBytes } : {}),
  };
}

/** PATCH of the moderation options: fills `set`, returns the names of the fields that changed. */
function applyUploadModeration(
  dto: SharedLinkEditDto,
  current: SharedLinkRow,
  set: { upload_review?: boolean; max_upload_bytes?: number | null },
): string[] {
  const changed: string[] = [];
  if (dto.uploadReview !== undefined && dto.uploadReview !== current.upload_review) {
    set.upload_review = dto.uploadReview;
    changed.push('uploadReview');
  }
  const currentBudget = current.max_upload_bytes === null ? null : Number(current.max_upload_bytes);
  if (dto.maxUploadBytes !== undefined && dto.maxUploadBytes !== currentBudget) {
    set.max_upload_bytes = dto.maxUploadBytes;
    changed.push('maxUploadBytes');
  }
  return changed;
}

/** docs/spec.md §4.4 expiry semantics of PATCH: `undefined` = leave the expiry as it is. */
export function requestedExpiry(
  dto: Pick<SharedLinkEditDto, 'changeExpiryTime' | 'expiresAt'>,
): string | null | undefined {
  if (dto.changeExpiryTime === true) return dto.expiresAt ?? null;
  if (dto.changeExpiryTime === false) return undefined;
  return dto.expiresAt;
}

export async function updateSharedLink(
  db: Db,
  ctx: LinkContext,
  linkId: string,
  dto: SharedLinkEditDto,
): Promise<SharedLinkResponseDto> {
  const now = ctx.now ?? new Date();
  const current = await requireOwnLink(db, ctx.userId, linkId);
  const set: {
    description?: string | null;
    expires_at?: Date | null;
    allow_download?: boolean;
    allow_upload?: boolean;
    show_metadata?: boolean;
    slug?: string | null;
    password_hash?: string | null;
    max_visits?: number | null;
    max_downloads?: number | null;
    max_uploads?: number | null;
    upload_review?: boolean;
    max_upload_bytes?: number | null;
  } = {};
  const changed: string[] = [];
  const limits = limitChangesOf(current, dto); // limited links: raising or clearing a cap reopens the link
  Object.assign(set, limits.set);
  changed.push(...limits.changed);

  if (dto.description !== undefined && dto.description !== current.description) {
    set.description = dto.description;
    changed.push('description');
  }
  const expiryText = requestedExpiry(dto);
  if (expiryText !== undefined) {
    const expiresAt = parseExpiry(expiryText);
    if ((expiresAt?.getTime() ?? null) !== (current.expires_at?.getTime() ?? null)) {
      checkLinkExpiry(ctx.policy, expiresAt, now);
      set.expires_at = expiresAt;
      changed.push('expiresAt');
    }
  }
  for (const [field, column] of [
    ['allowDownload', 'allow_download'],
    ['allowUpload', 'allow_upload'],
    ['showMetadata', 'show_metadata'],
  ] as const) {
    const value = dto[field];
    if (value !== undefined && value !== current[column]) {
      set[column] = value;
      changed.push(field);
    }
  }
  if (dto.slug !== undefined) {
    const slug = blankToNull(dto.slug) ?? null;
    if (slug !== current.slug) {
      if (slug !== null) {
        assertValidSlug(slug);
        if (await slugTaken(db, slug, linkId)) throw slugConflict(slug);
      }
      set.slug = slug;
      changed.push('slug');
    }
  }
  let passwordChanged = false;
  if (dto.password !== undefined) {
    const password = blankToNull(dto.password) ?? null;
    if (password === null) {
      passwordChanged = current.password_hash !== null;
      if (passwordChanged) set.password_hash = null;
    } else if (!(await verifyLinkPassword(current, password))) {
      passwordChanged = true;
      set.password_hash = await hashLinkPassword(password);
    }
    if (passwordChanged) changed.push('password');
  }
  changed.push(...applyUploadModeration(dto, current, set));
  if (passwordChanged || set.allow_upload !== undefined) {
    checkLinkPassword(ctx.policy, {
      hasPassword: (set.password_hash === undefined ? current.password_hash : set.password_hash) !== null,
      allowUpload: set.allow_upload ?? current.allow_upload,
    });
  }

  if (changed.length === 0) return rowResponse(db, ctx, current);
  let row: SharedLinkRow;
  try {
    row = await db.transaction().execute(async (trx) => {
      const updated = await updateOwnLink(trx, ctx.userId, linkId, { ...set, updated_at: now }, passwordChanged);
      if (!updated) throw noAccess('Shared link not found or no access');
      await appendEvents(trx, [event(ctx, 'shared-link.updated', linkId, { linkId, changed, passwordChanged })]);
      return updated;
    });
  } catch (err) {
    if (pgConstraint(err) === SLUG_INDEX && set.slug) throw slugConflict(set.slug);
    throw err;
  }
  return rowResponse(db, ctx, row);
}

export async function deleteSharedLink(db: Db, ctx: Pick<LinkContext, 'userId' | 'correlationId'>, linkId: string) {
  await db.transaction().execute(async (trx) => {
    if (!(await deleteOwnLink(trx, ctx.userId, linkId))) throw noAccess('Shared link not found or no access');
    await appendEvents(trx, [event(ctx, 'shared-link.deleted', linkId, { linkId })]);
  });
}
