import type { LinkInvalidation } from '@immish/contracts';
import { type CacheScope, ScopedEntries } from './cache.ts';
import type { EncodedBody } from './encoded-body.ts';

/**
 * Response bodies of a link kept ready to send (the `/me` body of a 1,000-asset album: 1.2 MB of JSON, ~85 KB
 * once Brotli-compressed), rebuilt when what they show changed, not on a timer (issue 17: a rebuild every second
 * stalled the event loop for tens of milliseconds).
 *
 * - **Changes announced by events** (the outbox relay's link-invalidation messages: the link, its album, an asset
 *   it shows) drop the body at once; the next request builds it again (concurrent requests share that build).
 * - **The link, owner and album rows**, which the link resolver re-reads every LINK_CACHE_TTL_MS anyway, are
 *   compared by `head` (what of them the body shows): a body built from other rows is rebuilt, so a change to
 *   them shows within LINK_CACHE_TTL_MS even if its message is lost, as before.
 * - **A safety net, SAFETY_TTL_MS (60 s)**: a body older than that is rebuilt in the background while the
 *   current one is still served. It bounds what a lost message can leave stale (pub/sub is at-most-once: a
 *   message published while a cluster client moves its subscription is missed, README "Redis") and the few
 *   asset changes that publish no event (the still of a Live Photo paired later with a video outside the link).
 *   Why 60 s: such losses are rare and a minute is short for them, while a rebuild per hot link per minute costs
 *   nothing measurable (one query and ~30 ms of CPU, mostly on the thread pool, none of it holding requests).
 * - **A body that shows something in progress** (`volatile`: a video rendition being made, whose progress
 *   changes without events) is refreshed the same way every LINK_CACHE_TTL_MS instead.
 *
 * LINK_CACHE_TTL_MS=0 caches nothing (every request builds its body), as for the other link caches.
 */
export const SAFETY_TTL_MS = 60_000;

export interface BuiltBody {
  body: EncodedBody;
  /** the assets the body lists; absent when it lists only some of the link's (a message about any asset drops it) */
  assetIds?: ReadonlySet<string>;
  /** shows state that changes without an event (refreshed every LINK_CACHE_TTL_MS) */
  volatile: boolean;
}

interface Entry {
  built: BuiltBody;
  head: string;
  scope: CacheScope;
  at: number;
  refreshing: boolean;
}

export class LinkBodyCache {
  readonly #store: ScopedEntries<Entry, EncodedBody>;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** `ttlMs`: LINK_CACHE_TTL_MS (0 caches nothing; volatile bodies are refreshed this often) */
  constructor(opts: { maxEntries: number; ttlMs: number; now?: () => number }) {
    this.#store = new ScopedEntries(opts.maxEntries);
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  /**
   * The body cached under `key` when it was built from rows showing the same `head`, else a new one from `build`
   * (shared by concurrent callers). A body past its age is served while its successor is built in the background.
   */
  get(
    key: string,
    scope: Omit<CacheScope, 'assetIds'>,
    head: string,
    build: () => Promise<BuiltBody>,
  ): Promise<EncodedBody> {
    if (this.#ttlMs === 0) return build().then((b) => b.body);
    const hit = this.#store.entries.get(key);
    if (hit && hit.head === head) {
      const ttl = this.#ttl(hit);
      if (!hit.refreshing && this.#now() - hit.at >= ttl) this.#refresh(key, hit, scope, head, build);
      return Promise.resolve(hit.built.body);
    }
    return this.#store.shareLoad(`${key}\u0000${head}`, () => {
      const generation = this.#store.generation;
      return build().then((built) => {
        this.#set(key, built, scope, head, generation);
        // every coding made ahead, off the event loop (zlib's thread pool), for the requests that follow
        built.body.precompress();
        return built.body;
      });
    });
  }

  /**
   * The body `get` would give at once, when it needs nothing else: cached, built from rows showing `head`, not
   * past its age (that one `get` serves while it starts its successor). For answers given from memory (the
   * fast path); anything else is undefined and goes through `get`.
   */
  peek(key: string, head: string): EncodedBody | undefined {
    if (this.#ttlMs === 0) return undefined;
    const hit = this.#store.entries.get(key);
    if (!hit || hit.head !== head) return undefined;
    return this.#now() - hit.at < this.#ttl(hit) ? hit.built.body : undefined;
  }

  /** How long a body is served before its successor is built: volatile ones every TTL, others the safety net. */
  #ttl(entry: Entry): number {
    return entry.built.volatile ? this.#ttlMs : Math.max(this.#ttlMs, SAFETY_TTL_MS);
  }

  /** Builds the successor of a body past its age, compressed before it replaces the one being served. */
  #refresh(
    key: string,
    entry: Entry,
    scope: Omit<CacheScope, 'assetIds'>,
    head: string,
    build: () => Promise<BuiltBody>,
  ): void {
    entry.refreshing = true;
    const generation = this.#store.generation;
    build()
      .then(async (built) => {
        await built.body.precompress();
        this.#set(key, built, scope, head, generation);
      })
      .catch(() => {
        // the current body stays; the next request past its age tries again
      })
      .finally(() => {
        entry.refreshing = false;
      });
  }

  /** `generation`: taken when the build started; a body read before an invalidation is not kept after it */
  #set(key: string, built: BuiltBody, scope: Omit<CacheScope, 'assetIds'>, head: string, generation: number): void {
    const entryScope: CacheScope = { ...scope, ...(built.assetIds ? { assetIds: built.assetIds } : {}) };
    this.#store.store(key, { built, head, scope: entryScope, at: this.#now(), refreshing: false }, generation);
  }

  invalidate(msg: LinkInvalidation): void {
    this.#store.invalidate(msg);
  }

  clear(): void {
    this.#store.clear();
  }
}
