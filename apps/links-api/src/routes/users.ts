import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AdminApiKeyCreateDto,
  ApiKeyCreateDto,
  ApiKeyCreateResponseDto,
  ApiKeyResponseDto,
  IdParams,
  IMMISH_ROUTE_PERMISSIONS,
  UserAdminCreateDto,
  UserAdminResponseDto,
  UserResponseDto,
} from '@immish/contracts';
import {
  type ApiKeyAuthenticator,
  createApiKey,
  createUser,
  toApiKeyDto,
  toUserAdminDto,
  toUserDto,
} from '@immish/domain';
import { forbidden, noAccess } from '@immish/runtime';
import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };

export const userRoutes =
  ({ db }: LinksApiDeps, authenticator?: ApiKeyAuthenticator): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/users/me',
      {
        config: { permission: 'user.read' },
        schema: { tags: ['users'], response: { 200: UserAdminResponseDto, ...errors } },
      },
      async (req) => toUserAdminDto(caller(req).user),
    );

    app.get(
      '/api/api-keys/me',
      // any key may read itself (Immich: `permission: false`; the CLI checks it shows `all`)
      {
        config: { permission: false },
        schema: { tags: ['api-keys'], response: { 200: ApiKeyResponseDto, ...errors } },
      },
      async (req) => {
        const { apiKey } = caller(req);
        // Immich's answer to a login session asking for "its" key
        if (!apiKey) throw forbidden('Not authenticated with an API key');
        return toApiKeyDto(apiKey);
      },
    );

    app.get(
      '/api/api-keys',
      {
        config: { permission: 'apiKey.read' },
        schema: { tags: ['api-keys'], response: { 200: Type.Array(ApiKeyResponseDto), ...errors } },
      },
      async (req) => {
        const rows = await db
          .selectFrom('api_keys')
          .selectAll()
          .where('user_id', '=', caller(req).user.id)
          .orderBy('created_at', 'desc')
          .execute();
        return rows.map(toApiKeyDto);
      },
    );

    app.post(
      '/api/api-keys',
      {
        config: { permission: 'apiKey.create' },
        schema: { tags: ['api-keys'], body: ApiKeyCreateDto, response: { 201: ApiKeyCreateResponseDto, ...errors } },
      },
      async (req, reply) => {
        const { user, apiKey } = caller(req);
        const created = await createApiKey(
          db,
          user.id,
          req.body.name ?? 'API Key',
          req.body.permissions ?? ['all'],
          apiKey?.permissions ?? null,
        );
        return reply.status(201).send(created);
      },
    );

    app.delete(
      '/api/api-keys/:id',
      {
        config: { permission: 'apiKey.delete' },
        schema: { tags: ['api-keys'], params: IdParams, response: { 204: Type.Null(), ...errors } },
      },
      async (req, reply) => {
        const res = await db
          .deleteFrom('api_keys')
          .where('id', '=', req.params.id)
          .where('user_id', '=', caller(req).user.id)
          .executeTakeFirst();
        if (Number(res.numDeletedRows) === 0) throw noAccess('API key not found');
        authenticator?.forget(req.params.id);
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/users/:id',
      {
        config: { permission: 'user.read' },
        schema: { tags: ['users'], params: IdParams, response: { 200: UserResponseDto, ...errors } },
      },
      async (req) => {
        const u = await db
          .selectFrom('users')
          .selectAll()
          .where('id', '=', req.params.id)
          .where('deleted_at', 'is', null)
          .executeTakeFirst();
        if (!u) throw noAccess('User not found');
        return toUserDto(u);
      },
    );

    app.get(
      '/api/users',
      {
        config: { permission: 'user.read' },
        schema: { tags: ['users'], response: { 200: Type.Array(UserResponseDto), ...errors } },
      },
      async () => {
        const rows = await db
          .selectFrom('users')
          .selectAll()
          .where('deleted_at', 'is', null)
          .orderBy('created_at')
          .execute();
        return rows.map(toUserDto);
      },
    );

    app.post(
      '/api/admin/users',
      {
        config: { admin: true, permission: 'adminUser.create' },
        schema: { tags: ['admin'], body: UserAdminCreateDto, response: { 201: UserAdminResponseDto, ...errors } },
      },
      async (req, reply) => {
        const u = await createUser(db, req.body);
        return reply.status(201).send(toUserAdminDto(u, 0));
      },
    );

    app.get(
      '/api/admin/users',
      {
        config: { admin: true, permission: 'adminUser.read' },
        schema: { tags: ['admin'], response: { 200: Type.Array(UserAdminResponseDto), ...errors } },
      },
      async () => {
        const rows = await db.selectFrom('users').selectAll().orderBy('created_at').execute();
        return rows.map((u) => toUserAdminDto(u));
      },
    );

    app.post(
      '/api/admin/users/:id/api-keys',
      {
        config: { admin: true, permission: IMMISH_ROUTE_PERMISSIONS['POST /api/admin/users/:id/api-keys'] },
        schema: {
          tags: ['admin'],
          params: IdParams,
          body: AdminApiKeyCreateDto,
          response: { 201: ApiKeyCreateResponseDto, ...errors },
        },
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(await createApiKey(db, req.params.id, req.body.name, ['all'], caller(req).apiKey?.permissions ?? null)),
    );
  };
