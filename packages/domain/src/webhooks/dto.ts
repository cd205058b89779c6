import { toIso, toIsoOrNull, type WebhookDeliveryDto, type WebhookDto } from '@immish/contracts';
import type { WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow } from '@immish/db';

/** An endpoint as its owner sees it: never the secret (shown once, by createWebhook's caller). */
export function toWebhookDto(row: WebhookEndpointRow): WebhookDto {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    concurrency: row.concurrency,
    disabledReason: row.disabled_reason,
    disabledAt: toIsoOrNull(row.disabled_at),
    failingSince: toIsoOrNull(row.failing_since),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

export function toWebhookDeliveryDto(row: WebhookDeliveryRow & { attempts: WebhookAttemptRow[] }): WebhookDeliveryDto {
  return {
    id: row.id,
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts.map((a) => ({
      attempt: a.attempt,
      at: toIso(a.at),
      statusCode: a.status_code,
      error: a.error,
      latencyMs: a.latency_ms,
      responseSnippet: a.response_snippet,
    })),
    nextAttemptAt: toIsoOrNull(row.next_attempt_at),
    createdAt: toIso(row.created_at),
  };
}
