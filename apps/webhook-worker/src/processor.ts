import type { DomainEvent, WebhookDeliveryJobData } from '@immish/contracts';
import type { Db } from '@immish/db';
import {
  attemptSucceeded,
  type DeliveryToMake,
  deliveryToAttempt,
  type FinishedAttempt,
  openSecret,
  planDeliveriesOf,
  type RetryPolicy,
  recordAttempt,
  recordSuccesses,
  resolveWebhookTarget,
  signWebhook,
} from '@immish/domain';
import { Batcher } from './batch.ts';
import type { DeliveryBudget } from './budget.ts';
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
  /** WEBHOOK_CONCURRENCY: attempts in flight in this process, first attempts and queued ones together */
  budget: DeliveryBudget;
  policy: RetryPolicy;
  allowPrivate: boolean;
  secretKey: string;
  timeoutMs: number;
  resolve?: (host: string) => Promise<{ address: string; family: number }[]>;
  /** the fan-outs and the successful attempts of the moment, each written in one statement (webhookBatches) */
  batches: WebhookBatches;
}

export interface WebhookBatches {
  plan: Batcher<DomainEvent, DeliveryToMake[]>;
  successes: Batcher<FinishedAttempt, null>;
}

/**
 * How long a successful attempt waits for others to be recorded with (its request is over and its slot free, so
 * only the delivery log and the job's completion wait; each attempt keeps its own time). At 200/s: about 4 a batch.
 */
const RECORD_LINGER_MS = 20;

/**
 * The worker's two writes per delivery, gathered (batch.ts): the fan-outs of the events being fanned out at the
 * same moment (distinct events: a failed batch is written event by event) and the successful attempts of the last
 * RECORD_LINGER_MS.
 */
export function webhookBatches(db: Db): WebhookBatches {
  return {
    plan: new Batcher((events) => planDeliveriesOf(db, events)),
    successes: new Batcher(
      async (attempts) => {
        await recordSuccesses(db, attempts);
        return attempts.map(() => null);
      },
      { lingerMs: RECORD_LINGER_MS },
    ),
  };
}

export const firstAttemptJobId = (deliveryId: string) => `${deliveryId}-1`;
export const attemptJobId = (deliveryId: string, attempt: number) => `${deliveryId}-${attempt}`;

/**
 * `webhooks` queue: one event → one delivery per matching endpoint (domain planDeliveries, one statement that also
 * returns each delivery's endpoint), and each first attempt made right here when the endpoint has a slot (its 1–4)
 * within a moment and this process a free delivery (WEBHOOK_CONCURRENCY): no second job, no second read of the
 * delivery, no queue hop between the event and its request. A first attempt that cannot start so is queued on
 * `webhook-deliveries`. A `webhook.retry-requested` queues its delivery for an attempt now.
 *
 * At least once: the job stays active (its lock renewed) while its attempts run, so a worker killed mid-delivery
 * leaves it to be taken over; the re-run finds the delivery still pending with no attempt recorded and makes it.
 * A pending delivery that already has attempts is left alone (its next attempt is queued, or the sweep finds it).
 */
export async function fanOutEvent(event: DomainEvent, holder: string, deps: WebhookJobDeps): Promise<number> {
  const planned = await deps.batches.plan.add(event);
  if (event.type === 'webhook.retry-requested') {
    await Promise.all(planned.map((d) => deps.queue.add(d.id, null, 0, `${d.id}-${event.id}`)));
    return planned.length;
  }
  const first = planned.filter((d) => d.attempt_count === 0);
  const results = await Promise.allSettled(
    first.map(async (d) => {
      if (!(await attemptNow(d, `${holder}:${d.id}`, deps))) {
        await deps.queue.add(d.id, 1, 0, firstAttemptJobId(d.id));
      }
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return first.length;
}

/**
 * How long an attempt waits for one of its endpoint's slots (a release in this process hands it over at once: a
 * fast endpoint frees one within milliseconds). Past it, a first attempt is queued and a queued one postponed, so
 * a slow endpoint never keeps the worker's own jobs waiting long.
 */
const SLOT_WAIT_MS = 250;

/**
 * A first attempt now, if the endpoint has a slot within SLOT_WAIT_MS (waiting in line with this process's other
 * deliveries to it, as long as that line should move within half of it: the line's length over the endpoint's
 * slots times how long it has held one lately — a fast endpoint in a burst waits a few milliseconds even behind a
 * line of 16; a slow one's line is long, and the attempt is queued at once) and this process a free delivery;
 * false otherwise. Decision: the rule before (queue once the line was as long as the endpoint's slots) sent most
 * first attempts of a 200/s burst through the queue and its 100–300 ms postponements, for an endpoint answering
 * in 1 ms.
 */
async function attemptNow(d: DeliveryToMake, holder: string, deps: WebhookJobDeps): Promise<boolean> {
  if (deps.slots.expectedWaitMs(d.endpoint_id, d.concurrency, SLOT_WAIT_MS) > SLOT_WAIT_MS / 2) return false;
  if (!(await deps.slots.wait(d.endpoint_id, d.concurrency, holder, SLOT_WAIT_MS))) return false;
  if (!deps.budget.tryTake()) {
    await deps.slots.release(d.endpoint_id, holder).catch(() => {});
    return false;
  }
  await attemptHoldingSlot(d, holder, deps);
  return true;
}

export type DeliveryResult =
  | { outcome: 'skipped' }
  | { outcome: 'busy' }
  | { outcome: 'attempted'; statusCode: number | null; retryInMs: number | null };

/**
 * `webhook-deliveries` queue: one attempt of one delivery (a first attempt that could not start at once, a retry,
 * a manual retry). `attempt` (null = "the next one", a manual retry) makes a stale job (its attempt already made
 * by another path) a no-op. `busy`: the endpoint's slots are all taken, try again soon.
 */
export async function deliverOnce(
  job: WebhookDeliveryJobData & { attempt?: number | null },
  holder: string,
  deps: WebhookJobDeps,
): Promise<DeliveryResult> {
  const d = await deliveryToAttempt(deps.db, job.deliveryId);
  if (!d) return { outcome: 'skipped' };
  if (job.attempt != null && job.attempt !== d.attempt_count + 1) return { outcome: 'skipped' };
  if (!(await deps.slots.wait(d.endpoint_id, d.concurrency, holder, SLOT_WAIT_MS))) return { outcome: 'busy' };
  // this process's share after the endpoint's: a job waiting for a slow endpoint holds none of it
  await deps.budget.take();
  return { outcome: 'attempted', ...(await attemptHoldingSlot(d, holder, deps)) };
}

/**
 * One attempt, the endpoint slot and a place of this process's budget already held (both freed as soon as the
 * request is over: WEBHOOK_CONCURRENCY bounds requests in flight, and recording an attempt, which may wait
 * RECORD_LINGER_MS for others, holds neither). The address is resolved and checked again now (issue 18: at every
 * delivery, against DNS rebinding) and the connection goes to that address; the attempt is recorded and the next
 * one queued per the retry schedule.
 */
async function attemptHoldingSlot(
  d: DeliveryToMake,
  holder: string,
  deps: WebhookJobDeps,
): Promise<{ statusCode: number | null; retryInMs: number | null }> {
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
      const secret = openedSecret(d.secret_sealed, deps.secretKey);
      const headers = signWebhook(secret, d.event_id, Math.floor(Date.now() / 1000), d.body);
      outcome = await sendWebhook(target, headers, d.body, deps.timeoutMs);
    }
  } finally {
    deps.budget.give();
    await deps.slots.release(d.endpoint_id, holder).catch(() => {});
  }
  const { retryInMs } = attemptSucceeded(outcome)
    ? await deps.batches.successes.add({ d, outcome, at: new Date() }).then(() => ({ retryInMs: null }))
    : await recordAttempt(deps.db, d, outcome, deps.policy);
  if (retryInMs !== null) {
    const next = d.attempt_count + 2;
    await deps.queue.add(d.id, next, retryInMs, attemptJobId(d.id, next));
  }
  return { statusCode: outcome.statusCode, retryInMs };
}

/**
 * Opened signing secrets by their sealed form (a changed secret is another sealed text, so never stale): the
 * AES-GCM opening once per endpoint, not per attempt. Bounded; the oldest is forgotten first. The process holds
 * the sealing key anyway, so keeping the opened secrets in its memory exposes nothing more.
 */
const opened = new Map<string, string>();
const OPENED_MAX = 1000;

function openedSecret(sealed: string, secretKey: string): string {
  let secret = opened.get(sealed);
  if (secret === undefined) {
    secret = openSecret(sealed, secretKey);
    if (opened.size >= OPENED_MAX) opened.delete(opened.keys().next().value as string);
    opened.set(sealed, secret);
  }
  return secret;
}
