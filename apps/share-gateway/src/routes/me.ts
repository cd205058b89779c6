import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AssetResponseDto,
  LinkAssetPage,
  LinkAssetPageQuery,
  SharedLinkResponseDto,
  ShareParams,
  ShareQuery,
} from '@immish/contracts';
import type { FastifyPluginAsync } from 'fastify';
import { countLinkAssets, listLinkAssets, recordLinkActivity } from '../link-assets.ts';
import { toRecipientAsset, toRecipientLinkDto } from '../link-dto.ts';
import { type GatewayContext, requireRecipient } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err };

/** SPEC §5.3: the recipient's view of the link, and its assets page by page for large albums. */
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
      async (req) => {
        const { link } = await requireRecipient(ctx, req);
        const assets = await listLinkAssets(db, link);
        if (req.method !== 'HEAD') await recordLinkActivity(db, link.link.id, 'view', 1, String(req.id));
        return toRecipientLinkDto(config.PUBLIC_URL, link, assets);
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
