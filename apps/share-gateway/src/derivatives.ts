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

/** Where a derivative is stored, its type and its version (ETag, memory cache key); null when not ready. */
export function derivativeOf(asset: AssetRow, kind: DerivativeKind): Derivative | null {
  const key = kind === 'thumbnail' ? asset.thumbnail_key : asset.preview_key;
  if (!key) return null;
  const type = contentTypeFromKey(key) ?? (kind === 'thumbnail' ? 'image/webp' : 'image/jpeg');
  // derivatives are rewritten only by a re-ingest, which also bumps updated_at
  const version = asset.updated_at.getTime().toString(36);
  return { key, type, etag: `"${kind}-${asset.id}-${version}"`, cacheKey: `${key}#${version}` };
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
): { status: 200 | 304; headers: Record<string, string> } {
  const headers: Record<string, string> = { etag: d.etag, 'cache-control': IMMUTABLE };
  if (etagMatches(ifNoneMatch, d.etag)) return { status: 304, headers };
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
): { status: 200 | 304; headers: Record<string, string>; bytes: Buffer } | undefined {
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
