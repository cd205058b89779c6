import cookie from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ErrorResponse } from '@immish/contracts';
import { createHttpApp, createRedis, type FastPath, withDeadline } from '@immish/runtime';
import type { FastifyInstance } from 'fastify';
import { ActivityLogRecorder } from './activity-log.ts';
import { LinkAssetCache } from './asset-cache.ts';
import { ByteLru } from './cache.ts';
import type { GatewayDeps } from './deps.ts';
import { recipientFastPath } from './fast-path.ts';
import { LinkActivityRecorder } from './link-activity.ts';
import { LinkBodyCache } from './link-bodies.ts';
import { AdmissionTokens, LinkLimits } from './link-limits.ts';
import { LinkResolver } from './link-resolver.ts';
import type { GatewayContext } from './recipient.ts';
import { exportRoutes } from './routes/exports.ts';
import { meRoutes } from './routes/me.ts';
import { mediaRoutes } from './routes/media.ts';
import { pageRoutes } from './routes/pages.ts';
import { unlockRoutes } from './routes/unlock.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { defaultResponseHeaders } from './security-headers.ts';
import { passwordVerificationGate, UnlockThrottle, UnlockTokens } from './unlock.ts';

export type { GatewayDeps };
export type GatewayApp = FastifyInstance;

declare module 'fastify' {
  interface FastifyInstance {
    /** the link counters being written in the background (`settled()`: tests wait for them) */
    linkActivity: LinkActivityRecorder;
    /** the per-link activity log's background writer (undefined when ACTIVITY_LOG=false) */
    activityLog: ActivityLogRecorder | undefined;
    /** answers the fast path (fast-path.ts) gave since start: tests tell by it which way requests went */
    readonly fastAnswers: number;
  }
}

/** Only what the share page's password form posts; anything bigger is not a password form. */
const FORM_BODY_LIMIT = 8 * 1024;
/** Thumbnails (~10–30 KB) and small previews kept in memory: 64 MB holds a few thousand. */
const DERIVATIVE_CACHE_BYTES = 64 * 1024 * 1024;
const DERIVATIVE_CACHE_MAX_ITEM = 512 * 1024;

/**
 * Builds the share gateway (docs/spec.md §5): the recipient JSON API, media, downloads, uploads and share pages.
 * No listening: main.ts listens, tests inject or listen on port 0. Each area is one route plugin that gets
 * the GatewayContext (deps + link resolution + unlock), so pages can be added as their own plugin.
 */
export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const { config } = deps;
  // the fast path needs the caches built below (ctx): bound once they exist, answering nothing until then
  let fastPath: FastPath | undefined;
  const app = createHttpApp({
    logger: deps.logger,
    fastPath: (req, info) => fastPath?.(req, info),
    bodyLimit: config.BODY_LIMIT_BYTES,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    responseDeadlineMs: config.RESPONSE_DEADLINE_MS,
    trustProxy: config.TRUST_PROXY,
    accessLog: config.ACCESS_LOG,
    defaultHeaders: defaultResponseHeaders,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema(ErrorResponse);
  // Cookies are read only where needed (the unlock cookie of a password link, recipient.ts), not parsed on
  // every request; setting them (unlock) works as usual.
  await app.register(cookie, { hook: false });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
    (_req, body, done) => {
      const out: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(body as string)) out[k] = v;
      done(null, out);
    },
  );

  // the link cache and the caches kept per link: the resolver drops a link from all of them at once
  const assets = new LinkAssetCache({ ttlMs: config.LINK_CACHE_TTL_MS });
  const bodies = new LinkBodyCache({ maxEntries: 256, ttlMs: config.LINK_CACHE_TTL_MS });
  // share-page grid pages (routes/pages.ts): up to ~350 KB each with their compressed forms, so fewer of them
  const pages = new LinkBodyCache({ maxEntries: 128, ttlMs: config.LINK_CACHE_TTL_MS });
  const links = new LinkResolver({
    db: deps.db,
    ttlMs: config.LINK_CACHE_TTL_MS,
    dependents: [assets, bodies, pages],
  });
  // A subscribed connection can do nothing else, and it must wait out Redis outages rather than fail fast.
  const subscriber = deps.subscriber ?? createRedis(config, 'subscriber', { connectionName: 'share-gateway:links' });
  try {
    await withDeadline(links.subscribe(subscriber, config.QUEUE_PREFIX), 3000, 'link-invalidation subscribe');
  } catch (e) {
    // the cache TTL still bounds staleness; ioredis subscribes again once Redis is back
    if (deps.logger) deps.logger.warn({ err: (e as Error).message }, 'link cache invalidation not subscribed yet');
  }
  app.addHook('onClose', async () => {
    await links.close();
    if (!deps.subscriber) subscriber.disconnect();
  });

  const ctx: GatewayContext = {
    deps,
    links,
    assets,
    bodies,
    pages,
    tokens: new UnlockTokens({ secret: config.UNLOCK_SECRET, ttlHours: config.UNLOCK_TTL_HOURS }),
    throttle: new UnlockThrottle({
      redis: deps.redis,
      prefix: config.QUEUE_PREFIX,
      maxPerIp: config.UNLOCK_MAX_FAILURES_PER_IP,
      maxPerLink: config.UNLOCK_MAX_FAILURES_PER_LINK,
    }),
    passwordVerifications: deps.passwordVerifications ?? passwordVerificationGate(config),
    derivatives: new ByteLru(DERIVATIVE_CACHE_BYTES, DERIVATIVE_CACHE_MAX_ITEM),
    activity: new LinkActivityRecorder(deps.db, (err, linkId, counts) =>
      app.log.warn(
        { err: (err as Error).message, linkId, counts },
        'link counters not written (retried while running)',
      ),
    ),
    activityLog: config.ACTIVITY_LOG
      ? new ActivityLogRecorder(deps.db, {
          onError: (err, entries) =>
            app.log.warn(
              { err: (err as Error).message, entries },
              'activity log entries not written yet (kept, retried)',
            ),
        })
      : undefined,
    activityClient: {
      mode: config.ACTIVITY_IP_MODE,
      ...(config.ACTIVITY_IP_MODE === 'hash' ? { hashKey: config.ACTIVITY_HASH_KEY } : {}),
    },
    limits: new LinkLimits({
      db: deps.db,
      redis: deps.redis,
      prefix: config.QUEUE_PREFIX,
      links,
      tokens: new AdmissionTokens({ unlockSecret: config.UNLOCK_SECRET }),
      onError: (err) => app.log.warn({ err: (err as Error).message }, 'link exhaustion not published'),
    }),
    fastAnswers: 0,
  };
  fastPath = recipientFastPath(ctx);
  // limited links: the admission cookie a request earned (or renewed) goes out with its response, whatever it is
  // (callback style: an async hook costs every response a promise and a microtask turn)
  app.addHook('onSend', (req, reply, payload, done) => {
    ctx.limits.applyCookie(req, reply);
    done(null, payload);
  });

  app.decorate('linkActivity', ctx.activity);
  app.decorate('fastAnswers', { getter: () => ctx.fastAnswers });
  // after the HTTP server has stopped: counter increments still being written land before the pool closes
  app.addHook('onClose', async () => ctx.activity.drain());
  app.decorate('activityLog', ctx.activityLog);
  app.addHook('onClose', async () => ctx.activityLog?.drain());

  await app.register(unlockRoutes(ctx));
  await app.register(meRoutes(ctx));
  await app.register(mediaRoutes(ctx));
  await app.register(exportRoutes(ctx));
  await app.register(uploadRoutes(ctx));
  await app.register(pageRoutes(ctx));
  return app;
}
