import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AssetResponseDto,
  LinkAssetPage,
  LinkAssetPageQuery,
  SharedLinkResponseDto,
  ShareParams,
  ShareQuery,
} from '@immish/contracts';
import { countLinkAssets, listLinkAssets } from '@immish/domain';
import type { FastifyPluginAsync } from 'fastify';
import { toRecipientAsset } from '../link-dto.ts';
import { ME_ROUTE, meBodyKey, meHeaders } from '../me-answer.ts';
import { buildMeBody, meHead } from '../me-body.ts';
import { type GatewayContext, recordLinkLoad, requireRecipient } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };

const errors = { 400: err, 401: err };

/** docs/spec.md §5.3: the recipient's view of the link, and its assets page by page for large albums. */
export const meRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { db, config } = ctx.deps;

    // Immich's getMySharedLink: the link with its assets (album assets for ALBUM links); counts as a view. A plain
    // GET of a cached body is answered by the fast path (fast-path.ts) with the same me-answer.ts rules.
    app.get(
      ME_ROUTE,
      {
        schema: {
          tags: ['shared-links'],
          querystring: ShareQuery,
          response: { 200: SharedLinkResponseDto, ...errors },
        },
      },
      async (req, reply) => {
        const { link } = await requireRecipient(ctx, req, 'entry');
        // The body of a big album is large and the same for every recipient: built when the link or what it
        // shows changed (link-bodies.ts), then sent as bytes, compressed ahead of time (encoded-body.ts).
        const body = await ctx.bodies.get(
          meBodyKey(link),
          { linkId: link.link.id, albumId: link.link.album_id },
          meHead(config.PUBLIC_URL, link),
          () => buildMeBody(db, config.PUBLIC_URL, link),
        );
        if (req.method !== 'HEAD') {
          recordLinkLoad(ctx, link.link.id, { ip: req.ip, userAgent: req.headers['user-agent'] }, String(req.id));
        }
        const encoded = await body.encoded(req.headers['accept-encoding']);
        return reply.headers(meHeaders(encoded)).send(encoded.bytes);
      },
    );

    app.get(
      '/share/:key/assets',
      {
        schema: {
          tags: ['share'],
          params: ShareParams,
          querystring: LinkAssetPageQuery,
          response: { 200: LinkAssetPage(AssetResponseDto), ...errors },
        },
      },
      async (req) => {
        const { link } = await requireRecipient(ctx, req);
        const { page, size } = req.query;
        const [total, rows] = await Promise.all([
          countLinkAssets(db, link),
          listLinkAssets(db, link, { offset: (page - 1) * size, limit: size }),
        ]);
        return { items: rows.map((row) => toRecipientAsset(link, row)), total, page, size };
      },
    );
  };
