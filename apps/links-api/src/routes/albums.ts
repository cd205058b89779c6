import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AddUsersDto,
  AlbumAssetsPageDto,
  AlbumAssetsQuery,
  AlbumIdParams,
  AlbumResponseDto,
  AlbumStatisticsResponseDto,
  AlbumsAddAssetsDto,
  AlbumsAddAssetsResponseDto,
  AlbumUserParams,
  BulkIdResponseDto,
  BulkIdsDto,
  CreateAlbumDto,
  GetAlbumsQuery,
  IMMISH_ROUTE_PERMISSIONS,
  UpdateAlbumDto,
  UpdateAlbumUserDto,
} from '@immish/contracts';
import {
  type AlbumCaller,
  addAlbumMembers,
  addAssetsToAlbum,
  addAssetsToAlbums,
  albumFilterFromQuery,
  albumStatistics,
  createAlbum,
  deleteAlbum,
  getAlbumDto,
  isLeavingAlbum,
  listAlbumAssets,
  listAlbumDtos,
  removeAlbumMember,
  removeAssetsFromAlbum,
  requireAccess,
  requireAlbumRole,
  updateAlbum,
  updateAlbumMemberRole,
} from '@immish/domain';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };
const tags = ['albums'];

const albumCaller = (req: FastifyRequest): AlbumCaller => ({ userId: caller(req).user.id, correlationId: req.id });

/** docs/spec.md §4.3: albums and members, Immich-compatible; the role table is enforced by the access module. */
export const albumsRoutes =
  ({ db }: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/albums',
      {
        config: { permission: 'album.read' },
        schema: { tags, querystring: GetAlbumsQuery, response: { 200: Type.Array(AlbumResponseDto), ...errors } },
      },
      async (req) => listAlbumDtos(db, caller(req).user.id, albumFilterFromQuery(req.query)),
    );

    app.post(
      '/api/albums',
      {
        config: { permission: 'album.create' },
        schema: { tags, body: CreateAlbumDto, response: { 201: AlbumResponseDto, ...errors } },
      },
      async (req, reply) => reply.status(201).send(await createAlbum(db, albumCaller(req), req.body)),
    );

    app.get(
      '/api/albums/statistics',
      {
        config: { permission: 'album.statistics' },
        schema: { tags, response: { 200: AlbumStatisticsResponseDto, ...errors } },
      },
      async (req) => albumStatistics(db, caller(req).user.id),
    );

    app.put(
      '/api/albums/assets',
      {
        config: { permission: 'albumAsset.create' },
        schema: {
          tags,
          description: 'Adds every asset the caller may share to every album the caller may add to (owner, editor).',
          body: AlbumsAddAssetsDto,
          response: { 200: AlbumsAddAssetsResponseDto, ...errors },
        },
      },
      async (req) => addAssetsToAlbums(db, albumCaller(req), req.body.albumIds, req.body.assetIds),
    );

    app.get(
      '/api/albums/:id',
      {
        config: { permission: 'album.read' },
        schema: { tags, params: AlbumIdParams, response: { 200: AlbumResponseDto, ...errors } },
      },
      async (req) => {
        const userId = caller(req).user.id;
        await requireAccess(db, userId, 'album.read', req.params.id);
        return getAlbumDto(db, userId, req.params.id);
      },
    );

    app.patch(
      '/api/albums/:id',
      {
        config: { permission: 'album.update' },
        schema: { tags, params: AlbumIdParams, body: UpdateAlbumDto, response: { 200: AlbumResponseDto, ...errors } },
      },
      async (req) => {
        const who = albumCaller(req);
        await requireAccess(db, who.userId, 'album.update', req.params.id);
        return updateAlbum(db, who, req.params.id, req.body);
      },
    );

    app.delete(
      '/api/albums/:id',
      {
        config: { permission: 'album.delete' },
        schema: { tags, params: AlbumIdParams, response: { 204: Type.Null(), ...errors } },
      },
      async (req, reply) => {
        const who = albumCaller(req);
        await requireAccess(db, who.userId, 'album.delete', req.params.id);
        await deleteAlbum(db, who, req.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/albums/:id/assets',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/albums/:id/assets'] },
        schema: {
          tags,
          description: 'immish: the album’s assets, newest first, one page at a time (any member).',
          params: AlbumIdParams,
          querystring: AlbumAssetsQuery,
          response: { 200: AlbumAssetsPageDto, ...errors },
        },
      },
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'album.read', req.params.id);
        return listAlbumAssets(db, req.params.id, req.query.page, req.query.size);
      },
    );

    app.put(
      '/api/albums/:id/assets',
      {
        config: { permission: 'albumAsset.create' },
        schema: {
          tags,
          params: AlbumIdParams,
          body: BulkIdsDto,
          response: { 200: Type.Array(BulkIdResponseDto), ...errors },
        },
      },
      async (req) => {
        const who = albumCaller(req);
        await requireAccess(db, who.userId, 'album.addAssets', req.params.id);
        return addAssetsToAlbum(db, who, req.params.id, req.body.ids);
      },
    );

    app.delete(
      '/api/albums/:id/assets',
      {
        config: { permission: 'albumAsset.delete' },
        schema: {
          tags,
          params: AlbumIdParams,
          body: BulkIdsDto,
          response: { 200: Type.Array(BulkIdResponseDto), ...errors },
        },
      },
      async (req) => {
        const who = albumCaller(req);
        const role = await requireAlbumRole(db, who.userId, 'album.removeAssets', req.params.id);
        return removeAssetsFromAlbum(db, who, req.params.id, role, req.body.ids);
      },
    );

    app.put(
      '/api/albums/:id/users',
      {
        config: { permission: 'albumUser.create' },
        schema: { tags, params: AlbumIdParams, body: AddUsersDto, response: { 200: AlbumResponseDto, ...errors } },
      },
      async (req) => {
        const who = albumCaller(req);
        await requireAccess(db, who.userId, 'album.manageMembers', req.params.id);
        return addAlbumMembers(db, who, req.params.id, req.body.albumUsers);
      },
    );

    app.put(
      '/api/albums/:id/user/:userId',
      {
        config: { permission: 'albumUser.update' },
        schema: {
          tags,
          params: AlbumUserParams,
          body: UpdateAlbumUserDto,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        const who = albumCaller(req);
        await requireAccess(db, who.userId, 'album.manageMembers', req.params.id);
        await updateAlbumMemberRole(db, who, req.params.id, req.params.userId, req.body.role);
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/albums/:id/user/:userId',
      {
        config: { permission: 'albumUser.delete' },
        schema: {
          tags,
          description: 'Removes a member (owner, editor), or the caller leaves the album (`me` or their own id).',
          params: AlbumUserParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        const who = albumCaller(req);
        const permission = isLeavingAlbum(who, req.params.userId) ? 'album.read' : 'album.manageMembers';
        await requireAccess(db, who.userId, permission, req.params.id);
        await removeAlbumMember(db, who, req.params.id, req.params.userId);
        return reply.status(204).send(null);
      },
    );
  };
