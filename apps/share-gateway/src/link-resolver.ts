import { LINK_INVALIDATION_CHANNEL, type LinkInvalidation } from '@immish/contracts';
import type { AlbumRow, Db, SharedLinkRow, UserRow } from '@immish/db';
import { linkExpired, looksLikeLinkKey, normalizeSlug } from '@immish/domain';
import type { RedisConnection } from '@immish/runtime';
import { unauthenticated } from '@immish/runtime';

/**
 * Link resolution (docs/spec.md §5.1): which shared link a recipient request names, and whether it still works.
 * One module for every recipient route (JSON, media, exports, uploads, pages).
 *
 * Resolved links are cached per process (key/slug → link). The outbox relay announces link, album and asset
 * changes on `${QUEUE_PREFIX}:link-invalidation`; every gateway replica drops the affected entries as soon
 * as the message arrives, and entries older than LINK_CACHE_TTL_MS are re-read anyway (the fallback when a
 * message is lost, e.g. while Redis reconnects). Expiry is evaluated on every request, never cached.
 */

/** How a request named its link. `segment`: a `/share/:x` path segment, a key or else a slug. */
export type LinkCredential =
  | { kind: 'key'; value: string }
  | { kind: 'slug'; value: string }
  | { kind: 'segment'; value: string };

export interface ActiveLink {
  link: SharedLinkRow;
  /** the link's owner (never deleted: a deleted owner makes the link unknown) */
  owner: UserRow;
  /** the album of an ALBUM link (never deleted: a deleted album makes the link unknown) */
  album: AlbumRow | null;
}

export type LinkLookup =
  | { status: 'active'; link: ActiveLink }
  | { status: 'expired'; expiresAt: Date; link: ActiveLink }
  | { status: 'not-found' };

interface CacheEntry {
  value: ActiveLink | null;
  at: number;
}

const MAX_ENTRIES = 10_000;
const MAX_CREDENTIAL_LENGTH = 512;

const firstString = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
};

/**
 * The credential of a request: the `/share/:key` (or `/s/:slug`) path segment first, then `?key=`, `?slug=`,
 * then the Immich headers `x-immich-share-key` / `x-immich-share-slug`. Null when there is none.
 */
export function credentialOf(req: {
  params?: unknown;
  query?: unknown;
  headers: Record<string, string | string[] | undefined>;
}): LinkCredential | null {
  const params = (req.params ?? {}) as Record<string, unknown>;
  const query = (req.query ?? {}) as Record<string, unknown>;
  const candidates: [LinkCredential['kind'], string | undefined][] = [
    ['segment', firstString(params.key)],
    ['slug', firstString(params.slug)],
    ['key', firstString(query.key)],
    ['slug', firstString(query.slug)],
    ['key', firstString(req.headers['x-immich-share-key'])],
    ['slug', firstString(req.headers['x-immich-share-slug'])],
  ];
  for (const [kind, value] of candidates) {
    if (value !== undefined && value.length > 0) return { kind, value } as LinkCredential;
  }
  return null;
}

/** Immich's wording for a link that does not work (any reason: unknown, deleted, expired, album deleted). */
export function invalidLinkError(cred: LinkCredential) {
  const slugLike = cred.kind === 'slug' || (cred.kind === 'segment' && !looksLikeLinkKey(cred.value));
  return unauthenticated(slugLike ? 'Invalid share slug' : 'Invalid share key');
}

/** A cache kept per link elsewhere (the asset and `/me` body caches): dropped with the link. */
export interface LinkInvalidationListener {
  invalidate(msg: LinkInvalidation): void;
  clear(): void;
}

export interface LinkResolverOptions {
  db: Db;
  ttlMs: number;
  now?: () => number;
  /** caches that must forget a link (or everything) whenever the resolver does */
  dependents?: readonly LinkInvalidationListener[];
}

export class LinkResolver {
  readonly #db: Db;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #loading = new Map<string, Promise<ActiveLink | null>>();
  /** bumped by every invalidation: a read that started before one must not repopulate the cache */
  #generation = 0;
  #subscriber: RedisConnection | null = null;
  readonly #dependents: readonly LinkInvalidationListener[];

  constructor(opts: LinkResolverOptions) {
    this.#db = opts.db;
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
    this.#dependents = opts.dependents ?? [];
  }

  /** Looks the credential up: active, expired (with the date, for the HTML 410 page) or not found. */
  async lookup(cred: LinkCredential, opts: { fresh?: boolean } = {}): Promise<LinkLookup> {
    if (cred.value.length > MAX_CREDENTIAL_LENGTH) return { status: 'not-found' };
    const { cacheKey, byKey, value } = this.#target(cred);
    const found = await this.#cached(
      cacheKey,
      () => (byKey ? this.#byKey(value) : this.#bySlug(value)),
      opts.fresh === true,
    );
    if (!found) return { status: 'not-found' };
    const { link } = found;
    if (link.expires_at && linkExpired(link, new Date(this.#now()))) {
      return { status: 'expired', expiresAt: link.expires_at, link: found };
    }
    return { status: 'active', link: found };
  }

  /**
   * The active link named by the credential when it is in the cache, fresh and not expired; undefined
   * otherwise (then `require` decides). Synchronous: the hot media routes answer from memory without a turn
   * of the event loop.
   */
  peek(cred: LinkCredential): ActiveLink | undefined {
    if (cred.value.length > MAX_CREDENTIAL_LENGTH) return undefined;
    const hit = this.#cache.get(this.#target(cred).cacheKey);
    const now = this.#now();
    if (!hit?.value || now - hit.at >= this.#ttlMs) return undefined;
    const { link } = hit.value;
    if (link.expires_at && linkExpired(link, new Date(now))) return undefined;
    return hit.value;
  }

  /**
   * The active link named by the credential, or 401 `Invalid share key|slug` (Immich-compatible). `fresh`
   * reads the database even on a cache hit (unlocking must see a password change at once).
   */
  async require(cred: LinkCredential | null, opts: { fresh?: boolean } = {}): Promise<ActiveLink> {
    if (!cred) throw unauthenticated('Authentication required: this request needs a share key or slug');
    const res = await this.lookup(cred, opts);
    if (res.status !== 'active') throw invalidLinkError(cred);
    return res.link;
  }

  /**
   * Drops cached entries of a link and/or of every link of an album (an empty message drops everything), and
   * tells the dependent caches, which also drop what shows the message's assets. A link row shows no asset but
   * its album's cover (`thumbnail_asset_id`, replaced when that asset is trashed): those links are dropped too.
   */
  invalidate(msg: LinkInvalidation): void {
    this.#generation++;
    this.#loading.clear(); // reads started before the change must not serve requests that come after it
    for (const d of this.#dependents) d.invalidate(msg);
    const assets = msg.assetIds?.length ? new Set(msg.assetIds) : null;
    if (!msg.linkId && !msg.albumId && !assets) {
      this.#cache.clear();
      return;
    }
    for (const [k, entry] of this.#cache) {
      const v = entry.value;
      if (!v) continue;
      const cover = v.album?.thumbnail_asset_id;
      if (
        (msg.linkId && v.link.id === msg.linkId) ||
        (msg.albumId && v.link.album_id === msg.albumId) ||
        (assets && cover && assets.has(cover))
      ) {
        this.#cache.delete(k);
      }
    }
  }

  clear(): void {
    this.#generation++;
    this.#loading.clear();
    this.#cache.clear();
    for (const d of this.#dependents) d.clear();
  }

  /**
   * Subscribes `subscriber` (a connection of its own) to the invalidation channel. After a reconnect the
   * whole cache is dropped, since messages may have been missed meanwhile.
   */
  async subscribe(subscriber: RedisConnection, prefix: string): Promise<void> {
    const channel = `${prefix}:${LINK_INVALIDATION_CHANNEL}`;
    this.#subscriber = subscriber;
    subscriber.on('message', (ch: string, message: string) => {
      if (ch !== channel) return;
      try {
        const msg = JSON.parse(message) as LinkInvalidation;
        const assetIds = Array.isArray(msg.assetIds) ? msg.assetIds.filter((id) => typeof id === 'string') : [];
        this.invalidate({
          ...(typeof msg.linkId === 'string' ? { linkId: msg.linkId } : {}),
          ...(typeof msg.albumId === 'string' ? { albumId: msg.albumId } : {}),
          ...(assetIds.length > 0 ? { assetIds } : {}),
        });
      } catch {
        this.clear();
      }
    });
    let readyOnce = false;
    subscriber.on('ready', () => {
      if (readyOnce) this.clear();
      readyOnce = true;
    });
    subscriber.on('error', () => {});
    if (subscriber.status === 'ready') readyOnce = true;
    await subscriber.subscribe(channel);
  }

  async close(): Promise<void> {
    const s = this.#subscriber;
    this.#subscriber = null;
    if (s && s.status === 'ready') {
      // bounded: a subscriber waiting out a Redis outage would queue the command forever
      await Promise.race([s.unsubscribe().catch(() => {}), new Promise((r) => setTimeout(r, 500).unref())]);
    }
  }

  /**
   * What a credential names: a key, or a (normalized) slug. A path segment is a key if it looks like one, else
   * a slug (slugs are shorter than keys, so no overlap).
   */
  #target(cred: LinkCredential): { cacheKey: string; byKey: boolean; value: string } {
    if (cred.kind === 'key' || (cred.kind === 'segment' && looksLikeLinkKey(cred.value))) {
      return { cacheKey: `k:${cred.value}`, byKey: true, value: cred.value };
    }
    const slug = normalizeSlug(cred.value);
    return { cacheKey: `s:${slug}`, byKey: false, value: slug };
  }

  async #cached(cacheKey: string, load: () => Promise<ActiveLink | null>, fresh = false): Promise<ActiveLink | null> {
    const now = this.#now();
    const hit = this.#cache.get(cacheKey);
    if (!fresh && hit && now - hit.at < this.#ttlMs) return hit.value;
    // concurrent misses of one key share one read (no stampede when a popular link's entry expires)
    const pending = fresh ? undefined : this.#loading.get(cacheKey);
    if (pending) return pending;
    const generation = this.#generation;
    const loading: Promise<ActiveLink | null> = load().finally(() => {
      if (this.#loading.get(cacheKey) === loading) this.#loading.delete(cacheKey);
    });
    this.#loading.set(cacheKey, loading);
    const value = await loading;
    if (fresh && value) {
      // other names of the same link (key vs slug) must not keep serving the older row
      for (const [k, e] of this.#cache) if (e.value?.link.id === value.link.id) this.#cache.delete(k);
    }
    // misses are not cached: a link created a moment ago must work at once
    if (value && generation === this.#generation && this.#ttlMs > 0) {
      this.#cache.delete(cacheKey);
      this.#cache.set(cacheKey, { value, at: now });
      if (this.#cache.size > MAX_ENTRIES) {
        const oldest = this.#cache.keys().next().value;
        if (oldest !== undefined) this.#cache.delete(oldest);
      }
    } else if (!value) {
      this.#cache.delete(cacheKey);
    }
    return value;
  }

  async #byKey(key: string): Promise<ActiveLink | null> {
    const link = await this.#db.selectFrom('shared_links').selectAll().where('key', '=', key).executeTakeFirst();
    return link ? this.#complete(link) : null;
  }

  async #bySlug(normalizedSlug: string): Promise<ActiveLink | null> {
    const link = await this.#db
      .selectFrom('shared_links')
      .selectAll()
      .where('slug', 'is not', null)
      .where((eb) => eb(eb.fn('lower', ['slug']), '=', normalizedSlug))
      .executeTakeFirst();
    return link ? this.#complete(link) : null;
  }

  /** A link works only while its owner exists and, for an ALBUM link, while its album is not deleted. */
  async #complete(link: SharedLinkRow): Promise<ActiveLink | null> {
    const owner = await this.#db.selectFrom('users').selectAll().where('id', '=', link.owner_id).executeTakeFirst();
    if (!owner || owner.deleted_at) return null;
    if (link.type !== 'ALBUM') return { link, owner, album: null };
    if (!link.album_id) return null;
    const album = await this.#db.selectFrom('albums').selectAll().where('id', '=', link.album_id).executeTakeFirst();
    if (!album || album.deleted_at) return null;
    return { link, owner, album };
  }
}
