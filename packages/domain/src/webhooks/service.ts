import {
  type DomainEvent,
  noAccess,
  WEBHOOK_EVENT_TYPES,
  type WebhookCreateDto,
  type WebhookPayload,
  type WebhookUpdateDto,
} from '@immish/contracts';
import { appendEvent, type Db, type WebhookEndpointRow } from '@immish/db';
import { sql } from 'kysely';
import {
  deleteEndpoint,
  deliveryWithEndpoint,
  endpointById,
  findDelivery,
  findEndpoint,
  insertDeliveries,
  insertEndpoint,
  insertSubscribedDeliveries,
  listDeliveries,
  listEndpoints,
  updateEndpoint,
} from './queries.ts';
import { resolveWebhookTarget, retryDelayMs, type TargetPolicy } from './rules.ts';
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

export async function listWebhookDeliveries(db: Db, ownerId: string, id: string, limit: number) {
  await getWebhook(db, ownerId, id);
  return listDeliveries(db, id, limit);
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

/**
 * Whose event this is (issue 18: "only the owner's own events"). The rule: an event belongs to the owner of its
 * subject — the user named as owner in the event, else the owner of the link, album, upload batch or export it
 * names (an export through a link: the link's owner; otherwise whoever asked for it). A link's `shared-link.deleted`
 * outlives its row: its owner is read from the link's `shared-link.created` event. No owner found → no delivery.
 */
export async function eventOwner(db: Db, event: DomainEvent): Promise<string | null> {
  const data = event.data as Record<string, unknown>;
  const str = (k: string) => (typeof data[k] === 'string' ? (data[k] as string) : null);
  const ownerId = str('ownerId');
  if (ownerId) return ownerId;
  const linkId = str('linkId');
  if (linkId) {
    const link = await db.selectFrom('shared_links').select('owner_id').where('id', '=', linkId).executeTakeFirst();
    if (link) return link.owner_id;
    const created = await db
      .selectFrom('outbox_events')
      .select(sql<string>`payload->'data'->>'ownerId'`.as('owner'))
      .where('aggregate_id', '=', linkId)
      .where('type', '=', 'shared-link.created')
      .executeTakeFirst();
    return created?.owner ?? null;
  }
  const albumId = str('albumId');
  if (albumId) {
    const album = await db.selectFrom('albums').select('owner_id').where('id', '=', albumId).executeTakeFirst();
    return album?.owner_id ?? null;
  }
  const batchId = str('batchId');
  if (batchId) {
    const batch = await db.selectFrom('upload_batches').select('owner_id').where('id', '=', batchId).executeTakeFirst();
    return batch?.owner_id ?? null;
  }
  const exportId = str('exportId');
  if (exportId) {
    const row = await db
      .selectFrom('exports as x')
      .leftJoin('shared_links as l', 'l.id', 'x.shared_link_id')
      .select(sql<string | null>`coalesce(l.owner_id, x.requested_by_user_id)`.as('owner'))
      .where('x.id', '=', exportId)
      .executeTakeFirst();
    return row?.owner ?? null;
  }
  return null;
}

/**
 * The body sent for an event: `{type, timestamp, data}` with the event's own data (ids and counts by construction
 * of the event contracts: no file names, EXIF or places). The one free text that may describe a metadata-hiding
 * export (its error, which can name files) is replaced by a plain sentence: a showMetadata=false link hides it.
 */
export async function webhookBody(db: Db, event: DomainEvent): Promise<WebhookPayload> {
  let data = { ...(event.data as Record<string, unknown>) };
  if (event.type === 'export.failed') {
    const row = await db
      .selectFrom('exports')
      .select('hides_metadata')
      .where('id', '=', String(data.exportId))
      .executeTakeFirst();
    if (!row || row.hides_metadata) data = { ...data, error: 'the export failed' };
  }
  if (event.type === 'webhook.ping') data = { webhookId: data.webhookId };
  return { type: event.type, timestamp: event.occurredAt, data };
}

/**
 * The fan-out of one event (webhook worker): the deliveries to make, written once per (endpoint, event), and the
 * ids of those still pending (to queue; a re-run returns the same ones, and the queue's job ids dedupe).
 */
export async function planDeliveries(db: Db, event: DomainEvent): Promise<string[]> {
  if (event.type === 'webhook.retry-requested') {
    const { webhookId, deliveryId } = event.data as { webhookId: string; deliveryId: string };
    const d = await findDelivery(db, webhookId, deliveryId);
    return d?.status === 'pending' ? [d.id] : [];
  }
  const owner = await eventOwner(db, event);
  if (!owner) return [];
  let rows: { id: string; status: string }[];
  if (event.type === 'webhook.ping') {
    const ep = await endpointById(db, (event.data as { webhookId: string }).webhookId);
    if (!ep || ep.owner_id !== owner) return [];
    const body = JSON.stringify(await webhookBody(db, event));
    rows = await insertDeliveries(db, [{ endpoint_id: ep.id, event_id: event.id, event_type: event.type, body }]);
  } else if ((WEBHOOK_EVENT_TYPES as readonly string[]).includes(event.type)) {
    // one statement: the subscribed endpoints and their deliveries (the relay already skipped events nobody wants)
    rows = await insertSubscribedDeliveries(db, owner, event, JSON.stringify(await webhookBody(db, event)));
  } else {
    return [];
  }
  return rows.filter((r) => r.status === 'pending').map((r) => r.id);
}

export type DeliveryToMake = NonNullable<Awaited<ReturnType<typeof deliveryWithEndpoint>>>;

/** A delivery and its endpoint, if it is still to be attempted (pending; endpoint enabled, or a ping). */
export async function deliveryToAttempt(db: Db, deliveryId: string): Promise<DeliveryToMake | null> {
  const d = await deliveryWithEndpoint(db, deliveryId);
  if (d?.status !== 'pending') return null;
  if (!d.enabled && d.event_type !== 'webhook.ping') {
    await db
      .updateTable('webhook_deliveries')
      .set({ status: 'failed', next_attempt_at: null, updated_at: sql`now()` })
      .where('id', '=', d.id)
      .execute();
    return null;
  }
  return d;
}

export interface AttemptOutcome {
  statusCode: number | null;
  error: string | null;
  latencyMs: number;
  /** ≤ 1 KB of the response body */
  snippet: string;
}

export interface RetryPolicy {
  delaysMs: readonly number[];
  /** WEBHOOK_RETRY_WINDOW_MS: how long a delivery is retried, and how long an endpoint may fail before it is disabled */
  windowMs: number;
}

/**
 * Records one attempt and decides what follows (issue 18 item 3): a 2xx succeeds (and ends the endpoint's failing
 * streak); 410 Gone disables the endpoint; anything else is retried after the schedule's next wait unless that
 * falls past the retry window, and an endpoint whose every delivery has failed for the window is disabled, with
 * the reason its owner sees on GET. Returns the wait before the next attempt, or null when there is none.
 */
export async function recordAttempt(
  db: Db,
  d: DeliveryToMake,
  outcome: AttemptOutcome,
  policy: RetryPolicy,
): Promise<{ retryInMs: number | null }> {
  const ok = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
  if (ok) {
    // the common case in one statement (a data-modifying CTE is atomic): the attempt, the delivery succeeded, the
    // endpoint's failing streak ended — one round trip instead of a transaction's five
    await sql`
      WITH attempt AS (
        INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, latency_ms, response_snippet)
        VALUES (${d.id}, ${d.attempt_count + 1}, now(), ${outcome.statusCode}, ${outcome.error},
                ${Math.round(outcome.latencyMs)}, ${outcome.snippet})
      ), delivery AS (
        UPDATE webhook_deliveries
           SET status = 'succeeded', attempt_count = ${d.attempt_count + 1}, next_attempt_at = NULL, updated_at = now()
         WHERE id = ${d.id}
      )
      UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${d.endpoint_id} AND failing_since IS NOT NULL
    `.execute(db);
    return { retryInMs: null };
  }
  return db.transaction().execute(async (trx) => {
    const attempt = d.attempt_count + 1;
    const now = new Date();
    await trx
      .insertInto('webhook_attempts')
      .values({
        delivery_id: d.id,
        attempt,
        at: now,
        status_code: outcome.statusCode,
        error: outcome.error,
        latency_ms: Math.round(outcome.latencyMs),
        response_snippet: outcome.snippet,
      })
      .execute();
    const finish = async (status: 'succeeded' | 'failed' | 'pending', next: Date | null) => {
      await trx
        .updateTable('webhook_deliveries')
        .set({ status, attempt_count: attempt, next_attempt_at: next, updated_at: sql`now()` })
        .where('id', '=', d.id)
        .execute();
    };
    const disable = (reason: string) =>
      trx
        .updateTable('webhook_endpoints')
        .set({ enabled: false, disabled_reason: reason, disabled_at: now, updated_at: sql`now()` })
        .where('id', '=', d.endpoint_id)
        .execute();
    if (outcome.statusCode === 410) {
      await finish('failed', null);
      await disable('the receiver answered 410 Gone');
      return { retryInMs: null };
    }
    const ep = await trx
      .updateTable('webhook_endpoints')
      .set({ failing_since: sql`coalesce(failing_since, ${now})` })
      .where('id', '=', d.endpoint_id)
      .returning(['failing_since'])
      .executeTakeFirst();
    const failingSince = ep?.failing_since ? new Date(ep.failing_since).getTime() : now.getTime();
    if (now.getTime() - failingSince >= policy.windowMs) {
      const hours = Math.round(policy.windowMs / 3_600_000);
      await disable(
        `every delivery failed for ${hours >= 1 ? `${hours} h` : `${Math.round(policy.windowMs / 1000)} s`} (last: ${describe(outcome)})`,
      );
      await finish('failed', null);
      return { retryInMs: null };
    }
    const wait = retryDelayMs(policy.delaysMs, attempt);
    if (now.getTime() + wait > new Date(d.created_at).getTime() + policy.windowMs) {
      await finish('failed', null);
      return { retryInMs: null };
    }
    await finish('pending', new Date(now.getTime() + wait));
    return { retryInMs: wait };
  });
}

const describe = (o: AttemptOutcome) => (o.statusCode !== null ? `HTTP ${o.statusCode}` : (o.error ?? 'no answer'));
