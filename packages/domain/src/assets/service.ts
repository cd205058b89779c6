import type { Actor, AssetBulkUploadCheckResult, AssetStatsQuery, AssetStatsResponseDto } from '@immish/contracts';
import { invalid } from '@immish/contracts';
import { appendEvents, type Db } from '@immish/db';
import { countOwnedAssets, findOwnedByChecksums, markTrashed, replaceAlbumThumbnails } from './queries.ts';

/**
 * Normalizes a client-sent duration to milliseconds: Immich ≥ 2 sends integer ms; older clients send
 * `H:MM:SS.ffffff`. Anything else → null.
 */
export function parseDurationToMs(value: string | undefined | null): number | null {
  if (value == null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v));
  const m = /^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$/.exec(v);
  if (!m) return null;
  return Math.round((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000);
}

// Checksums ----------------------------------------------------------------------------------------

/** SHA-1 as 40 hex digits or 28-char base64 (Immich accepts both) → 20 bytes; anything else → null. */
export function parseChecksum(value: string): Buffer | null {
  const v = value.trim();
  if (/^[0-9a-fA-F]{40}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/]{27}=$/.test(v) || /^[A-Za-z0-9_-]{27}$/.test(v)) {
    const b = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    return b.length === 20 ? b : null;
  }
  return null;
}

/**
 * Immich's bulk-upload-check: a checksum the owner already has → reject/duplicate with its `assetId`
 * (and `isTrashed`); else accept. One indexed query over (owner_id, checksum) for the whole list.
 */
export async function bulkUploadCheck(
  db: Db,
  ownerId: string,
  items: readonly { id: string; checksum: string }[],
): Promise<AssetBulkUploadCheckResult[]> {
  const parsed = items.map((item) => ({ item, sum: parseChecksum(item.checksum) }));
  const bad = parsed.find((p) => p.sum === null);
  if (bad) throw invalid(`checksum of "${bad.item.id}" must be a SHA-1 in hex (40 digits) or base64 (28 chars)`);
  const unique = [...new Map(parsed.map((p) => [p.sum!.toString('hex'), p.sum!])).values()];
  const found = new Map<string, { id: string; trashed: boolean }>();
  // One array parameter (not thousands of IN-list parameters): cheap to parse and plan, one index probe each.
  for (let i = 0; i < unique.length; i += 10_000) {
    const chunk = unique.slice(i, i + 10_000);
    const rows = await findOwnedByChecksums(db, ownerId, chunk);
    // the first row per checksum is the one findAssetByChecksum answers (the same asset either way)
    for (const r of rows) {
      const hex = r.checksum.toString('hex');
      if (!found.has(hex)) found.set(hex, { id: r.id, trashed: r.trashed_at !== null });
    }
  }
  return parsed.map(({ item, sum }) => {
    const hit = found.get(sum!.toString('hex'));
    return hit
      ? { id: item.id, action: 'reject', reason: 'duplicate', assetId: hit.id, isTrashed: hit.trashed }
      : { id: item.id, action: 'accept' };
  });
}

/**
 * `DELETE /api/assets`: moves owned assets to the trash (sets trashed_at). immish has no trash emptying
 * yet, so `force` also only trashes (the row stays for dedupe; Immich's force deletes permanently).
 * The caller has checked `asset.delete` on every id. In the same transaction: albums whose thumbnail was
 * one of them get their newest live asset instead (every reader of the album row, the gateway's included,
 * then names no trashed asset), and an `asset.trashed` event, which makes every gateway drop its link
 * caches (the access module's trash rule then applies to recipients at once).
 */
export async function trashAssets(db: Db, actor: Actor, ids: readonly string[], correlationId?: string): Promise<void> {
  if (ids.length === 0) return;
  await db.transaction().execute(async (trx) => {
    const trashed = await markTrashed(trx, ids);
    if (trashed.length === 0) return;
    const trashedIds = trashed.map((a) => a.id);
    await replaceAlbumThumbnails(trx, trashedIds);
    const byOwner = new Map<string, string[]>();
    for (const a of trashed) byOwner.set(a.owner_id, [...(byOwner.get(a.owner_id) ?? []), a.id]);
    await appendEvents(
      trx,
      [...byOwner].map(([ownerId, assetIds]) => ({
        type: 'asset.trashed' as const,
        actor,
        subject: { type: 'asset' as const, id: assetIds[0]! },
        data: { ownerId, assetIds },
        ...(correlationId ? { correlationId } : {}),
      })),
    );
  });
}

/** Immich's `GET /api/assets/statistics`: counts of the caller's own assets (not trashed unless asked). */
export async function assetStatistics(db: Db, ownerId: string, query: AssetStatsQuery): Promise<AssetStatsResponseDto> {
  // immish has no archive/locked; `hidden` is the motion part of a Live Photo (Immich counts it there, not on the
  // timeline). No visibility asked: the timeline, as Immich.
  const visibility = query.visibility ?? 'timeline';
  if (visibility !== 'timeline' && visibility !== 'hidden') return { images: 0, videos: 0, total: 0 };
  return countOwnedAssets(db, ownerId, {
    trashed: query.isTrashed === true,
    ...(query.isFavorite !== undefined ? { isFavorite: query.isFavorite } : {}),
    visibility,
  });
}
