import { type DomainEvent, WEBHOOK_EVENT_TYPES } from '@immish/contracts';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema.ts';

const subscribable = new Set<string>(WEBHOOK_EVENT_TYPES);

/**
 * Which events of a relay batch nobody listens to on the `webhooks` queue (issue 17's note, issue 18): a
 * subscribable event whose owner has no enabled endpoint subscribed to its type. Those skip that queue; the rest
 * go to the webhook worker, which decides exactly (domain `planDeliveries`).
 *
 * Conservative by construction: the owner is read the way domain `eventOwner` reads it — `ownerId` in the event,
 * else the link's owner, else the album's owner — and an event whose owner this cannot tell (a deleted link, an
 * upload batch, an export) is never skipped. `webhook.ping` and `webhook.retry-requested` are never skipped.
 *
 * Decision: no cache. The relay asks PostgreSQL inside its own batch transaction, after claiming the rows, so an
 * endpoint committed before an event was written is always seen (READ COMMITTED: each statement sees every commit
 * before it): an endpoint receives every event written after its creation response, with no invalidation race.
 * The cost is per batch (up to 500 events), not per event: one `EXISTS` when nobody has an enabled endpoint, else
 * at most three indexed lookups.
 */
export async function eventsWithoutWebhookAudience(
  db: Kysely<Database>,
  events: readonly DomainEvent[],
): Promise<Set<string>> {
  const candidates = events.filter((e) => subscribable.has(e.type));
  if (candidates.length === 0) return new Set();
  const any = await db
    .selectFrom('webhook_endpoints')
    .select(sql<number>`1`.as('one'))
    .where('enabled', '=', true)
    .limit(1)
    .executeTakeFirst();
  if (!any) return new Set(candidates.map((e) => e.id));

  const str = (e: DomainEvent, k: string) => {
    const v = (e.data as Record<string, unknown>)[k];
    return typeof v === 'string' ? v : null;
  };
  const linkIds = new Set<string>();
  const albumIds = new Set<string>();
  for (const e of candidates) {
    if (str(e, 'ownerId')) continue;
    const linkId = str(e, 'linkId');
    if (linkId) linkIds.add(linkId);
    else {
      const albumId = str(e, 'albumId');
      if (albumId) albumIds.add(albumId);
    }
  }
  const [links, albums] = await Promise.all([
    linkIds.size === 0
      ? []
      : db
          .selectFrom('shared_links')
          .select(['id', 'owner_id'])
          .where('id', 'in', [...linkIds])
          .execute(),
    albumIds.size === 0
      ? []
      : db
          .selectFrom('albums')
          .select(['id', 'owner_id'])
          .where('id', 'in', [...albumIds])
          .execute(),
  ]);
  const linkOwner = new Map(links.map((r) => [r.id, r.owner_id]));
  const albumOwner = new Map(albums.map((r) => [r.id, r.owner_id]));
  const ownerOf = (e: DomainEvent): string | null => {
    const ownerId = str(e, 'ownerId');
    if (ownerId) return ownerId;
    const linkId = str(e, 'linkId');
    if (linkId) return linkOwner.get(linkId) ?? null;
    const albumId = str(e, 'albumId');
    if (albumId) return albumOwner.get(albumId) ?? null;
    return null;
  };
  const owners = new Set<string>();
  for (const e of candidates) {
    const o = ownerOf(e);
    if (o) owners.add(o);
  }
  if (owners.size === 0) return new Set();
  const endpoints = await db
    .selectFrom('webhook_endpoints')
    .select(['owner_id', 'events'])
    .where('enabled', '=', true)
    .where('owner_id', 'in', [...owners])
    .execute();
  const wanted = new Map<string, Set<string>>();
  for (const ep of endpoints) {
    const set = wanted.get(ep.owner_id) ?? new Set<string>();
    for (const t of ep.events) set.add(t);
    wanted.set(ep.owner_id, set);
  }
  const skip = new Set<string>();
  for (const e of candidates) {
    const o = ownerOf(e);
    if (o !== null && !wanted.get(o)?.has(e.type)) skip.add(e.id);
  }
  return skip;
}
