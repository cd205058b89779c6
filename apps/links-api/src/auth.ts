import type { Permission } from '@immish/contracts';
import type { Db } from '@immish/db';
import { ApiKeyAuthenticator, type AuthUser, apiKeyFromHeaders, authorizeRoute } from '@immish/domain';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthUser | null;
  }
  interface FastifyContextConfig {
    /** routes that need no API key (server info, docs); everything else requires one (deny by default) */
    public?: boolean;
    /** admin users only (Immich's `x-immich-admin-only`) */
    admin?: boolean;
    /**
     * The permission an API key needs for this route: the Immich operation's `x-immich-permission`, or for an
     * immish-only route its entry in contracts' IMMISH_ROUTE_PERMISSIONS; `false` when any key may call it.
     * Undeclared means `all`: a new route refuses scoped keys until someone decides what it needs.
     */
    permission?: Permission | false;
  }
}

/**
 * Every `/api` route requires an API key unless it is marked `config: { public: true }`, and the key must
 * carry the route's declared permission (one decision: domain's authorizeRoute). The declaration is also
 * published in the OpenAPI document as Immich does (`x-immich-permission`, `x-immich-admin-only`).
 */
export function registerAuth(app: FastifyInstance, db: Db): ApiKeyAuthenticator {
  const authenticator = new ApiKeyAuthenticator(db);
  app.decorateRequest('auth', null);
  app.addHook('onRoute', (route) => {
    const { permission, admin } = route.config ?? {};
    if (!permission && !admin) return;
    // @fastify/swagger copies a route schema's `x-` keys into the operation
    const extensions = {
      ...(permission ? { 'x-immich-permission': permission } : {}),
      ...(admin ? { 'x-immich-admin-only': true } : {}),
    };
    route.schema = { ...route.schema, ...extensions } as typeof route.schema;
  });
  app.addHook('preValidation', async (req) => {
    const url = req.routeOptions.url;
    const config = req.routeOptions.config;
    if (config?.public || !url?.startsWith('/api') || url.startsWith('/api/docs')) return;
    const auth = await authenticator.authenticate(apiKeyFromHeaders(req.headers));
    authorizeRoute(auth, { admin: config?.admin === true, permission: config?.permission });
    req.auth = auth;
  });
  return authenticator;
}

/** The authenticated caller (routes behind `registerAuth` always have one). */
export function caller(req: FastifyRequest): AuthUser {
  if (!req.auth) throw new Error('route reached without authentication');
  return req.auth;
}
