// Webhooks (issue 18): owners' endpoints, the fan-out of events to them, and the record of every attempt.
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
  type AttemptOutcome,
  createWebhook,
  type DeliveryToMake,
  deleteWebhook,
  deliveryToAttempt,
  eventOwner,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  planDeliveries,
  type RetryPolicy,
  recordAttempt,
  requestWebhookPing,
  requestWebhookRetry,
  updateWebhook,
  type WebhookSettings,
} from './service.ts';
