import type { DomainEvent, NewEvent } from '@immish/contracts';
import type { Kysely } from 'kysely';
import { uuidv7 } from '../ids.ts';
import type { Database } from '../schema.ts';

/**
 * Writes events into the outbox. Call it with the SAME transaction as the state change (SPEC §6):
 * the change and its event commit together or not at all. Returns the envelopes written.
 */
export async function appendEvents(trx: Kysely<Database>, events: readonly NewEvent[]): Promise<DomainEvent[]> {
  if (events.length === 0) return [];
  const now = new Date();
  const envelopes: DomainEvent[] = events.map((e) => ({
    id: uuidv7(now.getTime()),
    type: e.type,
    version: 1,
    occurredAt: now.toISOString(),
    actor: e.actor,
    subject: e.subject,
    ...(e.correlationId ? { correlationId: e.correlationId } : {}),
    data: e.data,
  }));
  await trx
    .insertInto('outbox_events')
    .values(
      envelopes.map((env) => ({
        id: env.id,
        type: env.type,
        aggregate_type: env.subject.type,
        aggregate_id: env.subject.id,
        payload: JSON.stringify(env),
        occurred_at: now,
      })),
    )
    .execute();
  return envelopes;
}

export const appendEvent = (trx: Kysely<Database>, event: NewEvent) => appendEvents(trx, [event]);
