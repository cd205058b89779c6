export { DeliveryBudget } from './budget.ts';
export { type DeliveryQueue, deliverOnce, fanOutEvent, type WebhookJobDeps } from './processor.ts';
export { SNIPPET_BYTES, sendWebhook } from './send.ts';
export { EndpointSlots } from './slots.ts';
export { startWebhookWorker } from './worker.ts';
