import type { EventType } from './events.ts';
import { WEBHOOK_EVENT_TYPES } from './http/webhooks.ts';

/** BullMQ queue names. Their key prefix: queuePrefix. */
export const Queues = {
  ingest: 'ingest',
  exports: 'exports',
  maintenance: 'maintenance',
  /** web-playable video renditions, made by the ingest worker process */
  renditions: 'renditions',
  /** events owners may subscribe to, and the webhook.* requests: fanned out to endpoints by the webhook worker */
  webhooks: 'webhooks',
  /** one job per attempt of one delivery (one event to one endpoint), made by the webhook worker */
  webhookDeliveries: 'webhook-deliveries',
} as const;
export type QueueName = (typeof Queues)[keyof typeof Queues];

/**
 * The BullMQ key prefix of one queue. Every key of a queue is used together in BullMQ's scripts, so on a Redis
 * Cluster they must share a slot: there each queue gets a hash tag of its own, `{immish:ingest}`, so the queues
 * land on different slots (and so nodes) instead of all on one. Decision: one node and Sentinel keep the plain
 * QUEUE_PREFIX, today's key names, so upgrading an existing deployment moves no key and loses no waiting job;
 * moving to a cluster is a new Redis anyway (README "Redis: one node, Sentinel or Cluster": drain first).
 * Braces in QUEUE_PREFIX (the old advice `{immish}`) are dropped on a cluster, since a tag cannot nest.
 */
export function queuePrefix(base: string, queue: QueueName, cluster: boolean): string {
  return cluster ? `{${base.replace(/[{}]/g, '')}:${queue}}` : base;
}

/** Redis pub/sub channel (under the queue prefix) on which the relay announces link changes to gateways. */
export const LINK_INVALIDATION_CHANNEL = 'link-invalidation';

export interface EventRoute {
  /** queues that receive the event as a job (job id = event id, job name = event type) */
  queues: readonly QueueName[];
  /**
   * announce on the gateway cache-invalidation channel: the link, album and assets the event names (publisher.ts
   * builds the LinkInvalidation from its data); gateways drop what they cached of them
   */
  invalidateLinkCache?: boolean;
}

const none: EventRoute = { queues: [] };

/** docs/spec.md §6 routing: one table. Events not routed to a queue are still recorded and marked published. */
const ownRoutes: Record<EventType, EventRoute> = {
  'shared-link.created': none,
  'shared-link.updated': { queues: [], invalidateLinkCache: true },
  'shared-link.deleted': { queues: [], invalidateLinkCache: true },
  'shared-link.assets-added': { queues: [], invalidateLinkCache: true },
  'shared-link.assets-removed': { queues: [], invalidateLinkCache: true },
  'shared-link.viewed': none,
  'shared-link.unlocked': none,
  'shared-link.upload-received': none,
  'shared-link.upload-approved': { queues: [], invalidateLinkCache: true },
  'shared-link.upload-rejected': none,
  'album.created': none,
  'album.updated': { queues: [], invalidateLinkCache: true },
  'album.deleted': { queues: [], invalidateLinkCache: true },
  // what an ALBUM link shows changed: its cached `/me` body is rebuilt (issue 17: bodies are rebuilt on events)
  'album.assets-added': { queues: [], invalidateLinkCache: true },
  'album.assets-removed': { queues: [], invalidateLinkCache: true },
  'album.member-added': none,
  'album.member-updated': none,
  'album.member-removed': none,
  'asset.stored': { queues: [Queues.ingest] },
  // The asset events name no link or album (an asset can be in many): the message names the assets, and every
  // gateway drops what it cached that shows them (a `/me` body listing one, the asset's membership), so an asset
  // that became ready (thumbnail, EXIF), failed (hidden) or was trashed changes every link at once.
  'asset.ingested': { queues: [], invalidateLinkCache: true },
  'asset.trashed': { queues: [], invalidateLinkCache: true },
  'asset.ingest-failed': { queues: [], invalidateLinkCache: true },
  'asset.rendition-requested': { queues: [Queues.renditions] },
  'upload-batch.completed': none,
  'export.requested': { queues: [Queues.exports] },
  'export.progress': none,
  'export.completed': none,
  'export.failed': none,
  'webhook.ping': { queues: [Queues.webhooks] },
  'webhook.retry-requested': { queues: [Queues.webhooks] },
};

/**
 * The routing table: `ownRoutes`, plus the `webhooks` queue for every event an owner may subscribe to
 * (contracts WEBHOOK_EVENT_TYPES), so the webhook worker hears each of them once, whether or not anyone subscribed.
 */
export const eventRoutes: Record<EventType, EventRoute> = Object.fromEntries(
  Object.entries(ownRoutes).map(([type, route]) => [
    type,
    (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type)
      ? { ...route, queues: [...route.queues, Queues.webhooks] }
      : route,
  ]),
) as Record<EventType, EventRoute>;

/**
 * Message published on LINK_INVALIDATION_CHANNEL: what changed. A gateway drops the cached entries of the link,
 * of every link of the album, and every cached entry showing one of the assets; a message naming nothing drops
 * everything (a gateway that does not know `assetIds` reads an asset message so).
 */
export interface LinkInvalidation {
  linkId?: string;
  albumId?: string;
  assetIds?: string[];
}

/** Jobs that are not events: the repeatable cleanups (expired exports, link activity past its retention). */
export const MaintenanceJobs = {
  expireExports: 'expire-exports',
  purgeLinkActivity: 'purge-link-activity',
  /** issue 19: pending guest uploads older than UPLOAD_REVIEW_TTL_DAYS, removed like a rejection */
  expireLinkUploads: 'expire-link-uploads',
} as const;
