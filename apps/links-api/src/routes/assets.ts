import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AssetBulkDeleteDto,
  AssetBulkUploadCheckDto,
  AssetBulkUploadCheckResponseDto,
  AssetMediaResponseDto,
  AssetOriginalQuery,
  AssetResponseDto,
  AssetStatsQuery,
  AssetStatsResponseDto,
  AssetThumbnailQuery,
  IdParams,
} from '@immish/contracts';
import {
  assertQuota,
  assetStatistics,
  bulkUploadCheck,
  duplicateByChecksum,
  parseChecksum,
  receiveAssetUpload,
  requireAccess,
  requireAssetRow,
  toAssetResponseDto,
  trashAssets,
  type UploadPart,
  videoPlayback,
} from '@immish/domain';
import { invalid, notFound, partsOrBadRequest, serveBlob, unavailable } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };

/** Derivatives change only when an asset is re-ingested (same key, new ETag): cache a day, revalidate after. */
const DERIVATIVE_CACHE = 'private, max-age=86400, no-transform';

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/** docs/spec.md §4.2: Immich-compatible asset routes. */
export const assetsRoutes =
  (deps: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const { db, storage, config } = deps;
    await fastify.register(multipart, {
      // Files are streamed (never attached to the body); a file over the limit is truncated by the parser
      // and refused by storeUpload with 413, without failing the rest of a multipart batch.
      throwFileSizeLimit: false,
      limits: { fileSize: config.UPLOAD_MAX_FILE_BYTES, fields: 50, fieldSize: 64 * 1024, headerPairs: 200 },
    });
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/api/assets',
      {
        config: { permission: 'asset.upload' },
        schema: {
          tags: ['assets'],
          summary: 'Upload an asset (Immich-compatible multipart: assetData, fileCreatedAt, fileModifiedAt, …)',
          consumes: ['multipart/form-data'],
          response: { 200: AssetMediaResponseDto, 201: AssetMediaResponseDto, ...errors, 413: err, 415: err },
        },
      },
      async (req, reply) => {
        const { user } = caller(req);
        const actor = { type: 'user' as const, id: user.id };
        const announced = header(req, 'x-immich-checksum');
        if (announced) {
          const checksum = parseChecksum(announced);
          if (!checksum) throw invalid('x-immich-checksum must be a SHA-1 in hex (40 digits) or base64 (28 chars)');
          const id = await duplicateByChecksum(db, { ownerId: user.id, checksum });
          if (id) return reply.status(200).send({ id, status: 'duplicate' });
        }
        if (!req.isMultipart()) throw invalid('Expected a multipart/form-data body with an assetData file');
        await assertQuota(db, user.id, 0);
        const outcome = await receiveAssetUpload(
          { db, storage },
          {
            ownerId: user.id,
            actor,
            parts: partsOrBadRequest(() => req.parts({ limits: { files: 2 } }) as AsyncIterable<UploadPart>),
            maxFileBytes: config.UPLOAD_MAX_FILE_BYTES,
            correlationId: String(req.id),
          },
        );
        return reply
          .status(outcome.status === 'created' ? 201 : 200)
          .send({ id: outcome.assetId, status: outcome.status });
      },
    );

    app.post(
      '/api/assets/bulk-upload-check',
      {
        config: { permission: 'asset.upload' },
        schema: {
          tags: ['assets'],
          body: AssetBulkUploadCheckDto,
          response: { 200: AssetBulkUploadCheckResponseDto, ...errors },
        },
      },
      async (req) => ({ results: await bulkUploadCheck(db, caller(req).user.id, req.body.assets) }),
    );

    app.get(
      '/api/assets/statistics',
      {
        config: { permission: 'asset.statistics' },
        schema: { tags: ['assets'], querystring: AssetStatsQuery, response: { 200: AssetStatsResponseDto, ...errors } },
      },
      async (req) => assetStatistics(db, caller(req).user.id, req.query),
    );

    app.delete(
      '/api/assets',
      {
        config: { permission: 'asset.delete' },
        schema: { tags: ['assets'], body: AssetBulkDeleteDto, response: { 204: Type.Null(), ...errors } },
      },
      async (req, reply) => {
        const { user } = caller(req);
        await requireAccess(db, user.id, 'asset.delete', req.body.ids);
        await trashAssets(db, { type: 'user', id: user.id }, req.body.ids, String(req.id));
        return reply.status(204).send(null);
      },
    );

    app.get(
      '/api/assets/:id',
      {
        config: { permission: 'asset.read' },
        schema: { tags: ['assets'], params: IdParams, response: { 200: AssetResponseDto, ...errors } },
      },
      async (req) => {
        await requireAccess(db, caller(req).user.id, 'asset.read', req.params.id);
        return toAssetResponseDto(await requireAssetRow(db, req.params.id));
      },
    );

    app.get(
      '/api/assets/:id/original',
      {
        config: { permission: 'asset.download' },
        schema: {
          tags: ['assets'],
          params: IdParams,
          querystring: AssetOriginalQuery,
          response: { 400: err, 401: err, 403: err, 416: err },
        },
      },
      async (req, reply) => {
        await requireAccess(db, caller(req).user.id, 'asset.download', req.params.id);
        const row = await requireAssetRow(db, req.params.id);
        return serveBlob(reply, storage, row.original_key, {
          range: header(req, 'range'),
          ifNoneMatch: header(req, 'if-none-match'),
          ifRange: header(req, 'if-range'),
          fileName: row.original_file_name,
          disposition: 'attachment',
          contentType: row.mime_type,
          headOnly: req.method === 'HEAD',
        });
      },
    );

    // Immich's playAssetVideo: the rendition when the original does not play in browsers, else the original.
    app.get(
      '/api/assets/:id/video/playback',
      {
        config: { permission: 'asset.view' },
        schema: {
          tags: ['assets'],
          params: IdParams,
          response: { 400: err, 401: err, 403: err, 404: err, 416: err, 503: err },
        },
      },
      async (req, reply) => {
        await requireAccess(db, caller(req).user.id, 'asset.read', req.params.id);
        const row = await requireAssetRow(db, req.params.id);
        if (row.type !== 'VIDEO') throw notFound('This asset is not a video');
        const playback = videoPlayback(row);
        if (!playback) {
          if (row.rendition_status === 'failed') {
            throw notFound(`This video cannot be played in a browser: ${row.rendition_error ?? 'conversion failed'}`);
          }
          throw unavailable(
            `This video is being converted for the browser (${row.rendition_progress ?? 0}% done); retry shortly`,
          );
        }
        return serveBlob(reply, storage, playback.key, {
          range: header(req, 'range'),
          ifNoneMatch: header(req, 'if-none-match'),
          ifRange: header(req, 'if-range'),
          etag: `"video-${row.id}-${playback.source}-${row.updated_at.getTime().toString(36)}"`,
          contentType: playback.contentType,
          disposition: 'inline',
          headOnly: req.method === 'HEAD',
        });
      },
    );

    app.get(
      '/api/assets/:id/thumbnail',
      {
        config: { permission: 'asset.view' },
        schema: {
          tags: ['assets'],
          params: IdParams,
          querystring: AssetThumbnailQuery,
          response: { 400: err, 401: err, 403: err, 404: err },
        },
      },
      async (req, reply) => {
        await requireAccess(db, caller(req).user.id, 'asset.read', req.params.id);
        const size = req.query.size ?? 'thumbnail';
        const row = await requireAssetRow(db, req.params.id);
        // As Immich: a missing thumbnail falls back to the preview, and every other size (fullsize, original)
        // is served the preview here (immish keeps no separate full-size rendition); neither yet → 404.
        const useThumbnail = size === 'thumbnail' && row.thumbnail_key !== null;
        const key = useThumbnail ? row.thumbnail_key : row.preview_key;
        if (!key) {
          throw notFound(
            row.status === 'failed'
              ? `Asset media not found: processing failed (${row.error ?? 'unknown reason'})`
              : `Asset media not found: the asset is still being processed (status ${row.status}); retry shortly`,
          );
        }
        return serveBlob(reply, storage, key, {
          ifNoneMatch: header(req, 'if-none-match'),
          contentType: useThumbnail ? 'image/webp' : 'image/jpeg',
          cacheControl: DERIVATIVE_CACHE,
          headOnly: req.method === 'HEAD',
        });
      },
    );
  };
