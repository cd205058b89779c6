import type { Database, Db, WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow } from '@immish/db';
import { type Kysely, sql } from 'kysely';
import { beforeCursor, type PageCursor } from '../paging.ts';

export async function insertEndpoint(
  db: Kysely<Database>,
  row: {
    owner_id: string;
    url: string;
    description: string;
    events: string[];
    enabled: boolean;
    concurrency: number;
    secret_sealed: string;
  },
): Promise<WebhookEndpointRow> {
  return db.insertInto('webhook_endpoints').values(row).returningAll().executeTakeFirstOrThrow();
}

export const listEndpoints = (db: Db, ownerId: string): Promise<WebhookEndpointRow[]> =>
  db.selectFrom('webhook_endpoints').selectAll().where('owner_id', '=', ownerId).orderBy('created_at').execute();

export const findEndpoint = (db: Kysely<Database>, ownerId: string, id: string) =>
  db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();

export async function updateEndpoint(
  db: Kysely<Database>,
  ownerId: string,
  id: string,
  changes: Partial<
    Pick<
      WebhookEndpointRow,
      'url' | 'events' | 'description' | 'enabled' | 'concurrency' | 'disabled_reason' | 'disabled_at' | 'failing_since'
    >
  >,
): Promise<WebhookEndpointRow | undefined> {
  return db
    .updateTable('webhook_endpoints')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .returningAll()
    .executeTakeFirst();
}

export async function deleteEndpoint(db: Db, ownerId: string, id: string): Promise<boolean> {
  const r = await db
    .deleteFrom('webhook_endpoints')
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
  return r.numDeletedRows > 0n;
}

/** What an attempt reads: the delivery and its endpoint, one row (deliveryWithEndpoint, insertDeliveriesToAttempt). */
const DELIVERY_WITH_ENDPOINT = [
  'd.id',
  'd.event_id',
  'd.event_type',
  'd.body',
  'd.status',
  'd.attempt_count',
  'd.created_at',
  'e.id as endpoint_id',
  'e.owner_id',
  'e.url',
  'e.enabled',
  'e.concurrency',
  'e.secret_sealed',
  'e.failing_since',
] as const;

/**
 * The fan-out of one event in one statement: a delivery for each endpoint `to` selects — the owner's enabled
 * endpoints subscribed to the event's type, or the one endpoint a ping names — written once per (endpoint, event)
 * (a re-run fan-out adds nothing; the no-op DO UPDATE makes RETURNING include the existing rows), returned with
 * their endpoints: what a first attempt needs, without reading the delivery again (a data-modifying CTE).
 */
export function insertDeliveriesToAttempt(
  db: Db,
  event: { id: string; type: string },
  body: string,
  to: { ownerId: string; subscribed: true } | { ownerId: string; endpointId: string },
) {
  return db
    .with('d', (qb) => {
      let endpoints = qb
        .selectFrom('webhook_endpoints')
        .select([
          'id',
          sql<string>`${event.id}::uuid`.as('event_id'),
          sql<string>`${event.type}::text`.as('event_type'),
          sql<string>`${body}::text`.as('body'),
          sql<Date>`now()`.as('next_attempt_at'),
        ])
        .where('owner_id', '=', to.ownerId);
      endpoints =
        'endpointId' in to
          ? endpoints.where('id', '=', to.endpointId)
          : endpoints.where('enabled', '=', true).where(sql<boolean>`${event.type} = ANY(events)`);
      return qb
        .insertInto('webhook_deliveries')
        .columns(['endpoint_id', 'event_id', 'event_type', 'body', 'next_attempt_at'])
        .expression(endpoints)
        .onConflict((oc) =>
          oc.columns(['endpoint_id', 'event_id']).doUpdateSet({ event_id: (eb) => eb.ref('excluded.event_id') }),
        )
        .returning(['id', 'endpoint_id', 'event_id', 'event_type', 'body', 'status', 'attempt_count', 'created_at']);
    })
    .selectFrom('d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select(DELIVERY_WITH_ENDPOINT)
    .execute();
}

/** A delivery and its endpoint: what an attempt needs (DELIVERY_WITH_ENDPOINT). */
export type DeliveryWithEndpoint = NonNullable<Awaited<ReturnType<typeof deliveryWithEndpoint>>>;

/**
 * The fan-out of several events in one statement (insertDeliveriesToAttempt's subscribed case for each): for each
 * event, a delivery to each of its owner's enabled endpoints subscribed to its type, written once per (endpoint,
 * event), returned with their endpoints. Events must be distinct (one statement cannot touch a row twice).
 */
export async function insertSubscribedDeliveries(
  db: Db,
  events: { id: string; type: string; body: string; ownerId: string }[],
): Promise<DeliveryWithEndpoint[]> {
  const r = await sql<DeliveryWithEndpoint>`
    WITH ev (event_id, event_type, body, owner_id) AS (
      SELECT * FROM unnest(${events.map((e) => e.id)}::uuid[], ${events.map((e) => e.type)}::text[],
                           ${events.map((e) => e.body)}::text[], ${events.map((e) => e.ownerId)}::uuid[])
    ), d AS (
      INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, body, next_attempt_at)
      SELECT e.id, ev.event_id, ev.event_type, ev.body, now()
        FROM ev JOIN webhook_endpoints e ON e.owner_id = ev.owner_id AND e.enabled AND ev.event_type = ANY(e.events)
      ON CONFLICT (endpoint_id, event_id) DO UPDATE SET event_id = excluded.event_id
      RETURNING id, endpoint_id, event_id, event_type, body, status, attempt_count, created_at
    )
    SELECT d.id, d.event_id, d.event_type, d.body, d.status, d.attempt_count, d.created_at, e.id AS endpoint_id,
           e.owner_id, e.url, e.enabled, e.concurrency, e.secret_sealed, e.failing_since
      FROM d JOIN webhook_endpoints e ON e.id = d.endpoint_id
  `.execute(db);
  return r.rows;
}

export const deliveryWithEndpoint = (db: Db, deliveryId: string) =>
  db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select(DELIVERY_WITH_ENDPOINT)
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();

/** One page of an endpoint's deliveries, newest first, strictly after `cursor`, each with every attempt. */
export async function listDeliveries(
  db: Db,
  endpointId: string,
  opts: { limit: number; cursor?: PageCursor },
): Promise<(WebhookDeliveryRow & { attempts: WebhookAttemptRow[] })[]> {
  let q = db.selectFrom('webhook_deliveries').selectAll().where('endpoint_id', '=', endpointId);
  if (opts.cursor) q = q.where(beforeCursor('created_at', 'id', opts.cursor, 'uuid'));
  const deliveries = await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(opts.limit).execute();
  if (deliveries.length === 0) return [];
  const attempts = await db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where(
      'delivery_id',
      'in',
      deliveries.map((d) => d.id),
    )
    .orderBy('attempt')
    .execute();
  return deliveries.map((d) => ({ ...d, attempts: attempts.filter((a) => a.delivery_id === d.id) }));
}
