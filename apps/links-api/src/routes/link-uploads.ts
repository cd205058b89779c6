import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  IdParams,
  IMMISH_ROUTE_PERMISSIONS,
  LinkUploadDecisionDto,
  LinkUploadDecisionResponseDto,
  LinkUploadDto,
  LinkUploadsQuery,
} from '@immish/contracts';
import { approveLinkUploads, type LinkUploadCaller, listLinkUploads, rejectLinkUploads } from '@immish/domain';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 404: err };
const tags = ['shared-links'];

/**
 * Guest-upload moderation, owner side (issue 19 item 3, README "Guest-upload moderation"): the review queue of a
 * link with `uploadReview`, and the owner's decisions. Only the link's owner: another owner's link answers like a
 * missing one (the domain checks ownership, as for every link route).
 */
export const linkUploadsRoutes =
  ({ db, storage }: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const who = (req: FastifyRequest): LinkUploadCaller => ({
      userId: caller(req).user.id,
      correlationId: String(req.id),
    });

    app.get(
      '/api/shared-links/:id/uploads',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/shared-links/:id/uploads'] },
        schema: {
          tags,
          operationId: 'getSharedLinkUploads',
          summary:
            "immish: uploads through the link in one review state (default pending), with the owner's thumbnails",
          params: IdParams,
          querystring: LinkUploadsQuery,
          response: { 200: Type.Array(LinkUploadDto), ...errors },
        },
      },
      async (req) => listLinkUploads(db, who(req), req.params.id, req.query.status ?? 'pending'),
    );

    app.post(
      '/api/shared-links/:id/uploads/approve',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['POST /api/shared-links/:id/uploads/approve'] },
        schema: {
          tags,
          operationId: 'approveSharedLinkUploads',
          summary: 'immish: pending uploads join the album (or the link)',
          params: IdParams,
          body: LinkUploadDecisionDto,
          response: { 200: LinkUploadDecisionResponseDto, ...errors },
        },
      },
      async (req) => approveLinkUploads(db, who(req), req.params.id, req.body.assetIds),
    );

    app.post(
      '/api/shared-links/:id/uploads/reject',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['POST /api/shared-links/:id/uploads/reject'] },
        schema: {
          tags,
          operationId: 'rejectSharedLinkUploads',
          summary: 'immish: pending uploads are deleted, their files removed from storage',
          params: IdParams,
          body: LinkUploadDecisionDto,
          response: { 200: LinkUploadDecisionResponseDto, ...errors },
        },
      },
      async (req) => rejectLinkUploads({ db, storage }, who(req), req.params.id, req.body.assetIds),
    );
  };
