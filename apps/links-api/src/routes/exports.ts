import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ExportCreateDto, ExportDto, ExportPartParams, IdParams, IMMISH_ROUTE_PERMISSIONS } from '@immish/contracts';
import {
  deleteExport,
  type ExportRequester,
  exportPartToServe,
  getExport,
  requestExport,
  requireAccess,
  toExportDto,
} from '@immish/domain';
import { serveDownloadPart } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { caller } from '../auth.ts';
import type { LinksApiDeps } from '../deps.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };

const partUrl = (exportId: string) => (index: number) => `/api/exports/${exportId}/parts/${index}/download`;
const header = (req: FastifyRequest, name: string): string | undefined => {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
};

/** docs/spec.md §4.5: the owner's exports. Only the requesting user ever sees an export. */
export const exportsRoutes =
  ({ db, storage, config }: LinksApiDeps): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const requester = (req: FastifyRequest): ExportRequester => ({ userId: caller(req).user.id });

    app.post(
      '/api/exports',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['POST /api/exports'] },
        schema: {
          tags: ['exports'],
          summary: 'Request a zip archive of assets or of an album (built in the background)',
          body: ExportCreateDto,
          response: { 202: ExportDto, ...errors },
        },
      },
      async (req, reply) => {
        const userId = caller(req).user.id;
        const body = req.body;
        const albumId = 'albumId' in body ? body.albumId : undefined;
        const assetIds = 'assetIds' in body ? body.assetIds : undefined;
        if (albumId !== undefined) await requireAccess(db, userId, 'album.download', albumId);
        if (assetIds !== undefined && assetIds.length > 0) {
          await requireAccess(db, userId, 'asset.download', [...new Set(assetIds)]);
        }
        const { export: row } = await requestExport(db, {
          requester: { userId },
          ...(albumId !== undefined ? { albumId } : {}),
          ...(assetIds !== undefined ? { assetIds } : {}),
          ...(body.maxPartSize !== undefined ? { maxPartSize: body.maxPartSize } : {}),
          maxAssets: config.EXPORT_MAX_ASSETS,
          correlationId: String(req.id),
        });
        return reply.status(202).send(toExportDto(row, partUrl(row.id)));
      },
    );

    app.get(
      '/api/exports/:id',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/exports/:id'] },
        schema: {
          tags: ['exports'],
          summary: 'Status, progress and parts of an export',
          params: IdParams,
          response: { 200: ExportDto, ...errors },
        },
      },
      async (req) => {
        const row = await getExport(db, requester(req), req.params.id);
        return toExportDto(row, partUrl(row.id));
      },
    );

    app.get(
      '/api/exports/:id/parts/:n/download',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['GET /api/exports/:id/parts/:n/download'] },
        schema: {
          tags: ['exports'],
          summary: 'Download one part (a zip); supports Range requests to resume',
          params: ExportPartParams,
          response: {
            200: Type.Unknown({ description: 'application/zip' }),
            206: Type.Unknown({ description: 'the requested byte range' }),
            ...errors,
            409: err,
            410: err,
            416: err,
          },
        },
      },
      async (req, reply) => {
        const row = await getExport(db, requester(req), req.params.id);
        await serveDownloadPart(reply, storage, exportPartToServe(row, req.params.n), {
          range: header(req, 'range'),
          ifRange: header(req, 'if-range'),
          presignedRedirects: config.S3_PRESIGNED_REDIRECTS,
        });
        return reply;
      },
    );

    app.delete(
      '/api/exports/:id',
      {
        config: { permission: IMMISH_ROUTE_PERMISSIONS['DELETE /api/exports/:id'] },
        schema: {
          tags: ['exports'],
          summary: 'Delete an export and its archives',
          params: IdParams,
          response: { 204: Type.Null(), ...errors },
        },
      },
      async (req, reply) => {
        await deleteExport(db, storage, requester(req), req.params.id);
        return reply.status(204).send(null);
      },
    );
  };
