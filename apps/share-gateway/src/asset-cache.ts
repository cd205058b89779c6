import type { LinkInvalidation } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { LinkScopedCache } from './cache.ts';
import type { ActiveLink } from './link-resolver.ts';

/** at most this many `<link, asset>` answers per process */
const MAX_ENTRIES = 10_000;

/**
 * The assets a link shows, by link and asset id: a grid of thumbnails asks for each asset again and again, and
 * membership is checked on every request. Only assets the link shows are cached (the loader refuses the others),
 * so a hit IS the membership answer (the thumbnail fast path of `routes/media.ts` relies on it). Entries go with
 * their link, album or asset (the link resolver forwards the invalidation messages) and after LINK_CACHE_TTL_MS.
 */
export class LinkAssetCache {
  readonly #cache: LinkScopedCache<AssetRow>;

  constructor(opts: { ttlMs: number; now?: () => number }) {
    this.#cache = new LinkScopedCache<AssetRow>({ maxEntries: MAX_ENTRIES, ...opts });
  }

  /** The cached asset when the link shows it and the entry is fresh; undefined when that needs the database. */
  peek(link: ActiveLink, assetId: string): AssetRow | undefined {
    return this.#cache.get(`${link.link.id}:${assetId}`);
  }

  /** The cached asset, or `load`'s (which throws for an asset the link does not show: nothing is cached then). */
  getOrLoad(link: ActiveLink, assetId: string, load: () => Promise<AssetRow>): Promise<AssetRow> {
    return this.#cache.getOrLoad(
      `${link.link.id}:${assetId}`,
      { linkId: link.link.id, albumId: link.link.album_id, assetIds: new Set([assetId]) },
      load,
    );
  }

  invalidate(msg: LinkInvalidation): void {
    this.#cache.invalidate(msg);
  }

  clear(): void {
    this.#cache.clear();
  }
}
