// Webhooks (issue 18): owners' endpoints, the fan-out of events to them, and the record of every attempt.

export {
  type AttemptOutcome,
  attemptSucceeded,
  type DeliveryToMake,
  deliveryToAttempt,
  eventOwner,
  type FinishedAttempt,
  planDeliveries,
  planDeliveriesOf,
  type RetryPolicy,
  recordAttempt,
  recordSuccesses,
} from './delivery.ts';
export { toWebhookDeliveryDto, toWebhookDto } from './dto.ts';
export {
  isNonPublicAddress,
  parseRetryDelays,
  resolveWebhookTarget,
  type TargetPolicy,
  type WebhookTarget,
} from './rules.ts';
export { openSecret, signWebhook } from './secrets.ts';
export {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  requestWebhookPing,
  requestWebhookRetry,
  updateWebhook,
  type WebhookSettings,
} from './service.ts';
