import type { DomainEvent, NewEvent } from '@immish/contracts';
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { uuidv7 } from '../ids.ts';
import type { Database } from '../schema.ts';

/** One `outbox_events` row as written (the columns without defaults; `payload` is the envelope as JSON text). */
export interface OutboxInsertRow {
  id: string;
  type: string;
  aggregate_type: string;
  aggregate_id: string;
  payload: string;
  occurred_at: Date;
}

/**
 * The envelopes of `events` and the outbox rows that carry them, without writing anything: for a statement
 * that writes its state change and its events at once (a data-modifying CTE, one round trip). Such a caller
 * is bound by the same rule as `appendEvents`: the rows go in the SAME transaction (or statement) as the change.
 */
export function outboxEntries(
  events: readonly NewEvent[],
  now: Date = new Date(),
): { envelopes: DomainEvent[]; rows: OutboxInsertRow[] } {
  const occurredAt = now.toISOString();
  const envelopes: DomainEvent[] = events.map((e) => ({
    id: uuidv7(now.getTime()),
    type: e.type,
    version: 1,
    occurredAt,
    actor: e.actor,
    subject: e.subject,
    ...(e.correlationId ? { correlationId: e.correlationId } : {}),
    data: e.data,
  }));
  const rows = envelopes.map((env) => ({
    id: env.id,
    type: env.type,
    aggregate_type: env.subject.type,
    aggregate_id: env.subject.id,
    payload: JSON.stringify(env),
    occurred_at: now,
  }));
  return { envelopes, rows };
}

/**
 * Writes events into the outbox. Call it with the SAME transaction as the state change (docs/spec.md §6):
 * the change and its event commit together or not at all. Returns the envelopes written.
 */
export async function appendEvents(trx: Kysely<Database>, events: readonly NewEvent[]): Promise<DomainEvent[]> {
  if (events.length === 0) return [];
  const { envelopes, rows } = outboxEntries(events);
  await trx.insertInto('outbox_events').values(rows).execute();
  return envelopes;
}

export const appendEvent = (trx: Kysely<Database>, event: NewEvent) => appendEvents(trx, [event]);

/** The columns an outbox row is inserted with (`OutboxInsertRow`), in the order `outboxRowsWhen` selects them. */
export const OUTBOX_COLUMNS = ['id', 'type', 'aggregate_type', 'aggregate_id', 'payload', 'occurred_at'] as const;

/**
 * The CTE form of `appendEvents`, for a statement that writes its change and its events in one round trip: the
 * events' outbox rows, selected only when the common table expression `guard` (the change's RETURNING) has a row,
 * so the change and its events are written together or not at all (docs/spec.md §6). Insert them in a CTE of the
 * same statement: `.with('event', (qb) => qb.insertInto('outbox_events').columns(OUTBOX_COLUMNS)
 * .expression(outboxRowsWhen('done', events)))`.
 */
export function outboxRowsWhen(guard: string, events: readonly NewEvent[]): RawBuilder<OutboxInsertRow> {
  const { rows } = outboxEntries(events);
  const values = rows.map(
    (r) =>
      sql`(${r.id}::uuid, ${r.type}::text, ${r.aggregate_type}::text, ${r.aggregate_id}::uuid, ${r.payload}::jsonb, ${r.occurred_at}::timestamptz)`,
  );
  return sql<OutboxInsertRow>`SELECT v.* FROM (VALUES ${sql.join(values)})
    AS v(id, type, aggregate_type, aggregate_id, payload, occurred_at) WHERE EXISTS (SELECT 1 FROM ${sql.table(guard)})`;
}
