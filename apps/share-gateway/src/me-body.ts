import type { Db } from '@immish/db';
import { countLinkAssets, listLinkAssets } from '@immish/domain';
import { EncodedBody } from './encoded-body.ts';
import type { BuiltBody } from './link-bodies.ts';
import { toRecipientAsset, toRecipientLinkDto } from './link-dto.ts';
import type { ActiveLink } from './link-resolver.ts';

/**
 * The `/me` body of a link (docs/spec.md §5.3: Immich's SharedLinkResponseDto with the link's assets), built for
 * the body cache (link-bodies.ts) without holding the event loop: the assets are serialized a slice at a time,
 * with a turn of the loop between slices, so requests keep being answered while a 1,000-asset body (1.2 MB) is
 * made. The bytes are exactly `JSON.stringify(toRecipientLinkDto(…))`.
 */

/**
 * `/me` lists at most this many assets (~1.2 KB of JSON each); `album.assetCount` gives the real total and
 * `GET /share/:key/assets?page=&size=` pages through all of them (docs/spec.md §5.3 "paginated for large albums").
 */
export const ME_MAX_ASSETS = 10_000;
/** assets serialized per turn of the event loop: ~0.5 ms of work each */
const SLICE = 100;
/** what stands for the assets in the serialized head, replaced by them (NUL never reaches stored text) */
const ASSETS_PLACEHOLDER = '\u0000assets\u0000';
const ASSETS_MARK = JSON.stringify(ASSETS_PLACEHOLDER);

/**
 * The link's fields that count what recipients do (views, downloads, uploads, last access, used limits): written
 * by every counter flush, about once a second on a busy link. They are not part of `meHead`, so counting does
 * not rebuild the body: a cached body shows them as of its build (at most link-bodies.ts SAFETY_TTL_MS old;
 * a used-up limit publishes an invalidation, so the body that says so is rebuilt at once).
 */
const COUNTERS = [
  'views',
  'downloads',
  'uploads',
  'lastAccessedAt',
  'visitsUsed',
  'downloadsUsed',
  'uploadsUsed',
  'uploadBytes',
] as const;

const heads = new WeakMap<ActiveLink, string>();

/**
 * What the body shows of the link, owner and album rows, but their counters: two bodies built from rows with the
 * same head differ only in those. Computed once per resolved link (the resolver re-reads rows every
 * LINK_CACHE_TTL_MS), so a cache hit costs a WeakMap lookup.
 */
export function meHead(publicUrl: string, link: ActiveLink): string {
  let head = heads.get(link);
  if (head === undefined) {
    const dto: Record<string, unknown> = { ...toRecipientLinkDto(publicUrl, link, [], 0) };
    for (const field of COUNTERS) delete dto[field];
    head = JSON.stringify(dto);
    heads.set(link, head);
  }
  return head;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `slice`: assets per turn of the loop (tests make it small to cover the joins) */
export async function buildMeBody(
  db: Db,
  publicUrl: string,
  link: ActiveLink,
  { slice: size = SLICE }: { slice?: number } = {},
): Promise<BuiltBody> {
  const rows = await listLinkAssets(db, link, { offset: 0, limit: ME_MAX_ASSETS });
  const complete = rows.length < ME_MAX_ASSETS;
  const total = complete ? rows.length : await countLinkAssets(db, link);
  const head = JSON.stringify({ ...toRecipientLinkDto(publicUrl, link, [], total), assets: ASSETS_PLACEHOLDER });
  const at = head.indexOf(ASSETS_MARK);
  const parts: Buffer[] = [Buffer.from(`${head.slice(0, at)}[`)];
  for (let i = 0; i < rows.length; i += size) {
    if (i > 0) await nextTurn();
    const slice = JSON.stringify(rows.slice(i, i + size).map((row) => toRecipientAsset(link, row)));
    parts.push(Buffer.from(`${i > 0 ? ',' : ''}${slice.slice(1, -1)}`));
  }
  parts.push(Buffer.from(`]${head.slice(at + ASSETS_MARK.length)}`));
  return {
    body: new EncodedBody(Buffer.concat(parts)),
    // a body listing only the first ME_MAX_ASSETS still counts them all: any asset's change may concern it
    ...(complete ? { assetIds: new Set(rows.map((r) => r.id)) } : {}),
    volatile: rows.some((r) => r.rendition_status === 'queued' || r.rendition_status === 'running'),
  };
}
