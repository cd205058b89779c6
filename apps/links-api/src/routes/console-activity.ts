import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { LINK_ACTIVITY_ACTIONS, type LinkActivityActionName } from '@immish/contracts';
import type { UserRow } from '@immish/db';
import { getSharedLink, listLinkActivity, requireAccess, summarizeLinkActivity } from '@immish/domain';
import { DomainError } from '@immish/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { linkActivityPage } from '../console/activity-views.ts';
import { en } from '../console/strings.en.ts';
import type { ConsoleAssets } from '../console/views.ts';
import type { LinksApiDeps } from '../deps.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PAGE_SIZE = 50;

/**
 * The console's Activity screen of one link (`/links/:id/activity?action=&cursor=`): the same domain calls as
 * the owner API (`GET /api/shared-links/:id/activity[/summary]`), server-rendered. Another user's link (or
 * none) sends the owner back to the Links screen, as the other link pages do.
 */
export function consoleActivityRoutes(
  fastify: FastifyInstance,
  deps: LinksApiDeps,
  owner: (req: FastifyRequest) => Promise<UserRow | null>,
  assets: ConsoleAssets,
  pageHeaders: Record<string, string>,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = deps;
  app.get(
    '/links/:id/activity',
    {
      config: { public: true },
      schema: {
        hide: true,
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({
          action: Type.Optional(Type.String({ maxLength: 64 })),
          cursor: Type.Optional(Type.String({ maxLength: 200 })),
        }),
      },
    },
    async (req, reply) => {
      reply.headers(pageHeaders).type('text/html; charset=utf-8');
      const user = await owner(req);
      if (!user) return reply.redirect('/', 303);
      const id = req.params.id;
      const mine =
        UUID.test(id) &&
        (await requireAccess(db, user.id, 'sharedLink.read', id).then(
          () => true,
          () => false,
        ));
      if (!mine) return reply.redirect('/links', 303);
      // an unknown action shows everything; a cursor that is not one of ours starts from the newest
      const action = (LINK_ACTIVITY_ACTIONS as readonly string[]).includes(req.query.action ?? '')
        ? (req.query.action as LinkActivityActionName)
        : null;
      const query = { limit: PAGE_SIZE, ...(action ? { action } : {}) };
      const log = await listLinkActivity(db, id, {
        ...query,
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
      }).catch((e: unknown) => {
        if (e instanceof DomainError) return listLinkActivity(db, id, query);
        throw e;
      });
      const [link, summary] = await Promise.all([
        getSharedLink(db, { userId: user.id, publicUrl: deps.config.PUBLIC_URL }, id),
        summarizeLinkActivity(db, id),
      ]);
      return linkActivityPage(en, assets, user, link, summary, log, action);
    },
  );
}
