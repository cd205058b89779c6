import type { Db } from '@immish/db';
import { ApiKeyAuthenticator, type AuthUser, apiKeyFromHeaders } from '@immish/domain';
import { forbidden } from '@immish/runtime';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthUser | null;
  }
  interface FastifyContextConfig {
    /** routes that need no API key (server info, docs); everything else requires one (deny by default) */
    public?: boolean;
  }
}

/** Every `/api` route requires an API key unless it is marked `config: { public: true }`. */
export function registerAuth(app: FastifyInstance, db: Db): ApiKeyAuthenticator {
  const authenticator = new ApiKeyAuthenticator(db);
  app.decorateRequest('auth', null);
  app.addHook('preValidation', async (req) => {
    const url = req.routeOptions.url;
    if (req.routeOptions.config?.public || !url?.startsWith('/api') || url.startsWith('/api/docs')) return;
    req.auth = await authenticator.authenticate(apiKeyFromHeaders(req.headers));
  });
  return authenticator;
}

/** The authenticated caller (routes behind `registerAuth` always have one). */
export function caller(req: FastifyRequest): AuthUser {
  if (!req.auth) throw new Error('route reached without authentication');
  return req.auth;
}

export async function requireAdmin(req: FastifyRequest): Promise<void> {
  if (!caller(req).user.is_admin) throw forbidden('Forbidden: admin privileges required');
}
