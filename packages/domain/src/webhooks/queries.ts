import type { Database, Db, WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow } from '@immish/db';
import { type Kysely, sql } from 'kysely';

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

export const endpointById = (db: Kysely<Database>, id: string) =>
  db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();

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

/**
 * One delivery per (endpoint, event): a repeated fan-out (a re-run job) adds nothing and returns the existing rows
 * (the no-op DO UPDATE makes RETURNING include them: one round trip).
 */
export async function insertDeliveries(
  db: Db,
  rows: { endpoint_id: string; event_id: string; event_type: string; body: string }[],
): Promise<{ id: string; status: string }[]> {
  if (rows.length === 0) return [];
  return db
    .insertInto('webhook_deliveries')
    .values(rows.map((r) => ({ ...r, next_attempt_at: sql<Date>`now()` })))
    .onConflict((oc) =>
      oc.columns(['endpoint_id', 'event_id']).doUpdateSet({ event_id: (eb) => eb.ref('excluded.event_id') }),
    )
    .returning(['id', 'status'])
    .execute();
}

/**
 * The fan-out of one event in one statement: a delivery for each of the owner's enabled endpoints subscribed to
 * `eventType`, written once per (endpoint, event) like insertDeliveries (a re-run returns the existing rows).
 */
export async function insertSubscribedDeliveries(
  db: Db,
  ownerId: string,
  event: { id: string; type: string },
  body: string,
): Promise<{ id: string; status: string }[]> {
  return db
    .insertInto('webhook_deliveries')
    .columns(['endpoint_id', 'event_id', 'event_type', 'body', 'next_attempt_at'])
    .expression(
      db
        .selectFrom('webhook_endpoints')
        .select([
          'id',
          sql<string>`${event.id}`.as('event_id'),
          sql<string>`${event.type}`.as('event_type'),
          sql<string>`${body}`.as('body'),
          sql<Date>`now()`.as('next_attempt_at'),
        ])
        .where('owner_id', '=', ownerId)
        .where('enabled', '=', true)
        .where(sql<boolean>`${event.type} = ANY(events)`),
    )
    .onConflict((oc) =>
      oc.columns(['endpoint_id', 'event_id']).doUpdateSet({ event_id: (eb) => eb.ref('excluded.event_id') }),
    )
    .returning(['id', 'status'])
    .execute();
}

export const deliveryWithEndpoint = (db: Db, deliveryId: string) =>
  db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .select([
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
    ])
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();

export async function listDeliveries(
  db: Db,
  endpointId: string,
  limit: number,
): Promise<(WebhookDeliveryRow & { attempts: WebhookAttemptRow[] })[]> {
  const deliveries = await db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
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

export const findDelivery = (db: Db, endpointId: string, deliveryId: string) =>
  db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('id', '=', deliveryId)
    .where('endpoint_id', '=', endpointId)
    .executeTakeFirst();
