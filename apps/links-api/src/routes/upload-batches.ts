import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { IdParams, IMMISH_ROUTE_PERMISSIONS, UPLOAD_BATCH_ALBUM_PERMISSION, UploadBatchDto } from '@immish/contracts';
import { getUploadBatch, receiveUploadBatch, requireAccess, requirePermission, type UploadPart } from '@immish/domain';
import { invalid, partsOrBadRequest } from '@immish/runtime';
import type { FastifyPluginAsync } from 'fastify';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };

/** docs/spec.md §4.2 upload batches (the "share intent" flow): N files in one request, optionally into one album. */
export const uploadBatchesRoutes =
  (deps: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const { db, storage, config } = deps;
    await fastify.register(multipart, {
      throwFileSizeLimit: false,
      limits: {
        fileSize: config.UPLOAD_MAX_FILE_BYTES,
        files: config.UPLOAD_MAX_FILES,
        fields: 20,
        fieldSize: 64 * 1024,
        headerPairs: 200,
      },
    });
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    app.post(
      '/api/upload-batches',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['POST /api/upload-batches'] },
        schema: {
          tags: ['upload-batches'],
          summary: 'Upload several files at once (multipart: optional albumId field first, then file parts)',
          consumes: ['multipart/form-data'],
          response: { 202: UploadBatchDto, ...errors, 413: err, 415: err },
        },
      },
      async (req, reply) => {
        const auth = caller(req);
        const { user } = auth;
        if (!req.isMultipart()) throw invalid('Expected a multipart/form-data body with one or more files');
        const batch = await receiveUploadBatch(
          { db, storage },
          {
            ownerId: user.id,
            uploadedByUserId: user.id,
            actor: { type: 'user', id: user.id },
            parts: partsOrBadRequest(() => req.parts() as AsyncIterable<UploadPart>),
            maxFileBytes: config.UPLOAD_MAX_FILE_BYTES,
            maxFiles: config.UPLOAD_MAX_FILES,
            authorizeAlbum: async (albumId) => {
              requirePermission(auth, UPLOAD_BATCH_ALBUM_PERMISSION);
              await requireAccess(db, user.id, 'album.addAssets', albumId);
            },
            correlationId: String(req.id),
          },
        );
        return reply.status(202).send(batch);
      },
    );

    app.get(
      '/api/upload-batches/:id',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/upload-batches/:id'] },
        schema: { tags: ['upload-batches'], params: IdParams, response: { 200: UploadBatchDto, ...errors } },
      },
      async (req) => getUploadBatch(db, req.params.id, { userId: caller(req).user.id }),
    );
  };
