import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { LinksApiDeps } from '../deps.ts';

export const exportsRoutes =
  (_deps: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const _app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  };
