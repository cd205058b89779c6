import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse } from '@immish/contracts';
import { PasswordCheck, Sessions } from '@immish/domain';
import { ConcurrencyGate, createHttpApp } from '@immish/runtime';
import type { FastifyInstance } from 'fastify';
import { registerAuth } from './auth.ts';
import { buildConsoleBundle } from './console/bundle.ts';
import type { LinksApiDeps } from './deps.ts';
import { albumsRoutes } from './routes/albums.ts';
import { assetsRoutes } from './routes/assets.ts';
import { authRoutes } from './routes/auth.ts';
import { consoleRoutes } from './routes/console.ts';
import { exportsRoutes } from './routes/exports.ts';
import { linkActivityRoutes } from './routes/link-activity.ts';
import { linkUploadsRoutes } from './routes/link-uploads.ts';
import { serverRoutes } from './routes/server.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { shareTargetRoutes } from './routes/share-target.ts';
import { sharedLinksRoutes } from './routes/shared-links.ts';
import { uploadBatchesRoutes } from './routes/upload-batches.ts';
import { userRoutes } from './routes/users.ts';
import { webhooksRoutes } from './routes/webhooks.ts';
import { LoginThrottle } from './sign-in.ts';

export type LinksApp = FastifyInstance;
export type { LinksApiDeps };

/** Builds the owner API (docs/spec.md §4). No listening: main.ts listens, tests inject or listen on port 0. */
export async function buildApp(deps: LinksApiDeps): Promise<FastifyInstance> {
  const app = createHttpApp({
    logger: deps.logger,
    bodyLimit: deps.config.BODY_LIMIT_BYTES,
    requestTimeoutMs: deps.config.REQUEST_TIMEOUT_MS,
    responseDeadlineMs: deps.config.RESPONSE_DEADLINE_MS,
    trustProxy: deps.config.TRUST_PROXY,
    accessLog: deps.config.ACCESS_LOG,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorResponse);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'immish links-api',
        version: '0.1.0',
        description: 'Owner API (Immich-compatible where Immich has the operation)',
      },
      components: {
        securitySchemes: {
          api_key: { type: 'apiKey', in: 'header', name: 'x-api-key' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ api_key: [] }, { bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/api/docs', uiConfig: { deepLinking: false } });
  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  // Cookies are parsed only where read (the session cookie, sign-in.ts); setting them works as usual.
  await app.register(cookie, { hook: false });
  const { config } = deps;
  const sessions = new Sessions(deps.db, { idleDays: config.SESSION_IDLE_DAYS, maxDays: config.SESSION_MAX_DAYS });
  const authenticator = registerAuth(app, deps.db, sessions);
  await app.register(serverRoutes(deps));
  await app.register(userRoutes(deps, authenticator));
  const signIn = {
    sessions,
    passwords: new PasswordCheck(deps.db),
    throttle: new LoginThrottle({
      redis: deps.redis,
      prefix: config.QUEUE_PREFIX,
      maxPerIp: config.LOGIN_MAX_FAILURES_PER_IP,
      maxPerAccount: config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
    }),
    // a few checks wait for a slot (~80 ms each); beyond that 503 + Retry-After, as the gateway's unlocks
    verifications: new ConcurrencyGate({
      name: 'password verifications',
      slots: config.LOGIN_VERIFY_CONCURRENCY,
      queue: config.LOGIN_VERIFY_CONCURRENCY * 8,
    }),
  };
  await app.register(authRoutes(signIn));
  // The owner's whole list of links is the heaviest answer here (~5 ms of one core per 100 links with their
  // assets, all of it synchronous once the rows arrive): two are built at a time, so a burst of owners asking at
  // once does not hold the event loop for a turn per answer (docs/benchmarks.md "The owner's list under a
  // burst": its loop p99 under 50 at once 100–121 ms → 20–23 ms, the same answers per second); 64 more wait in
  // line (~0.2–0.3 s of work), beyond that 503 + Retry-After at once rather than a queue the response deadline
  // would cut anyway. One user has at most 4 of them running or waiting (then 429): no one API key can fill the
  // line for every owner.
  // The console's list page counts against the same gate: the same work, behind a session instead of a key.
  const linkLists = new ConcurrencyGate({ name: 'link lists', slots: 2, queue: 64, perKey: 4 });
  const consoleBundle = deps.consoleBundle ?? (await buildConsoleBundle());
  await app.register(consoleRoutes(deps, signIn, { linkLists }, consoleBundle));
  await app.register(shareTargetRoutes(deps, signIn, consoleBundle));
  await app.register(sessionRoutes(sessions));
  await app.register(albumsRoutes(deps));
  await app.register(sharedLinksRoutes(deps, { linkLists }));
  await app.register(linkActivityRoutes(deps));
  await app.register(linkUploadsRoutes(deps));
  await app.register(assetsRoutes(deps));
  await app.register(uploadBatchesRoutes(deps));
  await app.register(exportsRoutes(deps));
  await app.register(webhooksRoutes(deps));
  return app;
}
