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
  requireAccess,
  updateSharedLink,
} from '@immish/domain';
import type { ConcurrencyGate } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };
const tags = ['shared-links'];

/**
 * docs/spec.md §4.4 — Immich-compatible shared links (owner side). Only the link's owner sees or changes it: each
 * route on one link authorizes with the access module (`sharedLink.*`) before calling the domain, as album routes do.
 */
export const sharedLinksRoutes =
  (
    { db, config, linkStore }: LinksApiDeps,
    /** bounds the whole lists (not one link by `?id=`) built at once (app.ts says why) */
    gates: { linkLists: ConcurrencyGate },
  ): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const policy = linkPolicyFromConfig(config);
    const context = (req: FastifyRequest): LinkContext => ({
      userId: caller(req).user.id,
      publicUrl: config.PUBLIC_URL,
      policy,
      correlationId: String(req.id),
      ...(linkStore ? { store: linkStore } : {}),
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
      async (req) => {
        const { albumId, id } = req.query;
        if (id !== undefined) return listSharedLinks(db, context(req), { albumId, id });
        return gates.linkLists.run(() => listSharedLinks(db, context(req), { albumId }), caller(req).user.id);
      },
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
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'sharedLink.read', req.params.id);
        return getSharedLink(db, context(req), req.params.id);
      },
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
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'sharedLink.update', req.params.id);
        return updateSharedLink(db, context(req), req.params.id, req.body);
      },
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
        await requireAccess(db, caller(req).user.id, 'sharedLink.delete', req.params.id);
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
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'sharedLink.update', req.params.id);
        return addSharedLinkAssets(db, context(req), req.params.id, req.body.assetIds);
      },
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
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'sharedLink.update', req.params.id);
        return removeSharedLinkAssets(db, context(req), req.params.id, req.body.assetIds);
      },
    );
  };
