import { pipeline } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AssetOriginalQuery, AssetThumbnailQuery, IdParams, ShareAssetParams } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { anonymousFileName } from '@immish/domain';
import { createMetadataStripper } from '@immish/media';
import { DomainError, forbidden, notFound } from '@immish/runtime';
import { BlobNotFoundError, contentDisposition, contentTypeFromKey } from '@immish/storage';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { etagMatches, parseRange } from '../http-range.ts';
import { recordLinkActivity, requireLinkAsset } from '../link-assets.ts';
import type { ActiveLink } from '../link-resolver.ts';
import { type GatewayContext, requireRecipient } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 404: err, 416: err };
const MediaKind = Type.Union([Type.Literal('thumbnail'), Type.Literal('preview'), Type.Literal('original')]);
type MediaKind = Type.Static<typeof MediaKind>;

/** Derivatives never change for an asset (re-ingest writes the same bytes), so they are cached for a year. */
const IMMUTABLE = 'private, max-age=31536000, immutable';
const NOT_STRIPPABLE =
  'This file cannot be shared without its metadata; download the preview instead (the link hides metadata)';
const DOWNLOADS_DISABLED = 'Downloads are disabled for this shared link; only thumbnails and previews can be viewed';

/** Media of a link's asset (SPEC §5.3): thumbnail, preview, original (Range/ETag; stripped when metadata is hidden). */
export const mediaRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { db, storage, config } = ctx.deps;

    const fileName = (link: ActiveLink, asset: AssetRow, suffix = '') => {
      const name = link.link.show_metadata ? asset.original_file_name : anonymousFileName(asset);
      if (!suffix) return name;
      const dot = name.lastIndexOf('.');
      return `${dot > 0 ? name.slice(0, dot) : name}${suffix}`;
    };

    async function sendDerivative(
      req: FastifyRequest,
      reply: FastifyReply,
      link: ActiveLink,
      asset: AssetRow,
      kind: 'thumbnail' | 'preview',
    ) {
      const key = kind === 'thumbnail' ? asset.thumbnail_key : asset.preview_key;
      if (!key) throw notFound(`The ${kind} of this asset is not ready yet`);
      const etag = `"${kind}-${asset.id}-${asset.updated_at.getTime().toString(36)}"`;
      const type = contentTypeFromKey(key) ?? (kind === 'thumbnail' ? 'image/webp' : 'image/jpeg');
      reply.header('cache-control', IMMUTABLE).header('etag', etag);
      if (etagMatches(req.headers['if-none-match'], etag)) return reply.status(304).send();
      const body = await openBlob(key, kind);
      const ext = type === 'image/webp' ? '.webp' : '.jpg';
      return reply
        .type(type)
        .header('content-disposition', contentDisposition(fileName(link, asset, `_${kind}${ext}`), 'inline'))
        .send(body);
    }

    async function openBlob(key: string, what: string, range?: { start: number; end: number }) {
      try {
        return await storage.get(key, range);
      } catch (e) {
        if (e instanceof BlobNotFoundError) throw notFound(`The ${what} of this asset is missing from storage`);
        throw e;
      }
    }

    /** Counts a download once the response reaching the last byte has been fully sent. */
    function countDownloadWhenDone(reply: FastifyReply, linkId: string, correlationId: string) {
      reply.raw.once('finish', () => {
        recordLinkActivity(db, linkId, 'download', 1, correlationId).catch((e) =>
          reply.log.warn({ err: (e as Error).message }, 'could not count a link download'),
        );
      });
    }

    async function sendOriginal(req: FastifyRequest, reply: FastifyReply, link: ActiveLink, asset: AssetRow) {
      if (!link.link.allow_download) throw forbidden(DOWNLOADS_DISABLED);
      reply.header('cache-control', 'private, no-cache');
      if (!link.link.show_metadata) {
        // Strip EXIF/XMP/IPTC/GPS without re-encoding; the output size is known only once streamed.
        const stripper = createMetadataStripper(asset.mime_type);
        if (!stripper) throw forbidden(NOT_STRIPPABLE);
        const source = await openBlob(asset.original_key, 'original');
        countDownloadWhenDone(reply, link.link.id, String(req.id));
        const body = pipeline(source, stripper, (e) => {
          if (e) reply.log.warn({ err: e.message }, 'metadata stripping failed mid-stream');
        });
        return reply
          .type(asset.mime_type)
          .header('accept-ranges', 'none')
          .header('content-disposition', contentDisposition(anonymousFileName(asset)))
          .send(body);
      }
      const info = await storage.head(asset.original_key);
      if (!info) throw notFound('The original of this asset is missing from storage');
      const disposition = contentDisposition(fileName(link, asset));
      reply
        .header('etag', info.etag)
        .header('accept-ranges', 'bytes')
        .header('last-modified', info.lastModified.toUTCString());
      if (etagMatches(req.headers['if-none-match'], info.etag)) return reply.status(304).send();
      if (config.S3_PRESIGNED_REDIRECTS && storage.driver === 's3') {
        const url = await storage.presignGet(asset.original_key, {
          expiresInSeconds: 60,
          fileName: fileName(link, asset),
          contentType: asset.mime_type,
        });
        if (url) {
          await recordLinkActivity(db, link.link.id, 'download', 1, String(req.id));
          return reply.redirect(url, 302);
        }
      }
      const ifRange = req.headers['if-range'] as string | undefined;
      const range =
        ifRange && !etagMatches(ifRange, info.etag)
          ? ({ kind: 'none' } as const)
          : parseRange(req.headers.range, info.size);
      if (range.kind === 'unsatisfiable') {
        reply.header('content-range', `bytes */${info.size}`);
        throw new DomainError('range', `Range not satisfiable: the file has ${info.size} bytes`);
      }
      reply.type(asset.mime_type).header('content-disposition', disposition);
      if (range.kind === 'range') {
        const body = await openBlob(asset.original_key, 'original', range);
        if (range.end === info.size - 1) countDownloadWhenDone(reply, link.link.id, String(req.id));
        return reply
          .status(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${info.size}`)
          .header('content-length', String(range.end - range.start + 1))
          .send(body);
      }
      const body = await openBlob(asset.original_key, 'original');
      countDownloadWhenDone(reply, link.link.id, String(req.id));
      return reply.header('content-length', String(info.size)).send(body);
    }

    async function serve(req: FastifyRequest, reply: FastifyReply, assetId: string, kind: MediaKind) {
      const { link } = await requireRecipient(ctx, req);
      const asset = await requireLinkAsset(db, link, assetId);
      if (kind === 'original') return sendOriginal(req, reply, link, asset);
      return sendDerivative(req, reply, link, asset, kind);
    }

    app.get(
      '/share/:key/assets/:assetId/:kind',
      {
        schema: {
          tags: ['share'],
          params: Type.Object({
            key: ShareAssetParams.properties.key,
            assetId: ShareAssetParams.properties.assetId,
            kind: MediaKind,
          }),
          response: errors,
        },
      },
      async (req, reply) => serve(req, reply, req.params.assetId, req.params.kind),
    );

    // Immich's viewAsset: `size` thumbnail (default) | preview | fullsize (= preview) | original (deprecated).
    app.get(
      '/api/assets/:id/thumbnail',
      { schema: { tags: ['assets'], params: IdParams, querystring: AssetThumbnailQuery, response: errors } },
      async (req, reply) => {
        const size = req.query.size ?? 'thumbnail';
        const kind: MediaKind = size === 'original' ? 'original' : size === 'thumbnail' ? 'thumbnail' : 'preview';
        return serve(req, reply, req.params.id, kind);
      },
    );

    // Immich's downloadAsset.
    app.get(
      '/api/assets/:id/original',
      { schema: { tags: ['assets'], params: IdParams, querystring: AssetOriginalQuery, response: errors } },
      async (req, reply) => serve(req, reply, req.params.id, 'original'),
    );
  };
