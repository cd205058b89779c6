// The webhook worker's side of webhooks (issue 18 item 3): whose an event is, what is sent, the fan-out into
// deliveries, and the record of each attempt with what follows it (retry, success, disabling the endpoint).
import { type DomainEvent, WEBHOOK_EVENT_TYPES, type WebhookPayload } from '@immish/contracts';
import type { Db } from '@immish/db';
import { sql } from 'kysely';
import {
  type DeliveryWithEndpoint,
  deliveryWithEndpoint,
  insertDeliveriesToAttempt,
  insertSubscribedDeliveries,
} from './queries.ts';
import { retryDelayMs } from './rules.ts';

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

export type DeliveryToMake = DeliveryWithEndpoint;

/**
 * The fan-out of one event (webhook worker): the deliveries to make, written once per (endpoint, event), returned
 * with their endpoints (what an attempt needs) while still pending; a re-run returns the same ones. A
 * `webhook.retry-requested` returns the delivery it names, if still pending.
 */
export async function planDeliveries(db: Db, event: DomainEvent): Promise<DeliveryToMake[]> {
  return (await planDeliveriesOf(db, [event]))[0]!;
}

/**
 * planDeliveries of several events (distinct ids), the subscribed endpoints' deliveries of all of them written
 * in one statement (the webhook worker gathers the events it is fanning out at the same moment): one list per
 * event, in order.
 */
export async function planDeliveriesOf(db: Db, events: DomainEvent[]): Promise<DeliveryToMake[][]> {
  const planned: DeliveryToMake[][] = events.map(() => []);
  const subscribed: { index: number; id: string; type: string; body: string; ownerId: string }[] = [];
  await Promise.all(
    events.map(async (event, index) => {
      if (event.type === 'webhook.retry-requested') {
        const { webhookId, deliveryId } = event.data as { webhookId: string; deliveryId: string };
        const d = await deliveryWithEndpoint(db, deliveryId);
        planned[index] = d?.endpoint_id === webhookId && d.status === 'pending' ? [d] : [];
        return;
      }
      const ping = event.type === 'webhook.ping';
      if (!ping && !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(event.type)) return;
      const owner = await eventOwner(db, event);
      if (!owner) return;
      const body = JSON.stringify(await webhookBody(db, event));
      if (ping) {
        const endpointId = (event.data as { webhookId: string }).webhookId;
        const rows = await insertDeliveriesToAttempt(db, event, body, { ownerId: owner, endpointId });
        planned[index] = rows.filter((r) => r.status === 'pending');
        return;
      }
      subscribed.push({ index, id: event.id, type: event.type, body, ownerId: owner });
    }),
  );
  if (subscribed.length > 0) {
    // one statement: the endpoints and their deliveries (the relay already skipped events nobody wants)
    const rows = await insertSubscribedDeliveries(db, subscribed);
    for (const { index, id } of subscribed) {
      planned[index] = rows.filter((r) => r.event_id === id && r.status === 'pending');
    }
  }
  return planned;
}

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
/** An attempt succeeded: any 2xx (issue 18 item 3). */
export const attemptSucceeded = (outcome: AttemptOutcome): boolean =>
  outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;

/** A finished attempt to record: its delivery, what came of it, and when it ended (default: when recorded). */
export interface FinishedAttempt {
  d: DeliveryToMake;
  outcome: AttemptOutcome;
  at?: Date;
}

/**
 * Records successful attempts (attemptSucceeded), any number in one statement (a data-modifying CTE is atomic):
 * each attempt, its delivery succeeded, its endpoint's failing streak ended — one round trip for a batch instead
 * of a transaction's five per attempt. Distinct deliveries.
 */
export async function recordSuccesses(db: Db, attempts: FinishedAttempt[]): Promise<void> {
  const col = <T>(f: (a: FinishedAttempt) => T) => attempts.map(f);
  await sql`
    WITH a (delivery_id, attempt, status_code, latency_ms, snippet, endpoint_id, at) AS (
      SELECT * FROM unnest(${col((a) => a.d.id)}::uuid[], ${col((a) => a.d.attempt_count + 1)}::int[],
                           ${col((a) => a.outcome.statusCode)}::int[],
                           ${col((a) => Math.round(a.outcome.latencyMs))}::int[],
                           ${col((a) => a.outcome.snippet)}::text[], ${col((a) => a.d.endpoint_id)}::uuid[],
                           ${col((a) => (a.at ?? null) as Date | null)}::timestamptz[])
    ), attempt AS (
      INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, latency_ms, response_snippet)
      SELECT delivery_id, attempt, coalesce(at, now()), status_code, NULL, latency_ms, snippet FROM a
    ), delivery AS (
      UPDATE webhook_deliveries d
         SET status = 'succeeded', attempt_count = a.attempt, next_attempt_at = NULL, updated_at = now()
        FROM a WHERE d.id = a.delivery_id
    )
    UPDATE webhook_endpoints SET failing_since = NULL
     WHERE id IN (SELECT endpoint_id FROM a) AND failing_since IS NOT NULL
  `.execute(db);
}

export async function recordAttempt(
  db: Db,
  d: DeliveryToMake,
  outcome: AttemptOutcome,
  policy: RetryPolicy,
): Promise<{ retryInMs: number | null }> {
  if (attemptSucceeded(outcome)) {
    await recordSuccesses(db, [{ d, outcome }]);
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
