import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, SessionResponseDto } from '@immish/contracts';
import { type Sessions, toSessionDto } from '@immish/domain';
import { noAccess } from '@immish/runtime';
import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };

/** Immich's `/api/sessions`: the caller's signed-in devices, and signing them out. */
export const sessionRoutes =
  (sessions: Sessions): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/sessions',
      {
        config: { permission: 'session.read' },
        schema: { tags: ['sessions'], response: { 200: Type.Array(SessionResponseDto), ...errors } },
      },
      async (req) => {
        const { user, session } = caller(req);
        return (await sessions.list(user.id)).map((s) => toSessionDto(s, session?.id ?? null));
      },
    );

    app.delete(
      '/api/sessions',
      // Immich: every session but the caller's own
      {
        config: { permission: 'session.delete' },
        schema: { tags: ['sessions'], response: { 204: Type.Null(), ...errors } },
      },
      async (req, reply) => {
        const { user, session } = caller(req);
        await sessions.revokeOthers(user.id, session?.id ?? null);
        return reply.status(204).send(null);
      },
    );

    app.delete(
      '/api/sessions/:id',
      {
        config: { permission: 'session.delete' },
        schema: { tags: ['sessions'], params: IdParams, response: { 204: Type.Null(), ...errors } },
      },
      async (req, reply) => {
        if (!(await sessions.revoke(caller(req).user.id, req.params.id))) throw noAccess('Session not found');
        return reply.status(204).send(null);
      },
    );
  };
