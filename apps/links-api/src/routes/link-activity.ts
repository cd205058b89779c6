import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, LinkActivityPageDto, LinkActivityQuery, LinkActivitySummaryDto } from '@immish/contracts';
import { listLinkActivity, requireAccess, summarizeLinkActivity } from '@immish/domain';
import type { FastifyPluginAsync } from 'fastify';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };
const tags = ['shared-links'];

/**
 * A shared link's activity log (issue 18, README "Link activity log"): its entries page by page, newest first,
 * and its summary. Only the link's owner: the access module's `sharedLink.read`, so another user's link answers
 * exactly as a link that does not exist (400 "Not found or no access").
 */
export const linkActivityRoutes =
  ({ db }: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/shared-links/:id/activity',
      {
        config: { permission: 'sharedLink.read' },
        schema: {
          tags,
          operationId: 'getSharedLinkActivity',
          params: IdParams,
          querystring: LinkActivityQuery,
          response: { 200: LinkActivityPageDto, ...errors },
        },
      },
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'sharedLink.read', req.params.id);
        return listLinkActivity(db, req.params.id, req.query);
      },
    );

    app.get(
      '/api/shared-links/:id/activity/summary',
      {
        config: { permission: 'sharedLink.read' },
        schema: {
          tags,
          operationId: 'getSharedLinkActivitySummary',
          params: IdParams,
          response: { 200: LinkActivitySummaryDto, ...errors },
        },
      },
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'sharedLink.read', req.params.id);
        return summarizeLinkActivity(db, req.params.id);
      },
    );
  };
