import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  IdParams,
  IMMISH_ROUTE_PERMISSIONS,
  WebhookCreateDto,
  WebhookCreatedDto,
  WebhookDeliveriesQuery,
  WebhookDeliveryPageDto,
  WebhookDeliveryParams,
  WebhookDto,
  WebhookUpdateDto,
} from '@immish/contracts';
import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  listWebhookDeliveries,
  listWebhooks,
  requestWebhookPing,
  requestWebhookRetry,
  toWebhookDeliveryDto,
  toWebhookDto,
  updateWebhook,
  type WebhookSettings,
} from '@immish/domain';
import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 503: err };

/**
 * Issue 18: the caller's webhook endpoints (README "Webhooks and link activity"). No Immich operation: each route
 * declares `all` (contracts IMMISH_ROUTE_PERMISSIONS), so only a full-access key or a session manages them; a
 * scoped key never points every event of its user at a URL of its choosing.
 */
export const webhooksRoutes =
  ({ db, config }: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const settings: WebhookSettings = {
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE,
      secretKey: config.WEBHOOK_SECRET_KEY,
    };
    const tags = ['webhooks'];

    app.post(
      '/api/webhooks',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['POST /api/webhooks'] },
        schema: { tags, body: WebhookCreateDto, response: { 201: WebhookCreatedDto, ...errors } },
      },
      async (req, reply) => {
        const { endpoint, secret } = await createWebhook(db, settings, caller(req).user.id, req.body);
        return reply.status(201).send({ ...toWebhookDto(endpoint), secret });
      },
    );

    app.get(
      '/api/webhooks',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/webhooks'] },
        schema: { tags, response: { 200: Type.Array(WebhookDto), ...errors } },
      },
      async (req) => (await listWebhooks(db, caller(req).user.id)).map(toWebhookDto),
    );

    app.get(
      '/api/webhooks/:id',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/webhooks/:id'] },
        schema: { tags, params: IdParams, response: { 200: WebhookDto, ...errors } },
      },
      async (req) => toWebhookDto(await getWebhook(db, caller(req).user.id, req.params.id)),
    );

    app.patch(
      '/api/webhooks/:id',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['PATCH /api/webhooks/:id'] },
        schema: { tags, params: IdParams, body: WebhookUpdateDto, response: { 200: WebhookDto, ...errors } },
      },
      async (req) => toWebhookDto(await updateWebhook(db, settings, caller(req).user.id, req.params.id, req.body)),
    );

    app.delete(
      '/api/webhooks/:id',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['DELETE /api/webhooks/:id'] },
        schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errors } },
      },
      async (req, reply) => {
        await deleteWebhook(db, caller(req).user.id, req.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/webhooks/:id/deliveries',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/webhooks/:id/deliveries'] },
        schema: {
          tags,
          summary: 'The deliveries to this endpoint, newest first, each with every attempt; a page at a time',
          params: IdParams,
          querystring: WebhookDeliveriesQuery,
          response: { 200: WebhookDeliveryPageDto, ...errors },
        },
      },
      async (req) => {
        const page = await listWebhookDeliveries(db, caller(req).user.id, req.params.id, req.query);
        return { items: page.items.map(toWebhookDeliveryDto), nextCursor: page.nextCursor };
      },
    );

    app.post(
      '/api/webhooks/:id/deliveries/:deliveryId/retry',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['POST /api/webhooks/:id/deliveries/:deliveryId/retry'] },
        schema: {
          tags,
          summary: 'Attempt this delivery again now',
          params: WebhookDeliveryParams,
          response: { 202: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await requestWebhookRetry(db, caller(req).user.id, req.params.id, req.params.deliveryId);
        return reply.status(202).send(null);
      },
    );

    app.post(
      '/api/webhooks/:id/test',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['POST /api/webhooks/:id/test'] },
        schema: {
          tags,
          summary: 'Send a webhook.ping event to this endpoint',
          params: IdParams,
          response: { 202: Type.Object({ eventId: Type.String() }), ...errors },
        },
      },
      async (req, reply) => reply.status(202).send(await requestWebhookPing(db, caller(req).user.id, req.params.id)),
    );
  };
