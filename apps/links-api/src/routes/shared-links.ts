import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AssetIdsDto,
  AssetIdsResponseDto,
  IdParams,
  SharedLinkCreateDto,
  SharedLinkEditDto,
  SharedLinkResponseDto,
  SharedLinkSearchQuery,
} from '@immish/contracts';
import {
  addSharedLinkAssets,
  createSharedLink,
  deleteSharedLink,
  getSharedLink,
  type LinkContext,
  linkPolicyFromConfig,
  listSharedLinks,
  removeSharedLinkAssets,
  updateSharedLink,
} from '@immish/domain';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };
const tags = ['shared-links'];

/** docs/spec.md §4.4 — Immich-compatible shared links (owner side). Only the link's owner sees or changes it. */
export const sharedLinksRoutes =
  ({ db, config }: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const policy = linkPolicyFromConfig(config);
    const context = (req: FastifyRequest): LinkContext => ({
      userId: caller(req).user.id,
      publicUrl: config.PUBLIC_URL,
      policy,
      correlationId: String(req.id),
    });

    app.post(
      '/api/shared-links',
      {
        config: { permission: 'sharedLink.create' },
        schema: {
          tags,
          operationId: 'createSharedLink',
          body: SharedLinkCreateDto,
          response: { 201: SharedLinkResponseDto, ...errors, 409: err },
        },
      },
      async (req, reply) => reply.status(201).send(await createSharedLink(db, context(req), req.body)),
    );

    app.get(
      '/api/shared-links',
      {
        config: { permission: 'sharedLink.read' },
        schema: {
          tags,
          operationId: 'getAllSharedLinks',
          querystring: SharedLinkSearchQuery,
          response: { 200: Type.Array(SharedLinkResponseDto), ...errors },
        },
      },
      async (req) => listSharedLinks(db, context(req), { albumId: req.query.albumId, id: req.query.id }),
    );

    app.get(
      '/api/shared-links/:id',
      {
        config: { permission: 'sharedLink.read' },
        schema: {
          tags,
          operationId: 'getSharedLinkById',
          params: IdParams,
          response: { 200: SharedLinkResponseDto, ...errors },
        },
      },
      async (req) => getSharedLink(db, context(req), req.params.id),
    );

    app.patch(
      '/api/shared-links/:id',
      {
        config: { permission: 'sharedLink.update' },
        schema: {
          tags,
          operationId: 'updateSharedLink',
          params: IdParams,
          body: SharedLinkEditDto,
          response: { 200: SharedLinkResponseDto, ...errors, 409: err },
        },
      },
      async (req) => updateSharedLink(db, context(req), req.params.id, req.body),
    );

    app.delete(
      '/api/shared-links/:id',
      {
        config: { permission: 'sharedLink.delete' },
        schema: {
          tags,
          operationId: 'removeSharedLink',
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deleteSharedLink(db, context(req), req.params.id);
        return reply.status(204).send(null);
      },
    );

    app.put(
      '/api/shared-links/:id/assets',
      {
        config: { permission: 'sharedLink.update' },
        schema: {
          tags,
          operationId: 'addSharedLinkAssets',
          params: IdParams,
          body: AssetIdsDto,
          response: { 200: Type.Array(AssetIdsResponseDto), ...errors },
        },
      },
      async (req) => addSharedLinkAssets(db, context(req), req.params.id, req.body.assetIds),
    );

    app.delete(
      '/api/shared-links/:id/assets',
      {
        config: { permission: 'sharedLink.update' },
        schema: {
          tags,
          operationId: 'removeSharedLinkAssets',
          params: IdParams,
          body: AssetIdsDto,
          response: { 200: Type.Array(AssetIdsResponseDto), ...errors },
        },
      },
      async (req) => removeSharedLinkAssets(db, context(req), req.params.id, req.body.assetIds),
    );
  };
