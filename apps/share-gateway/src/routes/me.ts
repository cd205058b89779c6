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
import { EncodedBody } from '../encoded-body.ts';
import { toRecipientAsset, toRecipientLinkDto } from '../link-dto.ts';
import { type GatewayContext, isPreviewBot, logActivity, requireRecipient } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };

/**
 * `/me` lists at most this many assets (~1.2 KB of JSON each); `album.assetCount` gives the real total and
 * `GET /share/:key/assets?page=&size=` pages through all of them (docs/spec.md §5.3 "paginated for large albums").
 */
export const ME_MAX_ASSETS = 10_000;
const errors = { 400: err, 401: err };

/** docs/spec.md §5.3: the recipient's view of the link, and its assets page by page for large albums. */
export const meRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { db, config } = ctx.deps;

    // Immich's getMySharedLink: the link with its assets (album assets for ALBUM links); counts as a view.
    app.get(
      '/api/shared-links/me',
      {
        schema: {
          tags: ['shared-links'],
          querystring: ShareQuery,
          response: { 200: SharedLinkResponseDto, ...errors },
        },
      },
      async (req, reply) => {
        const { link } = await requireRecipient(ctx, req, 'entry');
        // The body of a big album is large and the same for every recipient: built once per cache period
        // (LINK_CACHE_TTL_MS, or until the link/album changes), then sent as bytes, compressed when the
        // client accepts it (encoded-body.ts).
        const body = await ctx.bodies.getOrLoad(
          `me:${link.link.id}`,
          { linkId: link.link.id, albumId: link.link.album_id },
          async () => {
            const assets = await listLinkAssets(db, link, { offset: 0, limit: ME_MAX_ASSETS });
            const total = assets.length < ME_MAX_ASSETS ? assets.length : await countLinkAssets(db, link);
            const json = JSON.stringify(toRecipientLinkDto(config.PUBLIC_URL, link, assets, total));
            return new EncodedBody(Buffer.from(json));
          },
        );
        if (req.method !== 'HEAD') {
          // a link-preview bot is logged (as a bot) but is not a view
          if (!isPreviewBot(req)) ctx.activity.count(link.link.id, 'view', 1, String(req.id));
          logActivity(ctx, req, link.link.id, 'visit');
        }
        const { coding, bytes } = await body.encoded(req.headers['accept-encoding']);
        reply.header('vary', 'accept-encoding');
        if (coding !== 'identity') reply.header('content-encoding', coding);
        return reply.type('application/json; charset=utf-8').send(bytes);
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
