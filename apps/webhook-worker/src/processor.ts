import type { DomainEvent, WebhookDeliveryJobData } from '@immish/contracts';
import type { Db } from '@immish/db';
import {
  deliveryToAttempt,
  openSecret,
  planDeliveries,
  type RetryPolicy,
  recordAttempt,
  resolveWebhookTarget,
  signWebhook,
} from '@immish/domain';
import { sendWebhook } from './send.ts';
import type { EndpointSlots } from './slots.ts';

/** How a delivery job is queued: its id names the delivery and the attempt, so queuing it twice is harmless. */
export interface DeliveryQueue {
  add(deliveryId: string, attempt: number | null, delayMs: number, jobId: string): Promise<void>;
}

export interface WebhookJobDeps {
  db: Db;
  queue: DeliveryQueue;
  slots: EndpointSlots;
  policy: RetryPolicy;
  allowPrivate: boolean;
  secretKey: string;
  timeoutMs: number;
  /** name + job id of this attempt: the holder of an endpoint slot */
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
}

export const firstAttemptJobId = (deliveryId: string) => `${deliveryId}-1`;
export const attemptJobId = (deliveryId: string, attempt: number) => `${deliveryId}-${attempt}`;

/**
 * `webhooks` queue: one event → one delivery per matching endpoint (domain planDeliveries), each queued for its
 * first attempt. A `webhook.retry-requested` queues its delivery for an attempt now.
 */
export async function fanOutEvent(event: DomainEvent, deps: Pick<WebhookJobDeps, 'db' | 'queue'>): Promise<number> {
  const ids = await planDeliveries(deps.db, event);
  const retry = event.type === 'webhook.retry-requested';
  // together: ioredis pipelines them on one connection (one round trip, not one per endpoint)
  await Promise.all(
    ids.map((id) =>
      retry ? deps.queue.add(id, null, 0, `${id}-${event.id}`) : deps.queue.add(id, 1, 0, firstAttemptJobId(id)),
    ),
  );
  return ids.length;
}

/**
 * An endpoint slot, waited for briefly (a delivery to a fast endpoint frees one within milliseconds); past
 * SLOT_WAIT_MS the job is postponed instead, so a slow endpoint never keeps the worker's own slots waiting long.
 */
const SLOT_WAIT_MS = 250;
async function acquireSlot(slots: EndpointSlots, endpointId: string, limit: number, holder: string): Promise<boolean> {
  const deadline = Date.now() + SLOT_WAIT_MS;
  for (;;) {
    if (await slots.acquire(endpointId, limit, holder)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 10 + Math.random() * 20));
  }
}

export type DeliveryResult =
  | { outcome: 'skipped' }
  | { outcome: 'busy' }
  | { outcome: 'attempted'; statusCode: number | null; retryInMs: number | null };

/**
 * `webhook-deliveries` queue: one attempt of one delivery. The address is resolved and checked again now (issue 18:
 * at every delivery, against DNS rebinding) and the connection goes to that address; the attempt is recorded and
 * the next one queued per the retry schedule. `attempt` (null = "the next one", a manual retry) makes a stale job
 * (its attempt already made by another path) a no-op. `busy`: the endpoint's slots are all taken, try again soon.
 */
export async function deliverOnce(
  job: WebhookDeliveryJobData & { attempt?: number | null },
  holder: string,
  deps: WebhookJobDeps,
): Promise<DeliveryResult> {
  const d = await deliveryToAttempt(deps.db, job.deliveryId);
  if (!d) return { outcome: 'skipped' };
  if (job.attempt != null && job.attempt !== d.attempt_count + 1) return { outcome: 'skipped' };
  if (!(await acquireSlot(deps.slots, d.endpoint_id, d.concurrency, holder))) return { outcome: 'busy' };
  let outcome: Awaited<ReturnType<typeof sendWebhook>>;
  const started = performance.now();
  try {
    const target = await resolveWebhookTarget(d.url, {
      allowPrivate: deps.allowPrivate,
      ...(deps.resolve ? { resolve: deps.resolve } : {}),
    }).catch((err: Error) => err);
    if (target instanceof Error) {
      outcome = {
        statusCode: null,
        error: `refused: ${target.message}`,
        latencyMs: performance.now() - started,
        snippet: '',
      };
    } else {
      const secret = openSecret(d.secret_sealed, deps.secretKey);
      const headers = signWebhook(secret, d.event_id, Math.floor(Date.now() / 1000), d.body);
      outcome = await sendWebhook(target, headers, d.body, deps.timeoutMs);
    }
  } finally {
    await deps.slots.release(d.endpoint_id, holder).catch(() => {});
  }
  const { retryInMs } = await recordAttempt(deps.db, d, outcome, deps.policy);
  if (retryInMs !== null) {
    const next = d.attempt_count + 2;
    await deps.queue.add(d.id, next, retryInMs, attemptJobId(d.id, next));
  }
  return { outcome: 'attempted', statusCode: outcome.statusCode, retryInMs };
}
