import type { LinkInvalidation } from '@immish/contracts';

/**
 * What a cached value depends on: its link, that link's album, and the assets it shows (`assetIds`; absent:
 * any asset). The link-invalidation messages drop the entries whose scope they name (`dropsScope`).
 */
export interface CacheScope {
  linkId: string;
  albumId: string | null;
  assetIds?: ReadonlySet<string>;
}

/** Does this invalidation message concern an entry of this scope? (A message naming nothing concerns all.) */
export function dropsScope(msg: LinkInvalidation, scope: CacheScope): boolean {
  const assets = msg.assetIds?.length ? msg.assetIds : undefined;
  if (!msg.linkId && !msg.albumId && !assets) return true;
  if (msg.linkId && scope.linkId === msg.linkId) return true;
  if (msg.albumId && scope.albumId === msg.albumId) return true;
  if (!assets) return false;
  const shown = scope.assetIds;
  return shown === undefined || assets.some((id) => shown.has(id));
}

/**
 * Per-process caches of what recipients ask for again and again (the link's assets, by link and asset id).
 * Every entry belongs to one link (and its album, and the assets it shows): the link-invalidation messages drop
 * them with the link, and entries older than the TTL (LINK_CACHE_TTL_MS) are not used, so nothing is stale for
 * longer than that even when a change sends no message.
 */
export class LinkScopedCache<V> {
  readonly #entries = new Map<string, { value: V; at: number; scope: CacheScope }>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** loads in flight: concurrent misses of one key share one load (no stampede when an entry expires) */
  readonly #loading = new Map<string, Promise<V>>();
  #generation = 0;

  /** `ttlMs`: LINK_CACHE_TTL_MS (0 caches nothing); `now`: the clock (Date.now) */
  constructor(opts: { maxEntries: number; ttlMs: number; now?: () => number }) {
    this.#maxEntries = opts.maxEntries;
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  /** The entry when it is younger than the TTL (synchronous: the media fast path answers from memory). */
  get(key: string): V | undefined {
    return this.#fresh(key, this.#now());
  }

  #fresh(key: string, now: number): V | undefined {
    const hit = this.#entries.get(key);
    if (!hit) return undefined;
    if (now - hit.at >= this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** `generation`: taken when the load started; a value read before an invalidation is not cached after it */
  #set(key: string, value: V, scope: CacheScope, now: number, generation: number): void {
    if (generation !== this.#generation) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, at: now, scope });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /**
   * The cached value, or the result of `load` (cached for the TTL). Concurrent callers of a missing key share
   * one load. Failures are not cached.
   */
  async getOrLoad(key: string, scope: CacheScope, load: () => Promise<V>): Promise<V> {
    const now = this.#now();
    const hit = this.#fresh(key, now);
    if (hit !== undefined) return hit;
    const pending = this.#loading.get(key);
    if (pending) return pending;
    const generation = this.#generation;
    const promise: Promise<V> = load()
      .then((value) => {
        this.#set(key, value, scope, now, generation);
        return value;
      })
      .finally(() => {
        if (this.#loading.get(key) === promise) this.#loading.delete(key);
      });
    this.#loading.set(key, promise);
    return promise;
  }

  invalidate(msg: LinkInvalidation): void {
    this.#generation++;
    this.#loading.clear();
    for (const [k, e] of this.#entries) if (dropsScope(msg, e.scope)) this.#entries.delete(k);
  }

  clear(): void {
    this.#generation++;
    this.#loading.clear();
    this.#entries.clear();
  }
}

/**
 * Small immutable blobs (thumbnails, keyed by storage key + version) kept in memory up to a byte budget,
 * least recently used out first. Access control is NOT here: callers check the link and the asset first.
 */
export class ByteLru {
  readonly #entries = new Map<string, Buffer>();
  readonly #budget: number;
  readonly #maxItem: number;
  #bytes = 0;

  constructor(budgetBytes: number, maxItemBytes: number) {
    this.#budget = budgetBytes;
    this.#maxItem = maxItemBytes;
  }

  get maxItemBytes(): number {
    return this.#maxItem;
  }

  get(key: string): Buffer | undefined {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: Buffer): void {
    if (value.length > this.#maxItem || this.#budget === 0) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= old.length;
      this.#entries.delete(key);
    }
    this.#entries.set(key, value);
    this.#bytes += value.length;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.#budget) break;
      this.#entries.delete(k);
      this.#bytes -= v.length;
    }
  }
}
