import type { Permission } from '@immish/contracts';
import { unauthenticated } from '@immish/contracts';
import type { Db } from '@immish/db';
import { ApiKeyAuthenticator, type AuthUser, authorizeRoute, type Sessions } from '@immish/domain';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { assertSameOrigin, sessionCookieOf } from './sign-in.ts';

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
 * The caller, by its credential (docs/spec.md §1, §14): `x-api-key` is an API key; `Authorization: Bearer` is a
 * login session's access token (Immich) or an API key (immish accepts both there); the `immich_access_token`
 * cookie is a session of the console, and only then is the request checked for CSRF (a header credential is
 * something no other site can make a browser send).
 */
async function authenticate(req: FastifyRequest, apiKeys: ApiKeyAuthenticator, sessions: Sessions): Promise<AuthUser> {
  const key = req.headers['x-api-key'];
  if (typeof key === 'string' && key.length > 0) return apiKeys.authenticate(key);
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer) return (await sessions.authenticate(bearer)) ?? apiKeys.authenticate(bearer);
  const cookie = sessionCookieOf(req);
  if (cookie) {
    const auth = await sessions.authenticate(cookie);
    if (!auth) throw unauthenticated('Invalid user token');
    assertSameOrigin(req);
    return auth;
  }
  return apiKeys.authenticate(null);
}

/**
 * Every `/api` route requires an API key or a session unless it is marked `config: { public: true }`, and the key must
 * carry the route's declared permission (one decision: domain's authorizeRoute). The declaration is also
 * published in the OpenAPI document as Immich does (`x-immich-permission`, `x-immich-admin-only`).
 */
export function registerAuth(app: FastifyInstance, db: Db, sessions: Sessions): ApiKeyAuthenticator {
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
    const auth = await authenticate(req, authenticator, sessions);
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
