import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '@immish/contracts';
import type { UserRow } from '@immish/db';
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
import { DomainError, notFound } from '@immish/runtime';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { en } from '../console/strings.en.ts';
import type { ConsoleAssets, Notice } from '../console/views.ts';
import { deleteWebhookPage, webhookCreatedPage, webhookPage, webhooksPage } from '../console/webhook-views.ts';
import type { LinksApiDeps } from '../deps.ts';
import { assertSameOrigin } from '../sign-in.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `?notice=…` after a webhook form post: only these keys (a crafted URL cannot put its own text on the page). */
const NOTICES = en.webhooks.notices;
type NoticeKey = keyof typeof NOTICES;
const noticeFor = (key: string | undefined): Notice | null =>
  key && Object.hasOwn(NOTICES, key) ? { text: NOTICES[key as NoticeKey], error: false } : null;

const known = new Set<string>(WEBHOOK_EVENT_TYPES);

/**
 * The Webhooks screen (issue 18 item 6) as pages and plain forms, like the Links screen's (console-forms.ts):
 * each form post is refused cross-site (CSRF, sign-in.ts), calls the same domain function as its `/api/webhooks`
 * route with the signed-in owner, and answers with a redirect to the page showing the result — except adding an
 * endpoint, whose answer is the one page that ever shows its secret.
 */
export function consoleWebhookRoutes(
  fastify: FastifyInstance,
  deps: LinksApiDeps,
  owner: (req: FastifyRequest) => Promise<UserRow | null>,
  assets: ConsoleAssets,
  pageHeaders: Record<string, string>,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const db = deps.db;
  const settings: WebhookSettings = {
    allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE,
    secretKey: deps.config.WEBHOOK_SECRET_KEY,
  };
  const page = { config: { public: true } } as const;
  const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
  const html = (reply: FastifyReply) => reply.headers(pageHeaders).type('text/html; charset=utf-8');
  const poster = async (req: FastifyRequest, reply: FastifyReply) => {
    assertSameOrigin(req);
    html(reply);
    return owner(req);
  };
  /** the owner's endpoint, or null (another user's, none, a malformed id) */
  const own = async (user: UserRow, id: string) =>
    UUID.test(id) ? getWebhook(db, user.id, id).catch(() => null) : null;
  /** the endpoint and a page of its delivery log (the API's default size); a cursor not of ours starts from the newest */
  const endpointPage = async (user: UserRow, id: string, notice: Notice | null, cursor?: string) => {
    const ep = await getWebhook(db, user.id, id);
    const log = await listWebhookDeliveries(db, user.id, id, cursor ? { cursor } : {}).catch((e: unknown) => {
      if (cursor && e instanceof DomainError) return listWebhookDeliveries(db, user.id, id);
      throw e;
    });
    const deliveries = log.items.map(toWebhookDeliveryDto);
    return webhookPage(
      en,
      assets,
      user,
      toWebhookDto(ep),
      { deliveries, nextCursor: log.nextCursor, older: !!cursor },
      notice,
    );
  };
  /** an action refused: the endpoint's page with the reason, or the list when the endpoint is gone */
  const failed = async (reply: FastifyReply, user: UserRow, id: string, e: unknown) => {
    if (!(e instanceof DomainError)) throw e;
    if (!(await own(user, id))) return reply.redirect('/webhooks', 303);
    const notice = { text: `${en.webhooks.actionFailed}: ${e.message}`, error: true };
    return reply.status(e.statusCode).send(await endpointPage(user, id, notice));
  };

  app.get(
    '/webhooks',
    {
      ...page,
      schema: { hide: true, querystring: Type.Object({ notice: Type.Optional(Type.String({ maxLength: 32 })) }) },
    },
    async (req, reply) => {
      html(reply);
      const user = await owner(req);
      if (!user) return reply.redirect('/', 303);
      const endpoints = (await listWebhooks(db, user.id)).map(toWebhookDto);
      return webhooksPage(en, assets, user, endpoints, noticeFor(req.query.notice));
    },
  );

  app.post(
    '/webhooks',
    {
      ...page,
      schema: {
        hide: true,
        body: Type.Object({
          url: Type.String({ maxLength: 2048 }),
          description: Type.Optional(Type.String({ maxLength: 500 })),
          events: Type.Optional(
            Type.Union([
              Type.String({ maxLength: 64 }),
              Type.Array(Type.String({ maxLength: 64 }), { maxItems: WEBHOOK_EVENT_TYPES.length }),
            ]),
          ),
        }),
      },
    },
    async (req, reply) => {
      const user = await poster(req, reply);
      if (!user) return reply.redirect('/', 303);
      const b = req.body;
      const ticked = b.events === undefined ? [] : Array.isArray(b.events) ? b.events : [b.events];
      const events = [...new Set(ticked.filter((e) => known.has(e)))] as WebhookEventType[];
      const form = { url: b.url.trim(), description: b.description ?? '', events };
      const again = async (status: number, message: string) =>
        reply
          .status(status)
          .send(
            webhooksPage(
              en,
              assets,
              user,
              (await listWebhooks(db, user.id)).map(toWebhookDto),
              { text: `${en.webhooks.createFailed}: ${message}`, error: true },
              form,
            ),
          );
      if (events.length === 0) return again(400, en.webhooks.noEvents);
      try {
        const { endpoint, secret } = await createWebhook(db, settings, user.id, {
          url: form.url,
          events,
          ...(form.description ? { description: form.description } : {}),
        });
        return reply.status(201).send(webhookCreatedPage(en, assets, user, toWebhookDto(endpoint), secret));
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        return again(e.statusCode, e.message);
      }
    },
  );

  app.get(
    '/webhooks/:id',
    {
      ...page,
      schema: {
        hide: true,
        params: IdParams,
        querystring: Type.Object({
          notice: Type.Optional(Type.String({ maxLength: 32 })),
          cursor: Type.Optional(Type.String({ maxLength: 200 })),
        }),
      },
    },
    async (req, reply) => {
      html(reply);
      const user = await owner(req);
      if (!user) return reply.redirect('/', 303);
      if (!(await own(user, req.params.id))) return reply.redirect('/webhooks', 303);
      return endpointPage(user, req.params.id, noticeFor(req.query.notice), req.query.cursor || undefined);
    },
  );

  app.post('/webhooks/:id/test', { ...page, schema: { hide: true, params: IdParams } }, async (req, reply) => {
    const user = await poster(req, reply);
    if (!user) return reply.redirect('/', 303);
    const id = req.params.id;
    if (!(await own(user, id))) return reply.redirect('/webhooks', 303);
    try {
      await requestWebhookPing(db, user.id, id);
      return reply.redirect(`/webhooks/${id}?notice=testSent`, 303);
    } catch (e) {
      return failed(reply, user, id, e);
    }
  });

  app.post(
    '/webhooks/:id/enabled',
    {
      ...page,
      schema: {
        hide: true,
        params: IdParams,
        body: Type.Object({ enabled: Type.Union([Type.Literal('true'), Type.Literal('false')]) }),
      },
    },
    async (req, reply) => {
      const user = await poster(req, reply);
      if (!user) return reply.redirect('/', 303);
      const id = req.params.id;
      if (!(await own(user, id))) return reply.redirect('/webhooks', 303);
      const enabled = req.body.enabled === 'true';
      try {
        await updateWebhook(db, settings, user.id, id, { enabled });
        return reply.redirect(`/webhooks/${id}?notice=${enabled ? 'enabled' : 'disabled'}`, 303);
      } catch (e) {
        return failed(reply, user, id, e);
      }
    },
  );

  app.post(
    '/webhooks/:id/deliveries/:deliveryId/retry',
    {
      ...page,
      schema: {
        hide: true,
        params: Type.Object({ id: Type.String({ maxLength: 64 }), deliveryId: Type.String({ maxLength: 64 }) }),
      },
    },
    async (req, reply) => {
      const user = await poster(req, reply);
      if (!user) return reply.redirect('/', 303);
      const { id, deliveryId } = req.params;
      if (!(await own(user, id))) return reply.redirect('/webhooks', 303);
      try {
        if (!UUID.test(deliveryId)) throw notFound('Delivery not found');
        await requestWebhookRetry(db, user.id, id, deliveryId);
        return reply.redirect(`/webhooks/${id}?notice=retried`, 303);
      } catch (e) {
        return failed(reply, user, id, e);
      }
    },
  );

  app.get('/webhooks/:id/delete', { ...page, schema: { hide: true, params: IdParams } }, async (req, reply) => {
    html(reply);
    const user = await owner(req);
    if (!user) return reply.redirect('/', 303);
    const ep = await own(user, req.params.id);
    if (!ep) return reply.redirect('/webhooks', 303);
    return deleteWebhookPage(en, assets, user, toWebhookDto(ep), null);
  });

  app.post('/webhooks/:id/delete', { ...page, schema: { hide: true, params: IdParams } }, async (req, reply) => {
    const user = await poster(req, reply);
    if (!user) return reply.redirect('/', 303);
    const ep = await own(user, req.params.id);
    if (!ep) return reply.redirect('/webhooks', 303);
    try {
      await deleteWebhook(db, user.id, ep.id);
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      return reply
        .status(e.statusCode)
        .send(deleteWebhookPage(en, assets, user, toWebhookDto(ep), `${en.webhooks.actionFailed}: ${e.message}`));
    }
    return reply.redirect('/webhooks?notice=deleted', 303);
  });
}
