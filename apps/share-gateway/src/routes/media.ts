import { pipeline, type Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AssetOriginalQuery, AssetThumbnailQuery, IdParams, ShareAssetParams } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { anonymousFileName, checkLinkAccess } from '@immish/domain';
import { createMetadataStripper } from '@immish/media';
import { blobError, etagMatches, forbidden, notFound, serveBlob } from '@immish/runtime';
import { contentDisposition, contentTypeFromKey } from '@immish/storage';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { ActiveLink } from '../link-resolver.ts';
import { type GatewayContext, peekRecipient, requireRecipient, requireRecipientAsset } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 404: err, 416: err };

const MediaKind = Type.Union([Type.Literal('thumbnail'), Type.Literal('preview'), Type.Literal('original')]);
type MediaKind = Type.Static<typeof MediaKind>;

/** Derivatives never change for an asset (re-ingest writes the same bytes), so they are cached for a year. */
const IMMUTABLE = 'private, max-age=31536000, immutable';
const NOT_STRIPPABLE =
  'This file cannot be shared without its metadata; download the preview instead (the link hides metadata)';

/** Media of a link's asset (docs/spec.md §5.3): thumbnail, preview, original (Range/ETag; stripped when metadata is hidden). */
export const mediaRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { storage, config } = ctx.deps;

    const fileName = (link: ActiveLink, asset: AssetRow, suffix = '') => {
      const name = link.link.show_metadata ? asset.original_file_name : anonymousFileName(asset);
      if (!suffix) return name;
      const dot = name.lastIndexOf('.');
      return `${dot > 0 ? name.slice(0, dot) : name}${suffix}`;
    };

    /** The file name a derivative is offered under (the asset's name, or its id when metadata is hidden). */
    const derivativeFileName = (link: ActiveLink, asset: AssetRow, kind: 'thumbnail' | 'preview', type: string) =>
      fileName(link, asset, `_${kind}${type === 'image/webp' ? '.webp' : '.jpg'}`);

    /** Where a derivative is stored, its type and its version (ETag, memory cache key); null when not ready. */
    function derivativeOf(asset: AssetRow, kind: 'thumbnail' | 'preview') {
      const key = kind === 'thumbnail' ? asset.thumbnail_key : asset.preview_key;
      if (!key) return null;
      const type = contentTypeFromKey(key) ?? (kind === 'thumbnail' ? 'image/webp' : 'image/jpeg');
      // derivatives are rewritten only by a re-ingest, which also bumps updated_at
      const version = asset.updated_at.getTime().toString(36);
      return { key, type, etag: `"${kind}-${asset.id}-${version}"`, cacheKey: `${key}#${version}` };
    }

    function sendDerivativeBytes(
      req: FastifyRequest,
      reply: FastifyReply,
      link: ActiveLink,
      asset: AssetRow,
      kind: 'thumbnail' | 'preview',
      d: { type: string; etag: string },
      bytes: Buffer,
    ): FastifyReply {
      reply.header('etag', d.etag).header('cache-control', IMMUTABLE);
      if (etagMatches(req.headers['if-none-match'], d.etag)) return reply.status(304).send();
      // a preview can be saved by the recipient ("Download preview"): give it a name; thumbnails never are
      if (kind === 'preview') {
        reply.header(
          'content-disposition',
          contentDisposition(derivativeFileName(link, asset, kind, d.type), 'inline'),
        );
      }
      return reply.type(d.type).send(bytes);
    }

    /**
     * The hot path of a grid of thumbnails: link, unlock, membership and bytes all in memory, answered
     * without a turn of the event loop (no promise per step). The same checks as `serve`; false when any
     * of them needs the database or storage, and `serve` then answers (or refuses).
     */
    function sendFromMemory(req: FastifyRequest, reply: FastifyReply, assetId: string, kind: MediaKind): boolean {
      if (kind === 'original') return false;
      const recipient = peekRecipient(ctx, req);
      if (!recipient) return false;
      const { link } = recipient;
      const asset = ctx.links.assets.get(`${link.link.id}:${assetId}`, ctx.links.ttlMs, ctx.links.now());
      if (!asset) return false;
      // the cached row is the membership answer (requireRecipientAsset caches only assets the link shows)
      checkLinkAccess(link.link, 'link.view', [assetId], [asset.id]);
      const d = derivativeOf(asset, kind);
      const bytes = d && ctx.derivatives.get(d.cacheKey);
      if (!d || !bytes) return false;
      sendDerivativeBytes(req, reply, link, asset, kind, d, bytes);
      return true;
    }

    async function sendDerivative(
      req: FastifyRequest,
      reply: FastifyReply,
      link: ActiveLink,
      asset: AssetRow,
      kind: 'thumbnail' | 'preview',
    ) {
      const d = derivativeOf(asset, kind);
      if (!d) throw notFound(`The ${kind} of this asset is not ready yet`);
      const { key, type, etag, cacheKey } = d;
      let bytes = ctx.derivatives.get(cacheKey);
      if (!bytes) {
        const info = await storage.head(key).catch((e) => {
          throw blobError(e);
        });
        if (!info || info.size > ctx.derivatives.maxItemBytes) {
          // too big to keep in memory (or missing: serveBlob answers that): stream it
          return serveBlob(reply, storage, key, {
            etag,
            ifNoneMatch: req.headers['if-none-match'],
            cacheControl: IMMUTABLE,
            contentType: type,
            fileName: derivativeFileName(link, asset, kind, type),
            disposition: 'inline',
          });
        }
        try {
          bytes = Buffer.concat(await (await storage.get(key)).toArray());
        } catch (e) {
          throw blobError(e);
        }
        ctx.derivatives.set(cacheKey, bytes);
      }
      return sendDerivativeBytes(req, reply, link, asset, kind, d, bytes);
    }

    /**
     * Counts a completed download: once a response carrying the last byte has been sent (or redirected).
     * Attached before the response starts, judged when it finished.
     */
    function countDownloadWhenDone(reply: FastifyReply, linkId: string, correlationId: string) {
      if (reply.request.method === 'HEAD') return;
      reply.raw.once('finish', () => {
        const status = reply.statusCode;
        if (status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(reply.getHeader('content-range') ?? ''));
          if (!m || Number(m[2]) !== Number(m[3]) - 1) return;
        } else if (status !== 200 && status !== 302) return;
        ctx.activity.count(linkId, 'download', 1, correlationId);
      });
    }

    async function sendOriginal(req: FastifyRequest, reply: FastifyReply, link: ActiveLink, asset: AssetRow) {
      checkLinkAccess(link.link, 'link.download');
      if (!link.link.show_metadata) {
        // Strip EXIF/XMP/IPTC/GPS without re-encoding; the output size is known only once streamed.
        const stripper = createMetadataStripper(asset.mime_type);
        if (!stripper) throw forbidden(NOT_STRIPPABLE);
        let source: Readable;
        try {
          source = await storage.get(asset.original_key);
        } catch (e) {
          throw blobError(e);
        }
        const body = pipeline(source, stripper, (e) => {
          if (e) reply.log.warn({ err: e.message }, 'metadata stripping failed mid-stream');
        });
        reply
          .status(200)
          .type(asset.mime_type)
          .header('cache-control', 'private, no-cache')
          .header('accept-ranges', 'none')
          .header('content-disposition', contentDisposition(anonymousFileName(asset)));
        countDownloadWhenDone(reply, link.link.id, String(req.id));
        return reply.send(body);
      }
      countDownloadWhenDone(reply, link.link.id, String(req.id));
      await serveBlob(reply, storage, asset.original_key, {
        range: req.headers.range,
        ifNoneMatch: req.headers['if-none-match'],
        ifRange: req.headers['if-range'] as string | undefined,
        contentType: asset.mime_type,
        fileName: fileName(link, asset),
        cacheControl: 'private, no-cache',
        ...(config.S3_PRESIGNED_REDIRECTS ? { presignSeconds: 60 } : {}),
      });
      return reply;
    }

    async function serve(req: FastifyRequest, reply: FastifyReply, assetId: string, kind: MediaKind) {
      const { link } = await requireRecipient(ctx, req);
      const asset = await requireRecipientAsset(ctx, link, assetId);
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
      (req, reply) =>
        sendFromMemory(req, reply, req.params.assetId, req.params.kind)
          ? reply
          : serve(req, reply, req.params.assetId, req.params.kind),
    );

    // Immich's viewAsset: `size` thumbnail (default) | preview | fullsize (= preview) | original (deprecated).
    app.get(
      '/api/assets/:id/thumbnail',
      { schema: { tags: ['assets'], params: IdParams, querystring: AssetThumbnailQuery, response: errors } },
      (req, reply) => {
        const size = req.query.size ?? 'thumbnail';
        const kind: MediaKind = size === 'original' ? 'original' : size === 'thumbnail' ? 'thumbnail' : 'preview';
        return sendFromMemory(req, reply, req.params.id, kind) ? reply : serve(req, reply, req.params.id, kind);
      },
    );

    // Immich's downloadAsset.
    app.get(
      '/api/assets/:id/original',
      { schema: { tags: ['assets'], params: IdParams, querystring: AssetOriginalQuery, response: errors } },
      async (req, reply) => serve(req, reply, req.params.id, 'original'),
    );
  };
