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
 * The bookkeeping both link-scoped caches share (`LinkScopedCache` below, `LinkBodyCache` in link-bodies.ts): the
 * entries by key with their scope, the loads in flight (concurrent misses share one), and the generation that
 * keeps a value read before an invalidation from being stored after it. At most `maxEntries`, oldest out first.
 */
export class ScopedEntries<E extends { scope: CacheScope }, L> {
  readonly entries = new Map<string, E>();
  /** loads in flight: concurrent misses of one key share one load (no stampede when an entry expires) */
  readonly loading = new Map<string, Promise<L>>();
  readonly #maxEntries: number;
  #generation = 0;

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries;
  }

  /** to pass to `store`: taken when a load starts */
  get generation(): number {
    return this.#generation;
  }

  /** Stores the entry unless an invalidation came since `generation` was taken. */
  store(key: string, entry: E, generation: number): void {
    if (generation !== this.#generation) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.#maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  /** `load()` shared by the callers of one `loadKey` while it runs. */
  shareLoad(loadKey: string, load: () => Promise<L>): Promise<L> {
    const pending = this.loading.get(loadKey);
    if (pending) return pending;
    const promise = load().finally(() => {
      if (this.loading.get(loadKey) === promise) this.loading.delete(loadKey);
    });
    this.loading.set(loadKey, promise);
    return promise;
  }

  invalidate(msg: LinkInvalidation): void {
    this.#generation++;
    this.loading.clear();
    for (const [k, e] of this.entries) if (dropsScope(msg, e.scope)) this.entries.delete(k);
  }

  clear(): void {
    this.#generation++;
    this.loading.clear();
    this.entries.clear();
  }
}

/**
 * Per-process caches of what recipients ask for again and again (the link's assets, by link and asset id).
 * Every entry belongs to one link (and its album, and the assets it shows): the link-invalidation messages drop
 * them with the link, and entries older than the TTL (LINK_CACHE_TTL_MS) are not used, so nothing is stale for
 * longer than that even when a change sends no message.
 */
export class LinkScopedCache<V> {
  readonly #store: ScopedEntries<{ value: V; at: number; scope: CacheScope }, V>;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** `ttlMs`: LINK_CACHE_TTL_MS (0 caches nothing); `now`: the clock (Date.now) */
  constructor(opts: { maxEntries: number; ttlMs: number; now?: () => number }) {
    this.#store = new ScopedEntries(opts.maxEntries);
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  /** The entry when it is younger than the TTL (synchronous: the media fast path answers from memory). */
  get(key: string): V | undefined {
    return this.#fresh(key, this.#now());
  }

  #fresh(key: string, now: number): V | undefined {
    const hit = this.#store.entries.get(key);
    if (!hit) return undefined;
    if (now - hit.at >= this.#ttlMs) {
      this.#store.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /**
   * The cached value, or the result of `load` (cached for the TTL). Concurrent callers of a missing key share
   * one load. Failures are not cached.
   */
  async getOrLoad(key: string, scope: CacheScope, load: () => Promise<V>): Promise<V> {
    const now = this.#now();
    const hit = this.#fresh(key, now);
    if (hit !== undefined) return hit;
    return this.#store.shareLoad(key, () => {
      const generation = this.#store.generation;
      return load().then((value) => {
        this.#store.store(key, { value, at: now, scope }, generation);
        return value;
      });
    });
  }

  invalidate(msg: LinkInvalidation): void {
    this.#store.invalidate(msg);
  }

  clear(): void {
    this.#store.clear();
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
