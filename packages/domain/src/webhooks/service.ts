import {
  noAccess,
  WEBHOOK_DELIVERIES_DEFAULT_LIMIT,
  type WebhookCreateDto,
  type WebhookUpdateDto,
} from '@immish/contracts';
import {
  appendEvent,
  type Db,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
  type WebhookEndpointRow,
} from '@immish/db';
import { sql } from 'kysely';
import { decodePageCursor, pageOf } from '../paging.ts';
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  updateEndpoint,
} from './queries.ts';
import { resolveWebhookTarget, type TargetPolicy } from './rules.ts';
import { newWebhookSecret, sealSecret } from './secrets.ts';

/** What registration needs from the configuration (WEBHOOK_ALLOW_PRIVATE, WEBHOOK_SECRET_KEY). */
export interface WebhookSettings extends TargetPolicy {
  secretKey: string;
}

const notFound = () => noAccess('Webhook not found');

/** POST /api/webhooks: the URL checked (form and every address it resolves to), the secret sealed; returns it once. */
export async function createWebhook(
  db: Db,
  settings: WebhookSettings,
  ownerId: string,
  input: WebhookCreateDto,
): Promise<{ endpoint: WebhookEndpointRow; secret: string }> {
  await resolveWebhookTarget(input.url, settings);
  const secret = newWebhookSecret();
  const endpoint = await insertEndpoint(db, {
    owner_id: ownerId,
    url: input.url,
    description: input.description ?? '',
    events: [...input.events],
    enabled: input.enabled ?? true,
    concurrency: input.concurrency ?? 4,
    secret_sealed: sealSecret(secret, settings.secretKey),
  });
  return { endpoint, secret };
}

export const listWebhooks = (db: Db, ownerId: string) => listEndpoints(db, ownerId);

export async function getWebhook(db: Db, ownerId: string, id: string): Promise<WebhookEndpointRow> {
  const row = await findEndpoint(db, ownerId, id);
  if (!row) throw notFound();
  return row;
}

/** PATCH: a new URL is checked like a new endpoint; `enabled: true` also clears why the worker disabled it. */
export async function updateWebhook(
  db: Db,
  settings: WebhookSettings,
  ownerId: string,
  id: string,
  input: WebhookUpdateDto,
): Promise<WebhookEndpointRow> {
  if (input.url !== undefined) await resolveWebhookTarget(input.url, settings);
  const changes: Parameters<typeof updateEndpoint>[3] = {};
  if (input.url !== undefined) changes.url = input.url;
  if (input.events !== undefined) changes.events = [...input.events];
  if (input.description !== undefined) changes.description = input.description;
  if (input.concurrency !== undefined) changes.concurrency = input.concurrency;
  if (input.enabled !== undefined) changes.enabled = input.enabled;
  if (input.enabled === true) Object.assign(changes, { disabled_reason: null, disabled_at: null, failing_since: null });
  const row = await updateEndpoint(db, ownerId, id, changes);
  if (!row) throw notFound();
  return row;
}

export async function deleteWebhook(db: Db, ownerId: string, id: string): Promise<void> {
  if (!(await deleteEndpoint(db, ownerId, id))) throw notFound();
}

/**
 * GET /api/webhooks/:id/deliveries: a page of the endpoint's delivery log, newest first, with the keyset cursor of
 * paging.ts (the activity log's rule). Another owner's endpoint is answered like none.
 */
export async function listWebhookDeliveries(
  db: Db,
  ownerId: string,
  id: string,
  query: { cursor?: string; limit?: number } = {},
): Promise<{ items: (WebhookDeliveryRow & { attempts: WebhookAttemptRow[] })[]; nextCursor: string | null }> {
  await getWebhook(db, ownerId, id);
  const limit = query.limit ?? WEBHOOK_DELIVERIES_DEFAULT_LIMIT;
  const cursor = query.cursor === undefined ? undefined : decodePageCursor(query.cursor, 'uuid');
  const rows = await listDeliveries(db, id, { limit: limit + 1, ...(cursor ? { cursor } : {}) });
  const { page, nextCursor } = pageOf(rows, limit, (r) => ({ at: new Date(r.created_at), id: r.id }));
  return { items: page, nextCursor };
}

/** POST …/test: a `webhook.ping` event through the outbox, delivered to this endpoint only (whatever its filter). */
export async function requestWebhookPing(db: Db, ownerId: string, id: string): Promise<{ eventId: string }> {
  return db.transaction().execute(async (trx) => {
    if (!(await findEndpoint(trx, ownerId, id))) throw notFound();
    const [event] = await appendEvent(trx, {
      type: 'webhook.ping',
      actor: { type: 'user', id: ownerId },
      subject: { type: 'webhook', id },
      data: { webhookId: id, ownerId },
    });
    return { eventId: event!.id };
  });
}

/** POST …/deliveries/:deliveryId/retry: the delivery pending again and a request for the worker, in one transaction. */
export async function requestWebhookRetry(db: Db, ownerId: string, id: string, deliveryId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    if (!(await findEndpoint(trx, ownerId, id))) throw notFound();
    const delivery = await trx
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: sql`now()`, updated_at: sql`now()` })
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', id)
      .returning('id')
      .executeTakeFirst();
    if (!delivery) throw noAccess('Delivery not found');
    await appendEvent(trx, {
      type: 'webhook.retry-requested',
      actor: { type: 'user', id: ownerId },
      subject: { type: 'webhook', id },
      data: { webhookId: id, deliveryId },
    });
  });
}
