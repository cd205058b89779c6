import { isUuid } from '@immish/contracts';
import { countLinkAssets, linkAccessRefusal, linkAssetPosition, listLinkAssets } from '@immish/domain';
import { CARD_HEIGHT, CARD_WIDTH } from '@immish/media';
import { DomainError } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { type ClientAsset, loadClientBundle } from '../client/bundle.ts';
import { type Encoded, EncodedBody } from '../encoded-body.ts';
import type { BuiltBody } from '../link-bodies.ts';
import { type ActiveLink, credentialOf } from '../link-resolver.ts';
import {
  CONTINUATION_HEADER,
  clampedPage,
  GRID_PAGE_SIZE,
  GRID_ROUTE,
  gridPageHeaders,
  gridPageKey,
  linkTotalKey,
  pageHead,
  pageNumber,
  totalOf,
} from '../page-answer.ts';
import {
  type GatewayContext,
  gateRecipient,
  isPreviewBot,
  isUnlocked,
  linkPathSegment,
  logActivity,
  recordLinkLoad,
  refuseUsedUp,
} from '../recipient.ts';
import { type MessageKey, pickLocale, type Translator, translator } from '../views/i18n/index.ts';
import type { OpenGraph, StaticUrls } from '../views/layout.ts';
import { type LinkView, toViewItem } from '../views/model.ts';
import {
  albumPage,
  albumPageContinuation,
  expiredPage,
  type LinkPageBase,
  lockedPage,
  messagePage,
  notFoundPage,
  ogDescription,
  photoPage,
  photoUrl,
  previewCardPage,
  usedUpPage,
} from '../views/pages.ts';

/**
 * The share page (docs/spec.md §5.4): server-rendered HTML for `/share/:keyOrSlug`, `/s/:slug` and the deep link
 * `/share/:key/photos/:assetId`, plus the page's own CSS/JS under `/static/`. Link resolution and unlock go
 * through the same modules as every recipient route; the views only get view models (views/model.ts decides
 * what of an asset a page may show).
 */

// where the tests and the bundle's docs look for them; defined with the kept pages (page-answer.ts)
export { CONTINUATION_HEADER, GRID_PAGE_SIZE };

const UNLOCK_ERRORS: Record<string, MessageKey> = {
  invalid_password: 'wrongPassword',
  too_many_attempts: 'tooManyAttempts',
};

const Segment = Type.String({ minLength: 1, maxLength: 512 });
const PageQuery = Type.Object({
  page: Type.Optional(Type.String({ maxLength: 16 })),
  /** the recipient's oldest/newest toggle (album links); the album's own order when absent */
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  /** grouping by day or month (issue 21 §5); ignored on a link that hides metadata (dates are metadata) */
  group: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('month')])),
  unlock_error: Type.Optional(Type.String({ maxLength: 64 })),
});

export const pageRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (app) => {
    const { db, config } = ctx.deps;
    const publicBase = config.PUBLIC_URL.replace(/\/+$/, '');
    const bundle = await loadClientBundle();
    const assets: StaticUrls = {
      css: `/static/share.css?v=${bundle.css.hash}`,
      js: `/static/share.js?v=${bundle.js.hash}`,
    };

    const serveStatic = (file: ClientAsset) => async (req: FastifyRequest, reply: FastifyReply) => {
      const etag = `"${file.hash}"`;
      const versioned = (req.query as { v?: string }).v === file.hash;
      reply
        .header('etag', etag)
        .header('cache-control', versioned ? 'public, max-age=31536000, immutable' : 'public, no-cache')
        .type(file.contentType);
      if (req.headers['if-none-match'] === etag) return reply.status(304).send();
      return reply.send(file.body);
    };
    const StaticQuery = { querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 64 })) }) };
    app.get('/static/share.js', { schema: { ...StaticQuery, hide: true } as never }, serveStatic(bundle.js));
    app.get('/static/share.css', { schema: { ...StaticQuery, hide: true } as never }, serveStatic(bundle.css));

    // the page's language follows Accept-Language (issue 21 §7), and a grid page fetched by the bundle is the data
    // alone (CONTINUATION_HEADER), so the answer varies with both
    /**
     * An HTML answer: a page made for this request (text), or a kept grid page in the coding the client accepts
     * (`Encoded`: `Vary` then names accept-encoding too, and the coding is said). Never stored by caches.
     */
    const html = (reply: FastifyReply, status: number, body: string | Encoded) => {
      reply.status(status).type('text/html; charset=utf-8').header('cache-control', 'no-store');
      if (typeof body === 'string') return reply.header('vary', `accept-language, ${CONTINUATION_HEADER}`).send(body);
      return reply.headers(gridPageHeaders(body)).send(body.bytes);
    };
    const translatorOf = (req: FastifyRequest) => translator(pickLocale(req.headers['accept-language']));

    /**
     * The link of a page request, or the reply already sent: 404 "Link not found", 410 "This link expired on
     * <date>", or the password form (401) when the link is locked for this browser.
     */
    async function resolvePageLink(req: FastifyRequest, reply: FastifyReply): Promise<ActiveLink | null> {
      const tr = translatorOf(req);
      const credential = credentialOf(req);
      const found = credential ? await ctx.links.lookup(credential) : ({ status: 'not-found' } as const);
      if (found.status === 'not-found') {
        html(reply, 404, notFoundPage(assets, tr));
        return null;
      }
      if (found.status === 'expired') {
        html(reply, 410, expiredPage(assets, found.expiresAt, tr));
        return null;
      }
      const link = found.link;
      // limited links and link-preview bots (issue 19): the gate of every recipient route, answered as pages
      try {
        refuseUsedUp(ctx, req, link);
      } catch (e) {
        return usedUp(e, req, reply);
      }
      if (isPreviewBot(req)) {
        // in the activity log as a bot's fetch (never a visit in the summary, never a use of a limited link)
        if (req.method === 'GET') logActivity(ctx, req, link.link.id, 'visit');
        await previewCard(req, reply, link);
        return null;
      }
      if (!isUnlocked(ctx, req, link)) {
        // opening a password link is a visit in its activity log (not a view in the counters: nothing was shown)
        if (req.method === 'GET') logActivity(ctx, req, link.link.id, 'visit');
        const query = req.query as { page?: string; unlock_error?: string };
        const param = link.link.slug
          ? `slug=${encodeURIComponent(link.link.slug)}`
          : `key=${encodeURIComponent(link.link.key)}`;
        const path = req.url.split('?')[0] ?? '/';
        const page = pageNumber(query.page);
        html(
          reply,
          401,
          lockedPage({
            assets,
            tr,
            action: `/api/shared-links/login?${param}`,
            returnTo: page > 1 ? `${path}?page=${page}` : path,
            error:
              query.unlock_error && Object.hasOwn(UNLOCK_ERRORS, query.unlock_error)
                ? tr.t(UNLOCK_ERRORS[query.unlock_error]!)
                : null,
          }),
        );
        return null;
      }
      try {
        await gateRecipient(ctx, req, link, 'entry');
      } catch (e) {
        return usedUp(e, req, reply);
      }
      return link;
    }

    /** 410 "used up" as a page; any other refusal as the JSON error it is */
    function usedUp(e: unknown, req: FastifyRequest, reply: FastifyReply): null {
      if (!(e instanceof DomainError) || e.kind !== 'gone') throw e;
      html(reply, 410, usedUpPage(assets, translatorOf(req)));
      return null;
    }

    /**
     * What a link-preview bot gets of any page (issue 19 item 2): the Open Graph card only. Of a password link, no
     * image and nothing the password guards: the generic title, no album name, no count.
     */
    async function previewCard(req: FastifyRequest, reply: FastifyReply, link: ActiveLink) {
      const tr = translatorOf(req);
      const path = req.url.split('?')[0] ?? '/';
      if (link.link.password_hash) {
        const og = {
          title: tr.t('sharedPhotos'),
          description: tr.t('passwordRequired'),
          url: `${publicBase}${path}`,
          image: null,
        };
        return html(reply, 200, previewCardPage({ assets, tr, og }));
      }
      const b = base(translatorOf(req), link, await countLinkAssets(db, link));
      const photoId = (req.params as { assetId?: string }).assetId;
      const shown = photoId && isUuid(photoId) ? await linkAssetPosition(db, link, photoId.toLowerCase()) : null;
      const first = shown ? shown.row : (await listLinkAssets(db, link, { offset: 0, limit: 1 }))[0];
      const og = shown
        ? openGraph(b, shown.row.id, photoUrl(b.base, shown.row.id), false, `assets/${shown.row.id}/card.jpg`)
        : openGraph(b, first?.id ?? null, b.base, false);
      return html(reply, 200, previewCardPage({ assets, tr, og }));
    }

    /**
     * A page view counts (docs/spec.md §5.3); a HEAD (link checkers, previews probing) does not, nor the next grid
     * pages the bundle fetches while the recipient scrolls (same visit).
     */
    function countView(req: FastifyRequest, link: ActiveLink) {
      if (req.method !== 'GET' || req.headers[CONTINUATION_HEADER] === '1') return;
      recordLinkLoad(ctx, link.link.id, { ip: req.ip, userAgent: req.headers['user-agent'] }, String(req.id));
    }

    function base(tr: Translator, link: ActiveLink, total: number): LinkPageBase & LinkView {
      const l = link.link;
      return {
        assets,
        tr,
        base: `/share/${encodeURIComponent(linkPathSegment(link))}`,
        title: link.album?.name || l.description || tr.t('sharedPhotos'),
        description: link.album ? link.album.description || l.description || null : null,
        total,
        allowDownload: l.allow_download,
        allowUpload: l.allow_upload,
        uploadReview: l.upload_review,
        showMetadata: l.show_metadata,
      };
    }

    /** `cardPath`: `og.jpg` (the album's card) or `assets/<id>/card.jpg` (a photo page's) */
    function openGraph(
      b: LinkPageBase,
      firstAssetId: string | null,
      path: string,
      hasPassword: boolean,
      cardPath = 'og.jpg',
    ): OpenGraph {
      return {
        title: b.title,
        description: ogDescription(b.tr, b.total),
        url: `${publicBase}${path}`,
        // the card of media.ts (cover, first asset, or this photo); a password link names no picture
        image:
          firstAssetId && !hasPassword
            ? { url: `${publicBase}${b.base}/${cardPath}`, width: CARD_WIDTH, height: CARD_HEIGHT }
            : null,
      };
    }

    /**
     * A grid page (the album or the link's photos, GRID_PAGE_SIZE at a time), built once and kept ready to send
     * (issue 17, link-bodies.ts): the same for every recipient of the link in a language, it was rebuilt on every
     * request (~10 ms of CPU and two queries for 120 photos, ~35 ms at 10,000 assets) and sent uncompressed
     * (260 KB of HTML for a whole page). Now it is built when the link or what it shows changed (events, the
     * rows' head, the 60 s safety net), compressed ahead of time off the event loop, and answered from memory.
     * Every per-request rule still runs first, each time: the link's resolution, unlock, limits and bots
     * (`resolvePageLink`), and the view counted (`countView`). The page carries nothing of the request (no token,
     * no reflected text: the page, order and grouping are parsed to a number or a keyword, the language to a
     * locale), so compressing it reveals nothing (BREACH needs reflected input next to a secret).
     * Kept apart from the `/me` bodies (ctx.pages, its own bound): a flood of page numbers churns pages only.
     */
    async function gridPage(req: FastifyRequest<{ Querystring: Type.Static<typeof PageQuery> }>, reply: FastifyReply) {
      const link = await resolvePageLink(req, reply);
      if (!link) return reply;
      const continuation = req.headers[CONTINUATION_HEADER] === '1';
      const locale = pickLocale(req.headers['accept-language']);
      const total = await linkTotal(link);
      const page = clampedPage(pageNumber(req.query.page), total);
      // the toggle re-sorts an album's assets for this page only; the album keeps its order
      const chosen = link.album ? (req.query.order ?? null) : null;
      const group = link.link.show_metadata ? (req.query.group ?? null) : null;
      const body = await ctx.pages.get(
        gridPageKey(link.link.id, locale, page, chosen, group, continuation),
        { linkId: link.link.id, albumId: link.link.album_id },
        pageHead(config.PUBLIC_URL, link),
        () => buildGridPage(link, translator(locale), total, page, chosen, group, continuation),
      );
      countView(req, link);
      return html(reply, 200, await body.encoded(req.headers['accept-encoding']));
    }

    /**
     * How many assets the link shows, kept with its pages (the same scope, head and events, so a change that
     * drops the pages drops it too): the grid's page count, and the number a page is clamped to before it is looked
     * up — the count query no longer runs for every page built.
     */
    async function linkTotal(link: ActiveLink): Promise<number> {
      const body = await ctx.pages.get(
        linkTotalKey(link.link.id),
        { linkId: link.link.id, albumId: link.link.album_id },
        pageHead(config.PUBLIC_URL, link),
        async () => ({ body: new EncodedBody(Buffer.from(String(await countLinkAssets(db, link)))), volatile: false }),
      );
      return totalOf(body);
    }

    /** The grid page as link-bodies.ts keeps it: its bytes, and whether it shows a video rendition in progress. */
    async function buildGridPage(
      link: ActiveLink,
      tr: Translator,
      total: number,
      page: number,
      chosen: 'asc' | 'desc' | null,
      group: 'day' | 'month' | null,
      continuation: boolean,
    ): Promise<BuiltBody> {
      const shown = chosen && link.album ? { ...link, album: { ...link.album, sort_order: chosen } } : link;
      const pageCount = Math.max(1, Math.ceil(total / GRID_PAGE_SIZE));
      const offset = (page - 1) * GRID_PAGE_SIZE;
      // one row on each side of the page: the viewer steps across page boundaries
      const from = Math.max(0, offset - 1);
      const rows = await listLinkAssets(db, shown, { offset: from, limit: GRID_PAGE_SIZE + (offset - from) + 1 });
      const before = offset > 0 ? (rows.shift() ?? null) : null;
      const after = rows.length > GRID_PAGE_SIZE ? (rows.pop() ?? null) : null;
      const b = base(tr, link, total);
      const model = {
        ...b,
        page,
        pageCount,
        pageSize: GRID_PAGE_SIZE,
        order: shown.album ? { current: shown.album.sort_order, chosen } : null,
        group,
        firstIndex: offset,
        items: rows.map((row) => toViewItem(b, row)),
        before: before?.id ?? null,
        after: after?.id ?? null,
      };
      let text: string;
      // the bundle's next page while scrolling: the data alone (and no query for the preview card's photo)
      if (continuation) text = albumPageContinuation(model);
      else {
        const first = page === 1 ? (rows[0] ?? null) : (await listLinkAssets(db, shown, { offset: 0, limit: 1 }))[0];
        const og = openGraph(
          b,
          first?.id ?? null,
          page > 1 ? `${b.base}?page=${page}` : b.base,
          !!link.link.password_hash,
        );
        text = albumPage({ ...model, og });
      }
      return {
        body: new EncodedBody(Buffer.from(text)),
        // a page shows some of the link's assets and depends on the others' order: a message about any asset
        // drops it (no assetIds)
        volatile: rows.some((r) => r.rendition_status === 'queued' || r.rendition_status === 'running'),
      };
    }

    async function photo(
      req: FastifyRequest<{ Params: { assetId: string }; Querystring: Type.Static<typeof PageQuery> }>,
      reply: FastifyReply,
    ) {
      const link = await resolvePageLink(req, reply);
      if (!link) return reply;
      const { assetId } = req.params;
      // the recipient's oldest/newest choice: previous/next follow it (issue 21 §5)
      const chosen = link.album ? (req.query.order ?? null) : null;
      const shown = chosen && link.album ? { ...link, album: { ...link.album, sort_order: chosen } } : link;
      const position = isUuid(assetId) ? await linkAssetPosition(db, shown, assetId.toLowerCase()) : null;
      if (!position || linkAccessRefusal(link.link, 'link.view', [assetId], [position.row.id])) {
        const b = base(translatorOf(req), link, await countLinkAssets(db, link));
        return html(
          reply,
          isUuid(assetId) ? 404 : 400,
          messagePage({
            assets,
            tr: b.tr,
            title: b.tr.t('photoNotFound'),
            heading: b.tr.t('photoNotFound'),
            text: b.tr.t('photoNotFoundText'),
            pageClass: 'page-not-found',
            backTo: { href: b.base, label: b.tr.t('seeAllPhotos') },
          }),
        );
      }
      const { row, index, total, prev, next } = position;
      const b = base(translatorOf(req), link, total);
      countView(req, link);
      return html(
        reply,
        200,
        photoPage({
          ...b,
          item: toViewItem(b, row),
          index,
          prev,
          next,
          gridPage: Math.floor(index / GRID_PAGE_SIZE) + 1,
          view: { order: chosen, group: link.link.show_metadata ? (req.query.group ?? null) : null },
          og: openGraph(b, row.id, photoUrl(b.base, row.id), !!link.link.password_hash, `assets/${row.id}/card.jpg`),
        }),
      );
    }

    const PhotoParams = (name: 'key' | 'slug') =>
      Type.Object({ [name]: Segment, assetId: Type.String({ minLength: 1, maxLength: 64 }) });
    app.get(GRID_ROUTE, { schema: { params: Type.Object({ key: Segment }), querystring: PageQuery } }, gridPage);
    app.get('/s/:slug', { schema: { params: Type.Object({ slug: Segment }), querystring: PageQuery } }, gridPage);
    app.get('/share/:key/photos/:assetId', { schema: { params: PhotoParams('key'), querystring: PageQuery } }, photo);
    app.get('/s/:slug/photos/:assetId', { schema: { params: PhotoParams('slug'), querystring: PageQuery } }, photo);
  };
