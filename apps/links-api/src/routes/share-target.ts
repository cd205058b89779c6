import { listAlbumDtos } from '@immish/domain';
import { CONTENT_SECURITY_POLICY, securityHeaders } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleAsset, ConsoleBundle } from '../console/bundle.ts';
import { buildPwaBundle } from '../console/pwa/bundle.ts';
import { ICON_SIZES, iconPng } from '../console/pwa/icons.ts';
import { webManifest } from '../console/pwa/manifest.ts';
import { SHARE_TARGET_PATH } from '../console/pwa/paths.ts';
import { shareEn } from '../console/pwa/strings.en.ts';
import { shareScreenPage, shareSignInPage } from '../console/pwa/views.ts';
import type { LinksApiDeps } from '../deps.ts';
import { sessionCookieOf } from '../sign-in.ts';
import type { SignInContext } from './auth.ts';

/** What a phone may stream at /share-target when no service worker took it: read and dropped, never kept. */
const UNHANDLED_SHARE_MAX_BYTES = 512 * 1024 * 1024;

/**
 * The console's pages, plus `worker-src 'self'`: the console registers its service worker (issue 15). The
 * default-src already allows it; said explicitly so that tightening default-src later keeps the PWA working.
 */
const pageHeaders = {
  ...securityHeaders,
  'content-security-policy': `${CONTENT_SECURITY_POLICY}; worker-src 'self'; manifest-src 'self'`,
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

function serve(asset: ConsoleAsset, cacheControl: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    reply.headers({ ...securityHeaders, 'content-type': asset.contentType, etag: `"${asset.hash}"` });
    reply.header('cache-control', cacheControl);
    if (req.headers['if-none-match'] === `"${asset.hash}"`) return reply.status(304).send();
    return reply.send(asset.body);
  };
}

/**
 * The installable console (issue 15; docs/architecture.md "plus a service worker for the PWA"): the web app
 * manifest with its icons and share target, the service worker at `/sw.js` (scope `/`), and the "Upload to
 * immish" screen at /share-target (GET; the share POST is answered by the service worker).
 */
export const shareTargetRoutes =
  (deps: LinksApiDeps, signIn: SignInContext, consoleBundle: ConsoleBundle): FastifyPluginAsync =>
  async (app) => {
    const consoleCss = `/static/console.css?v=${consoleBundle.css.hash}`;
    const consoleJs = `/static/console.js?v=${consoleBundle.js.hash}`;
    const pwa = await buildPwaBundle([consoleCss, consoleJs]);
    const assets = { consoleCss, css: pwa.shareScreenCssUrl, js: pwa.shareScreenUrl };
    const icons = new Map(ICON_SIZES.map((size) => [size, iconPng(size)]));
    const manifest = JSON.stringify(webManifest());
    const pub = { config: { public: true }, schema: { hide: true } } as const;
    const immutable = 'public, max-age=31536000, immutable';

    app.get('/manifest.webmanifest', pub, async (_req, reply) =>
      reply
        .headers({ ...securityHeaders, 'cache-control': 'no-cache' })
        .type('application/manifest+json; charset=utf-8')
        .send(manifest),
    );
    for (const [size, png] of icons)
      app.get(`/icons/icon-${size}.png`, pub, async (_req, reply) =>
        reply
          .headers({ ...securityHeaders, 'cache-control': 'public, max-age=86400' })
          .type('image/png')
          .send(png),
      );
    // the worker script is checked for updates on every navigation: never cached by HTTP
    app.get('/sw.js', pub, serve(pwa.serviceWorker, 'no-cache'));
    app.get('/static/share-screen.js', pub, serve(pwa.shareScreen, immutable));
    app.get('/static/share-screen.css', pub, serve(pwa.shareScreenCss, immutable));

    app.get(SHARE_TARGET_PATH, pub, async (req, reply) => {
      reply.headers(pageHeaders).type('text/html; charset=utf-8');
      const user = (await signIn.sessions.authenticate(sessionCookieOf(req)))?.user ?? null;
      if (!user) return shareSignInPage(shareEn, assets);
      const albums = (await listAlbumDtos(deps.db, user.id)).filter((a) => a.ownerId === user.id);
      const lost = 'lost' in (req.query as Record<string, unknown>);
      return shareScreenPage(shareEn, assets, user, albums, lost);
    });

    // A share POST that no service worker took (the app was installed but its worker is gone, or a browser
    // without one): the files are read and dropped, nothing is stored, and the screen says to share again.
    app.addContentTypeParser('multipart/form-data', (_req, payload, done) => {
      let seen = 0;
      let finished = false;
      const finish = () => {
        if (!finished) done(null, null);
        finished = true;
      };
      payload.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > UNHANDLED_SHARE_MAX_BYTES) payload.destroy();
      });
      payload.on('end', finish);
      payload.on('error', finish);
      payload.on('close', finish);
    });
    app.post(SHARE_TARGET_PATH, pub, async (_req, reply) =>
      reply.headers(pageHeaders).redirect(`${SHARE_TARGET_PATH}?lost=1`, 303),
    );
  };
