import Type from 'typebox';
import { IsoDateTime, Uuid } from '../common.ts';
import type { EventType } from '../events.ts';

/**
 * Webhooks (issue 18, README "Webhooks and link activity"): an owner's HTTPS endpoints that receive the owner's
 * own events, signed per the Standard Webhooks specification, delivered at least once by the webhook worker.
 */

/**
 * The events an owner may subscribe to: the project's own event names (docs/spec.md §6). Left out: internal steps
 * (`asset.stored` before ingest, `asset.rendition-requested`, `export.progress` every few MB) and the `webhook.*`
 * requests themselves. A `webhook.ping` is delivered to the one endpoint it was asked for, whatever its filter.
 */
export const WEBHOOK_EVENT_TYPES = [
  'shared-link.created',
  'shared-link.updated',
  'shared-link.deleted',
  'shared-link.assets-added',
  'shared-link.assets-removed',
  'shared-link.viewed',
  'shared-link.unlocked',
  'shared-link.upload-received',
  'shared-link.upload-approved',
  'shared-link.upload-rejected',
  'album.created',
  'album.updated',
  'album.deleted',
  'album.assets-added',
  'album.assets-removed',
  'album.member-added',
  'album.member-updated',
  'album.member-removed',
  'asset.ingested',
  'asset.trashed',
  'asset.ingest-failed',
  'upload-batch.completed',
  'export.requested',
  'export.completed',
  'export.failed',
] as const satisfies readonly EventType[];
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WebhookEventTypeSchema = Type.Enum([...WEBHOOK_EVENT_TYPES], {
  description: 'an event type an owner may subscribe to',
});

/** Deliveries to one endpoint in flight at once (across every worker process). */
export const WEBHOOK_MAX_CONCURRENCY = 4;

const Url = Type.String({ minLength: 1, maxLength: 2048, description: 'https:// URL that receives the events' });
const Events = Type.Array(WebhookEventTypeSchema, {
  minItems: 1,
  maxItems: WEBHOOK_EVENT_TYPES.length,
  uniqueItems: true,
});
const Description = Type.String({ maxLength: 500 });
const Concurrency = Type.Integer({
  minimum: 1,
  maximum: WEBHOOK_MAX_CONCURRENCY,
  description: 'deliveries to this endpoint in flight at once (default 4)',
});

export const WebhookCreateDto = Type.Object(
  {
    url: Url,
    events: Events,
    description: Type.Optional(Description),
    enabled: Type.Optional(Type.Boolean()),
    concurrency: Type.Optional(Concurrency),
  },
  { additionalProperties: false },
);
export type WebhookCreateDto = Type.Static<typeof WebhookCreateDto>;

export const WebhookUpdateDto = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    description: Type.Optional(Description),
    /** true re-enables an endpoint the worker disabled (and clears `disabledReason`) */
    enabled: Type.Optional(Type.Boolean()),
    concurrency: Type.Optional(Concurrency),
  },
  { additionalProperties: false },
);
export type WebhookUpdateDto = Type.Static<typeof WebhookUpdateDto>;

export const WebhookDto = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.String(),
  enabled: Type.Boolean(),
  concurrency: Type.Integer(),
  /** why the worker disabled the endpoint (410 Gone, or failing for the whole retry window); null when it did not */
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  disabledAt: Type.Union([IsoDateTime, Type.Null()]),
  /** since when every delivery has failed (null after any success) */
  failingSince: Type.Union([IsoDateTime, Type.Null()]),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
});
export type WebhookDto = Type.Static<typeof WebhookDto>;

/** POST /api/webhooks only: the signing secret, shown this once. */
export const WebhookCreatedDto = Type.Intersect([WebhookDto, Type.Object({ secret: Type.String() })]);
export type WebhookCreatedDto = Type.Static<typeof WebhookCreatedDto>;

export const WebhookDeliveryStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
]);

export const WebhookAttemptDto = Type.Object({
  attempt: Type.Integer({ minimum: 1 }),
  at: IsoDateTime,
  /** the receiver's HTTP status; null when none came (refused address, timeout, connection error) */
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  latencyMs: Type.Integer(),
  /** the first bytes of the response body (≤ 1 KB, as text) */
  responseSnippet: Type.String(),
});
export type WebhookAttemptDto = Type.Static<typeof WebhookAttemptDto>;

export const WebhookDeliveryDto = Type.Object({
  id: Uuid,
  /** = the `webhook-id` header = the event id */
  eventId: Type.String(),
  eventType: Type.String(),
  status: WebhookDeliveryStatus,
  attempts: Type.Array(WebhookAttemptDto),
  nextAttemptAt: Type.Union([IsoDateTime, Type.Null()]),
  createdAt: IsoDateTime,
});
export type WebhookDeliveryDto = Type.Static<typeof WebhookDeliveryDto>;

export const WebhookDeliveryParams = Type.Object({ id: Uuid, deliveryId: Uuid });
export const WEBHOOK_DELIVERIES_MAX_LIMIT = 100;
export const WEBHOOK_DELIVERIES_DEFAULT_LIMIT = 50;
export const WebhookDeliveriesQuery = Type.Object({
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page (opaque)' }),
  ),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: WEBHOOK_DELIVERIES_MAX_LIMIT,
      default: WEBHOOK_DELIVERIES_DEFAULT_LIMIT,
      description: `deliveries per page (1–${WEBHOOK_DELIVERIES_MAX_LIMIT}, default ${WEBHOOK_DELIVERIES_DEFAULT_LIMIT})`,
    }),
  ),
});
export type WebhookDeliveriesQuery = Type.Static<typeof WebhookDeliveriesQuery>;

/** `GET /api/webhooks/:id/deliveries`: one page of the delivery log, newest first (like a link's activity log). */
export const WebhookDeliveryPageDto = Type.Object({
  items: Type.Array(WebhookDeliveryDto, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()], {
    description: 'pass as `cursor` for the next (older) page; null at the end',
  }),
});
export type WebhookDeliveryPageDto = Type.Static<typeof WebhookDeliveryPageDto>;

/** The body every endpoint receives (Standard Webhooks' recommended envelope). */
export interface WebhookPayload {
  type: string;
  /** when the event happened (ISO-8601) */
  timestamp: string;
  data: Record<string, unknown>;
}

/** Job payload of the `webhook-deliveries` queue. */
export interface WebhookDeliveryJobData {
  deliveryId: string;
}
