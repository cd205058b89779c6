import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { SlugAvailabilityDto, SlugAvailabilityQuery } from '@immish/contracts';
import type { Sessions } from '@immish/domain';
import {
  createSharedLink,
  getAlbumDto,
  linkPolicyFromConfig,
  listAlbumAssets,
  listAlbumDtos,
  listSharedLinks,
  requireAccess,
  slugProblem,
  slugTaken,
} from '@immish/domain';
import { type ConcurrencyGate, DomainError, html, raw, securityHeaders } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import { buildConsoleBundle, type ConsoleAsset, type ConsoleBundle } from '../console/bundle.ts';
import { expiresAtFor } from '../console/expiry.ts';
import { qrModules } from '../console/qr.ts';
import { en } from '../console/strings.en.ts';
import {
  type AddingTo,
  albumPage,
  albumsPage,
  budgetBytes,
  createLinkPage,
  type LinkPageTarget,
  libraryPage,
  linkCreatedPage,
  linksPage,
  loginPage,
} from '../console/views.ts';
import type { LinksApiDeps } from '../deps.ts';
import { assertSameOrigin, sessionCookieOf } from '../sign-in.ts';
import { type SignInContext, signInWithPassword } from './auth.ts';
import { consoleActivityRoutes } from './console-activity.ts';
import {
  ALBUM_PAGE_SIZE,
  consoleFormRoutes,
  formLimits,
  LINK_FORM_FIELDS,
  NoticeQuery,
  noticeFor,
} from './console-forms.ts';
import { consoleReviewRoutes } from './console-review.ts';
import { consoleWebhookRoutes } from './console-webhooks.ts';

/** Photos per library page (`/?page=2` for the next ones: a grid of thousands stays light on a phone). */
const LIBRARY_PAGE_SIZE = 500;
/** Only the sign-in form is posted as a form; anything bigger is not one. */
const FORM_BODY_LIMIT = 8 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The share page's headers, but `Referrer-Policy: same-origin`: under `no-referrer` Chromium sends `Origin: null`
 * with a form post, so the sign-in and Create Shared Link forms without JavaScript failed the same-origin check.
 * Console URLs carry no link keys, and no referrer leaves this origin.
 */
const pageHeaders = { ...securityHeaders, 'referrer-policy': 'same-origin', 'cache-control': 'no-store' };

function serveStatic(asset: ConsoleAsset) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    reply.headers({ ...securityHeaders, 'content-type': asset.contentType, etag: `"${asset.hash}"` });
    const versioned = (req.query as { v?: string }).v === asset.hash;
    reply.header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (req.headers['if-none-match'] === `"${asset.hash}"`) return reply.status(304).send();
    return reply.send(asset.body);
  };
}

/**
 * The owner console (docs/spec.md §14, docs/architecture.md "The owner console follows the share page"):
 * server-rendered pages at `/` on links-api's own origin — the sign-in form (works without JavaScript: it
 * posts to `/login`), then the library with the Create Shared Link dialog — plus the one client bundle.
 */
export const consoleRoutes =
  (
    deps: LinksApiDeps,
    signIn: SignInContext,
    gates: { linkLists: ConcurrencyGate },
    bundle?: ConsoleBundle,
  ): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const built = bundle ?? (await buildConsoleBundle());
    const assets = { css: `/static/console.css?v=${built.css.hash}`, js: `/static/console.js?v=${built.js.hash}` };
    const sessions: Sessions = signIn.sessions;

    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT },
      (_req, body, done) => {
        // a repeated name (the page form's assetId) becomes an array, as a multi-valued form field is
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of new URLSearchParams(body as string)) {
          const prev = out[k];
          out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
        }
        done(null, out);
      },
    );

    const StaticQuery = { querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 64 })) }) };
    app.get(
      '/static/console.js',
      { config: { public: true }, schema: { ...StaticQuery, hide: true } },
      serveStatic(built.js),
    );
    app.get(
      '/static/console.css',
      { config: { public: true }, schema: { ...StaticQuery, hide: true } },
      serveStatic(built.css),
    );

    /** The signed-in owner of a page request, or null (the page then shows the sign-in form). */
    const owner = async (req: FastifyRequest) => (await sessions.authenticate(sessionCookieOf(req)))?.user ?? null;
    const page = { config: { public: true }, schema: { hide: true } } as const;

    app.get(
      '/',
      {
        ...page,
        schema: {
          hide: true,
          querystring: Type.Object({
            addTo: Type.Optional(Type.String()),
            addToAlbum: Type.Optional(Type.String()),
            page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          }),
        },
      },
      async (req, reply) => {
        reply.headers(pageHeaders).type('text/html; charset=utf-8');
        const user = await owner(req);
        if (!user) return loginPage(en, assets, null);
        const pageNumber = req.query.page ?? 1;
        const photos = await deps.db
          .selectFrom('assets')
          .selectAll()
          .where('owner_id', '=', user.id)
          .where('trashed_at', 'is', null)
          .orderBy('file_created_at', 'desc')
          .orderBy('id')
          .limit(LIBRARY_PAGE_SIZE + 1)
          .offset((pageNumber - 1) * LIBRARY_PAGE_SIZE)
          .execute();
        const paging = { page: pageNumber, hasMore: photos.length > LIBRARY_PAGE_SIZE };
        const shown = photos.slice(0, LIBRARY_PAGE_SIZE);
        return libraryPage(en, assets, user, shown, await addingTo(user.id, req.query), paging);
      },
    );

    /**
     * Where the library adds its selection instead of sharing it: one of the owner's own individual links, or an
     * album the owner may add to. Anything else (another user's, a malformed id) finds nothing: plain library.
     */
    const addingTo = async (userId: string, q: { addTo?: string; addToAlbum?: string }): Promise<AddingTo | null> => {
      if (q.addTo && UUID.test(q.addTo)) {
        const [link] = await listSharedLinks(deps.db, { userId, publicUrl: deps.config.PUBLIC_URL }, { id: q.addTo });
        if (link?.type === 'INDIVIDUAL')
          return { kind: 'link', id: link.id, title: link.description || en.links.untitled };
      }
      if (q.addToAlbum && UUID.test(q.addToAlbum)) {
        const allowed = await requireAccess(deps.db, userId, 'album.addAssets', q.addToAlbum).then(
          () => true,
          () => false,
        );
        if (allowed) {
          const album = await getAlbumDto(deps.db, userId, q.addToAlbum);
          return { kind: 'album', id: album.id, title: album.albumName };
        }
      }
      return null;
    };

    app.get(
      '/albums/:id',
      {
        ...page,
        schema: {
          hide: true,
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          querystring: Type.Object({
            notice: NoticeQuery,
            page: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          }),
        },
      },
      async (req, reply) => {
        reply.headers(pageHeaders).type('text/html; charset=utf-8');
        const user = await owner(req);
        if (!user) return reply.redirect('/', 303);
        const id = req.params.id;
        const member =
          UUID.test(id) &&
          (await requireAccess(deps.db, user.id, 'album.read', id).then(
            () => true,
            () => false,
          ));
        // not a member (or no such album): the list, as after leaving one
        if (!member) return reply.redirect('/albums', 303);
        const pageNumber = req.query.page ?? 1;
        const [album, photos] = await Promise.all([
          getAlbumDto(deps.db, user.id, id),
          listAlbumAssets(deps.db, id, pageNumber, ALBUM_PAGE_SIZE),
        ]);
        const paging = { page: pageNumber, hasMore: pageNumber * ALBUM_PAGE_SIZE < photos.total };
        return albumPage(en, assets, user, album, photos.items, noticeFor(req.query.notice), paging);
      },
    );

    app.get(
      '/albums',
      { ...page, schema: { hide: true, querystring: Type.Object({ notice: NoticeQuery }) } },
      async (req, reply) => {
        reply.headers(pageHeaders).type('text/html; charset=utf-8');
        const user = await owner(req);
        if (!user) return reply.redirect('/', 303);
        return albumsPage(en, assets, user, await listAlbumDtos(deps.db, user.id), noticeFor(req.query.notice));
      },
    );

    app.get(
      '/links',
      {
        ...page,
        schema: {
          hide: true,
          querystring: Type.Object({ albumId: Type.Optional(Type.String()), notice: NoticeQuery }),
        },
      },
      async (req, reply) => {
        reply.headers(pageHeaders).type('text/html; charset=utf-8');
        const user = await owner(req);
        if (!user) return reply.redirect('/', 303);
        // a malformed album id filters nothing in: the form's own select only offers real ones
        const albumId = req.query.albumId && UUID.test(req.query.albumId) ? req.query.albumId : null;
        const ctx = { userId: user.id, publicUrl: deps.config.PUBLIC_URL };
        // the owner's whole list, as GET /api/shared-links builds it: through the same gate (app.ts says why).
        // Decision: a refusal is the API's 429/503 + Retry-After in the error shape, not a page — a person at the
        // console never has four lists of theirs in flight; a script hammering the page does.
        const [links, albums] = await Promise.all([
          gates.linkLists.run(() => listSharedLinks(deps.db, ctx, albumId ? { albumId } : {}), user.id),
          listAlbumDtos(deps.db, user.id),
        ]);
        return linksPage(en, assets, user, links, albums, albumId, new Date(), noticeFor(req.query.notice));
      },
    );

    // Create Shared Link without JavaScript: the library's form (GET, the ticked photos) or an album's Share link
    const IdList = Type.Union([
      Type.String({ maxLength: 64 }),
      Type.Array(Type.String({ maxLength: 64 }), { maxItems: 10_000 }),
    ]);
    const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
    /** The link's subject, checked like the API checks it; null when there is none (nothing ticked, no access). */
    const linkTarget = async (userId: string, q: { assetId?: string | string[]; albumId?: string }) => {
      if (q.albumId) {
        if (!UUID.test(q.albumId)) return null;
        const ok = await requireAccess(deps.db, userId, 'album.read', q.albumId).then(
          () => true,
          () => false,
        );
        return ok ? { albumId: q.albumId, albumName: (await getAlbumDto(deps.db, userId, q.albumId)).albumName } : null;
      }
      const assetIds = list(q.assetId).filter((id) => UUID.test(id));
      return assetIds.length > 0 ? { assetIds } : null;
    };

    app.get(
      '/links/new',
      {
        ...page,
        schema: {
          hide: true,
          querystring: Type.Object({
            assetId: Type.Optional(IdList),
            albumId: Type.Optional(Type.String({ maxLength: 64 })),
          }),
        },
      },
      async (req, reply) => {
        reply.headers(pageHeaders).type('text/html; charset=utf-8');
        const user = await owner(req);
        if (!user) return reply.redirect('/', 303);
        const target = await linkTarget(user.id, req.query);
        if (!target) return reply.redirect(req.query.albumId ? '/albums' : '/', 303);
        return createLinkPage(en, assets, user, target, null);
      },
    );

    const linkPolicy = linkPolicyFromConfig(deps.config);
    app.post(
      '/links/new',
      {
        ...page,
        schema: {
          hide: true,
          body: Type.Object({
            assetId: Type.Optional(IdList),
            albumId: Type.Optional(Type.String({ maxLength: 64 })),
            ...LINK_FORM_FIELDS,
          }),
        },
      },
      async (req, reply) => {
        // the session cookie alone proves nothing: the form must come from this origin (CSRF, sign-in.ts)
        assertSameOrigin(req);
        reply.headers(pageHeaders).type('text/html; charset=utf-8');
        const user = await owner(req);
        if (!user) return reply.redirect('/', 303);
        const b = req.body;
        const target: LinkPageTarget | null = await linkTarget(user.id, b);
        if (!target) return reply.redirect('/', 303);
        const album = 'albumId' in target;
        try {
          const link = await createSharedLink(
            deps.db,
            {
              userId: user.id,
              publicUrl: deps.config.PUBLIC_URL,
              policy: linkPolicy,
              correlationId: String(req.id),
              ...(deps.linkStore ? { store: deps.linkStore } : {}),
            },
            {
              ...(album
                ? { type: 'ALBUM' as const, albumId: target.albumId }
                : { type: 'INDIVIDUAL' as const, assetIds: target.assetIds }),
              description: b.description || null,
              expiresAt: expiresAtFor(b.expires ?? 'never'),
              // an unticked checkbox is not sent at all
              allowDownload: b.allowDownload !== undefined,
              allowUpload: album && b.allowUpload !== undefined,
              ...(album
                ? { uploadReview: b.uploadReview !== undefined, maxUploadBytes: budgetBytes(b.maxUploadMb) }
                : {}),
              showMetadata: b.showMetadata !== undefined,
              password: b.password || null,
              slug: b.slug?.trim() || null,
              ...formLimits(b),
            },
          );
          const { size, path } = qrModules(link.url);
          const qr = html`<svg viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges" aria-hidden="true"><rect width="${size}" height="${size}" fill="#fff"/><path d="${raw(path)}" fill="#000"/></svg>`;
          return reply.status(201).send(linkCreatedPage(en, assets, user, link.url, qr));
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          return reply
            .status(e.statusCode)
            .send(createLinkPage(en, assets, user, target, `${en.createLink.failed}: ${e.message}`));
        }
      },
    );

    // Links and Albums actions without JavaScript (console-forms.ts)
    consoleFormRoutes(fastify, deps, sessions, owner, assets, pageHeaders);
    // the Webhooks screen (console-webhooks.ts)
    consoleWebhookRoutes(fastify, deps, owner, assets, pageHeaders);
    // a link's Activity screen (console-activity.ts)
    consoleActivityRoutes(fastify, deps, owner, assets, pageHeaders);
    // the review screen of a link's guest uploads (issue 19)
    consoleReviewRoutes(fastify, deps, owner, assets, pageHeaders);

    // The sign-in form without JavaScript: a session cookie and back to `/`, or the form again with the reason
    app.post(
      '/login',
      {
        config: { public: true },
        schema: {
          hide: true,
          body: Type.Object({
            email: Type.String({ minLength: 1, maxLength: 320 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
          }),
        },
      },
      async (req, reply) => {
        try {
          await signInWithPassword(signIn, req, reply, req.body.email, req.body.password);
          return reply.headers(pageHeaders).redirect('/', 303);
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          const message =
            e.kind === 'rate-limited'
              ? en.signIn.throttled
              : e.kind === 'unavailable'
                ? en.signIn.unavailable
                : en.signIn.failed;
          return reply
            .status(e.kind === 'forbidden' ? 403 : e.kind === 'rate-limited' ? 429 : 401)
            .headers(pageHeaders)
            .type('text/html; charset=utf-8')
            .send(loginPage(en, assets, message));
        }
      },
    );

    app.get(
      '/api/shared-link-slugs/availability',
      {
        config: { permission: 'sharedLink.create' },
        schema: {
          tags: ['shared-links'],
          querystring: SlugAvailabilityQuery,
          response: { 200: SlugAvailabilityDto, 400: { $ref: 'ErrorResponse#' }, 401: { $ref: 'ErrorResponse#' } },
        },
      },
      async (req) => {
        caller(req);
        const slug = req.query.slug.trim();
        const problem =
          slugProblem(slug) ??
          ((await slugTaken(deps.db, slug))
            ? `Slug "${slug}" is already in use (slugs are unique regardless of case)`
            : null);
        return { slug, available: problem === null, problem };
      },
    );
  };
