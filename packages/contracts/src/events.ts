import Type from 'typebox';
import { IsoDateTime, Uuid } from './common.ts';

/**
 * docs/spec.md §6: every state change writes one of these into `outbox_events` in the same transaction.
 * The envelope is stable; `data` is typed per event type below.
 */
const Ids = Type.Array(Uuid);

export const EventData = {
  'shared-link.created': Type.Object({
    linkId: Uuid,
    ownerId: Uuid,
    linkType: Type.Union([Type.Literal('ALBUM'), Type.Literal('INDIVIDUAL')]),
    albumId: Type.Union([Uuid, Type.Null()]),
  }),
  'shared-link.updated': Type.Object({
    linkId: Uuid,
    changed: Type.Array(Type.String()),
    passwordChanged: Type.Boolean(),
  }),
  'shared-link.deleted': Type.Object({ linkId: Uuid }),
  'shared-link.assets-added': Type.Object({ linkId: Uuid, assetIds: Ids }),
  'shared-link.assets-removed': Type.Object({ linkId: Uuid, assetIds: Ids }),
  /** views counted by one counter write (the gateway adds up a link's views, written at most once a second) */
  'shared-link.viewed': Type.Object({ linkId: Uuid, views: Type.Integer({ minimum: 1 }) }),
  'shared-link.unlocked': Type.Object({ linkId: Uuid }),
  'shared-link.upload-received': Type.Object({
    linkId: Uuid,
    ownerId: Uuid,
    batchId: Type.Union([Uuid, Type.Null()]),
    assetIds: Ids,
  }),
  /** issue 19 item 3: the owner approved pending uploads of a reviewed link (they joined the album/link) */
  'shared-link.upload-approved': Type.Object({ linkId: Uuid, ownerId: Uuid, assetIds: Ids }),
  /** the owner rejected pending uploads (or they expired: `expired`): assets deleted, bytes removed from storage */
  'shared-link.upload-rejected': Type.Object({
    linkId: Uuid,
    ownerId: Uuid,
    assetIds: Ids,
    expired: Type.Optional(Type.Boolean()),
  }),
  'album.created': Type.Object({ albumId: Uuid, ownerId: Uuid }),
  'album.updated': Type.Object({ albumId: Uuid, changed: Type.Array(Type.String()) }),
  'album.deleted': Type.Object({ albumId: Uuid }),
  'album.assets-added': Type.Object({ albumId: Uuid, assetIds: Ids }),
  'album.assets-removed': Type.Object({ albumId: Uuid, assetIds: Ids }),
  'album.member-added': Type.Object({ albumId: Uuid, userId: Uuid, role: Type.String() }),
  'album.member-updated': Type.Object({ albumId: Uuid, userId: Uuid, role: Type.String() }),
  'album.member-removed': Type.Object({ albumId: Uuid, userId: Uuid }),
  'asset.stored': Type.Object({
    assetId: Uuid,
    ownerId: Uuid,
    batchId: Type.Union([Uuid, Type.Null()]),
    /** where the asset goes once ingested (upload through a link / into an album) */
    albumId: Type.Optional(Uuid),
    sharedLinkId: Type.Optional(Uuid),
  }),
  'asset.ingested': Type.Object({ assetId: Uuid, ownerId: Uuid, batchId: Type.Union([Uuid, Type.Null()]) }),
  /** assets moved to their owner's trash (one event per request): hidden from everyone else from now on */
  'asset.trashed': Type.Object({ ownerId: Uuid, assetIds: Ids }),
  'asset.ingest-failed': Type.Object({
    assetId: Uuid,
    ownerId: Uuid,
    batchId: Type.Union([Uuid, Type.Null()]),
    reason: Type.String(),
  }),
  /**
   * A video whose original a browser cannot play (docs: README "Formats"): the ingest worker process makes an
   * H.264/AAC MP4 rendition (queue `renditions`) and stores it beside the original.
   */
  'asset.rendition-requested': Type.Object({ assetId: Uuid, ownerId: Uuid }),
  'upload-batch.completed': Type.Object({
    batchId: Uuid,
    total: Type.Integer(),
    ready: Type.Integer(),
    duplicate: Type.Integer(),
    failed: Type.Integer(),
  }),
  'export.requested': Type.Object({ exportId: Uuid }),
  'export.progress': Type.Object({ exportId: Uuid, bytesDone: Type.Integer(), bytesTotal: Type.Integer() }),
  'export.completed': Type.Object({ exportId: Uuid, parts: Type.Integer(), bytesTotal: Type.Integer() }),
  'export.failed': Type.Object({ exportId: Uuid, error: Type.String() }),
  /** an owner asked for a test delivery to one of their webhook endpoints (README "Webhooks and link activity") */
  'webhook.ping': Type.Object({ webhookId: Uuid, ownerId: Uuid }),
  /** an owner asked for one delivery to be attempted again now */
  'webhook.retry-requested': Type.Object({ webhookId: Uuid, deliveryId: Uuid }),
} as const;

export type EventType = keyof typeof EventData;
export const eventTypes = Object.keys(EventData) as EventType[];
export type EventPayload<T extends EventType> = Type.Static<(typeof EventData)[T]>;

export const ActorType = Type.Union([Type.Literal('user'), Type.Literal('link'), Type.Literal('system')]);
export const Actor = Type.Object({ type: ActorType, id: Type.Union([Type.String(), Type.Null()]) });
export type Actor = Type.Static<typeof Actor>;

export const SubjectType = Type.Union([
  Type.Literal('shared-link'),
  Type.Literal('album'),
  Type.Literal('asset'),
  Type.Literal('upload-batch'),
  Type.Literal('export'),
  Type.Literal('webhook'),
]);
export const Subject = Type.Object({ type: SubjectType, id: Uuid });
export type Subject = Type.Static<typeof Subject>;

export const EventEnvelope = Type.Object({
  id: Type.String({ description: 'UUIDv7: time-ordered' }),
  type: Type.Union(eventTypes.map((t) => Type.Literal(t))),
  version: Type.Literal(1),
  occurredAt: IsoDateTime,
  actor: Actor,
  subject: Subject,
  correlationId: Type.Optional(Type.String()),
  data: Type.Record(Type.String(), Type.Unknown()),
});

export interface DomainEvent<T extends EventType = EventType> {
  id: string;
  type: T;
  version: 1;
  occurredAt: string;
  actor: Actor;
  subject: Subject;
  correlationId?: string;
  data: EventPayload<T>;
}

/** What a writer hands to the outbox; id and time are assigned there. */
export interface NewEvent<T extends EventType = EventType> {
  type: T;
  actor: Actor;
  subject: Subject;
  data: EventPayload<T>;
  correlationId?: string;
}

export function isEventOfType<T extends EventType>(event: DomainEvent, type: T): event is DomainEvent<T> {
  return event.type === type;
}
