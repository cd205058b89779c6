import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { UserRow } from '@immish/db';
import { approveLinkUploads, getSharedLink, listLinkUploads, rejectLinkUploads, requireAccess } from '@immish/domain';
import { DomainError } from '@immish/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { confirmDecisionPage, reviewPage } from '../console/review-views.ts';
import { en } from '../console/strings.en.ts';
import type { ConsoleAssets, Notice } from '../console/views.ts';
import type { LinksApiDeps } from '../deps.ts';
import { assertSameOrigin } from '../sign-in.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The console's review screen of a link's guest uploads (issue 19 item 3): `GET /links/:id/uploads` lists the pending
 * ones; `POST` with the ticked ids and a decision asks for confirmation, then (with `confirm`) decides through the
 * same domain calls as the API and redirects back with the outcome. Only the link's owner; anything else → Links.
 */
export function consoleReviewRoutes(
  fastify: FastifyInstance,
  deps: LinksApiDeps,
  owner: (req: FastifyRequest) => Promise<UserRow | null>,
  assets: ConsoleAssets,
  pageHeaders: Record<string, string>,
): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { db, storage } = deps;
  const page = { config: { public: true } } as const;
  const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
  const ownLink = async (user: UserRow, id: string) =>
    UUID.test(id) &&
    (await requireAccess(db, user.id, 'sharedLink.update', id).then(
      () => true,
      () => false,
    ))
      ? getSharedLink(db, { userId: user.id, publicUrl: deps.config.PUBLIC_URL }, id)
      : null;

  app.get(
    '/links/:id/uploads',
    {
      ...page,
      schema: {
        hide: true,
        params: IdParams,
        querystring: Type.Object({
          done: Type.Optional(Type.Union([Type.Literal('approved'), Type.Literal('rejected')])),
          n: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
          all: Type.Optional(Type.Literal('1')),
        }),
      },
    },
    async (req, reply) => {
      reply.headers(pageHeaders).type('text/html; charset=utf-8');
      const user = await owner(req);
      if (!user) return reply.redirect('/', 303);
      const link = await ownLink(user, req.params.id);
      if (!link) return reply.redirect('/links', 303);
      const pending = await listLinkUploads(db, { userId: user.id }, link.id, 'pending');
      const n = req.query.n ?? 0;
      const notice: Notice | null = req.query.done
        ? { text: req.query.done === 'approved' ? en.review.approved(n) : en.review.rejected(n), error: false }
        : null;
      return reviewPage(en, assets, user, link, pending, notice, req.query.all === '1');
    },
  );

  app.post(
    '/links/:id/uploads',
    {
      ...page,
      schema: {
        hide: true,
        params: IdParams,
        body: Type.Object({
          assetId: Type.Optional(
            Type.Union([
              Type.String({ maxLength: 64 }),
              Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1000 }),
            ]),
          ),
          decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
          confirm: Type.Optional(Type.String({ maxLength: 4 })),
        }),
      },
    },
    async (req, reply) => {
      assertSameOrigin(req);
      reply.headers(pageHeaders).type('text/html; charset=utf-8');
      const user = await owner(req);
      if (!user) return reply.redirect('/', 303);
      const link = await ownLink(user, req.params.id);
      if (!link) return reply.redirect('/links', 303);
      const given = req.body.assetId;
      const assetIds = (given === undefined ? [] : Array.isArray(given) ? given : [given]).filter((id) =>
        UUID.test(id),
      );
      const { decision } = req.body;
      if (assetIds.length === 0) {
        const pending = await listLinkUploads(db, { userId: user.id }, link.id, 'pending');
        return reply
          .status(400)
          .send(reviewPage(en, assets, user, link, pending, { text: en.review.noneSelected, error: true }));
      }
      if (req.body.confirm !== '1') return confirmDecisionPage(en, assets, user, link, decision, assetIds, null);
      const who = { userId: user.id, correlationId: String(req.id) };
      try {
        if (decision === 'approve') await approveLinkUploads(db, who, link.id, assetIds);
        else await rejectLinkUploads({ db, storage }, who, link.id, assetIds);
      } catch (e) {
        if (!(e instanceof DomainError)) throw e;
        return reply
          .status(e.statusCode)
          .send(confirmDecisionPage(en, assets, user, link, decision, assetIds, `${en.review.failed}: ${e.message}`));
      }
      const done = decision === 'approve' ? 'approved' : 'rejected';
      return reply.redirect(`/links/${link.id}/uploads?done=${done}&n=${assetIds.length}`, 303);
    },
  );
}
