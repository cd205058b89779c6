import type { AssetRow } from '@immish/db';
import { anonymousFileName, checkLinkAccess } from '@immish/domain';
import { etagMatches } from '@immish/runtime';
import { contentDisposition, contentTypeFromKey } from '@immish/storage';
import type { ActiveLink } from './link-resolver.ts';
import type { GatewayContext, Recipient } from './recipient.ts';

/**
 * A link's thumbnails and previews (docs/spec.md §5.3): where each is stored, its version, the name it is offered
 * under, and the answer to a request for it — the rules shared by the media routes (routes/media.ts) and the fast
 * path (fast-path.ts), so both give the same status, headers and bytes.
 */

/** The route of a link asset's media: `thumbnail`, `preview` or `original`. */
export const SHARE_MEDIA_ROUTE = '/share/:key/assets/:assetId/:kind';

export type DerivativeKind = 'thumbnail' | 'preview';

/** Derivatives never change for an asset (re-ingest writes the same bytes), so they are cached for a year. */
export const IMMUTABLE = 'private, max-age=31536000, immutable';

export interface Derivative {
  key: string;
  type: string;
  /** the asset's version of it: ETag and memory-cache key */
  etag: string;
  cacheKey: string;
  /** the headers of a 304 */
  notModified: Readonly<Record<string, string>>;
  /** the headers of a 200 when they depend only on the asset (a thumbnail: never offered as a file) */
  okHeaders?: Readonly<Record<string, string>>;
}

/** The name a file of the asset is offered under: its own, or its id when the link hides metadata. */
export function offeredFileName(link: ActiveLink, asset: AssetRow, suffix = ''): string {
  const name = link.link.show_metadata ? asset.original_file_name : anonymousFileName(asset);
  if (!suffix) return name;
  const dot = name.lastIndexOf('.');
  return `${dot > 0 ? name.slice(0, dot) : name}${suffix}`;
}

/** The file name a derivative is offered under (the asset's name, or its id when metadata is hidden). */
export const derivativeFileName = (link: ActiveLink, asset: AssetRow, kind: DerivativeKind, type: string): string =>
  offeredFileName(link, asset, `_${kind}${type === 'image/webp' ? '.webp' : '.jpg'}`);

/**
 * Each asset row's derivatives as `derivativeOf` made them, with their 200 headers when they depend on nothing
 * else (a thumbnail's): a grid asks for the same cached rows again and again, and building the strings and
 * headers of each answer was a third of the fast path's own work (issue 17, `perf`). Rows are the link asset
 * cache's (a changed asset is a new row object), so this memory goes with them.
 */
const derived = new WeakMap<AssetRow, Partial<Record<DerivativeKind, Derivative | null>>>();

/** Where a derivative is stored, its type and its version (ETag, memory cache key); null when not ready. */
export function derivativeOf(asset: AssetRow, kind: DerivativeKind): Derivative | null {
  let known = derived.get(asset);
  if (!known) {
    known = {};
    derived.set(asset, known);
  }
  let d = known[kind];
  if (d === undefined) {
    d = makeDerivative(asset, kind);
    known[kind] = d;
  }
  return d;
}

function makeDerivative(asset: AssetRow, kind: DerivativeKind): Derivative | null {
  const key = kind === 'thumbnail' ? asset.thumbnail_key : asset.preview_key;
  if (!key) return null;
  const type = contentTypeFromKey(key) ?? (kind === 'thumbnail' ? 'image/webp' : 'image/jpeg');
  // derivatives are rewritten only by a re-ingest, which also bumps updated_at
  const version = asset.updated_at.getTime().toString(36);
  const etag = `"${kind}-${asset.id}-${version}"`;
  return Object.freeze({
    key,
    type,
    etag,
    cacheKey: `${key}#${version}`,
    notModified: Object.freeze({ etag, 'cache-control': IMMUTABLE }),
    ...(kind === 'thumbnail'
      ? { okHeaders: Object.freeze({ etag, 'cache-control': IMMUTABLE, 'content-type': type }) }
      : {}),
  });
}

/**
 * The answer to a request for a derivative whose bytes are at hand: 304 when the client's If-None-Match holds its
 * version (ETag and cache control only), else 200 with its type — and, for a preview, a name to save it under
 * ("Download preview"); thumbnails are never offered as files.
 */
export function derivativeAnswer(
  link: ActiveLink,
  asset: AssetRow,
  kind: DerivativeKind,
  d: Derivative,
  ifNoneMatch: string | undefined,
): { status: 200 | 304; headers: Readonly<Record<string, string>> } {
  if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, d.etag)) return { status: 304, headers: d.notModified };
  if (d.okHeaders) return { status: 200, headers: d.okHeaders };
  const headers: Record<string, string> = { etag: d.etag, 'cache-control': IMMUTABLE };
  if (kind === 'preview') {
    headers['content-disposition'] = contentDisposition(derivativeFileName(link, asset, kind, d.type), 'inline');
  }
  headers['content-type'] = d.type;
  return { status: 200, headers };
}

/**
 * A derivative answered from memory alone — the hot path of a grid of thumbnails: the recipient peeked from the
 * link cache (unlocked, not limited), the asset from the link's cached assets (the cached row is the membership
 * answer: only assets the link shows are cached), the bytes from the derivative cache. Undefined when any of it is
 * not in memory; the full route then answers, or refuses, the long way.
 */
export function derivativeFromMemory(
  ctx: GatewayContext,
  recipient: Recipient | undefined,
  assetId: string,
  kind: DerivativeKind,
  ifNoneMatch: string | undefined,
): { status: 200 | 304; headers: Readonly<Record<string, string>>; bytes: Buffer } | undefined {
  if (!recipient) return undefined;
  const { link } = recipient;
  const asset = ctx.assets.peek(link, assetId);
  if (!asset) return undefined;
  checkLinkAccess(link.link, 'link.view', [assetId], [asset.id]);
  const d = derivativeOf(asset, kind);
  const bytes = d && ctx.derivatives.get(d.cacheKey);
  if (!d || !bytes) return undefined;
  return { ...derivativeAnswer(link, asset, kind, d, ifNoneMatch), bytes };
}
