import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AssetMediaResponseDto, AssetUploadQuery, ShareParams, UploadBatchDto } from '@immish/contracts';
import { appendEvents } from '@immish/db';
import {
  commitUpload,
  drain,
  duplicateByChecksum,
  getUploadBatch,
  parseChecksum,
  receiveUploadBatch,
  type StoredUpload,
  storeUpload,
  type UploadMetadata,
  type UploadPart,
  type UploadPlacement,
  validateUploadMetadata,
} from '@immish/domain';
import { invalid, unauthenticated } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { ActiveLink } from '../link-resolver.ts';
import { type GatewayContext, requireRecipient } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 413: err, 415: err };

export const UPLOADS_DISABLED = 'This shared link does not allow uploads';

/** Immich answers 401 when a link without allowUpload is used to upload. */
function requireUploads(link: ActiveLink): void {
  if (!link.link.allow_upload) throw unauthenticated(UPLOADS_DISABLED);
}

/** ALBUM link: into the album; INDIVIDUAL link: into the link. The asset belongs to the link owner. */
const placementOf = (link: ActiveLink): UploadPlacement =>
  link.link.type === 'ALBUM' ? { albumId: link.link.album_id! } : { sharedLinkId: link.link.id };

function metadataFromFields(fields: Record<string, string>, partFileName: string): UploadMetadata {
  const favorite = fields.isFavorite;
  if (favorite !== undefined && favorite !== 'true' && favorite !== 'false') {
    throw invalid('isFavorite must be "true" or "false"');
  }
  return {
    fileName: fields.filename?.trim() || partFileName,
    ...(fields.fileCreatedAt !== undefined ? { fileCreatedAt: fields.fileCreatedAt } : {}),
    ...(fields.fileModifiedAt !== undefined ? { fileModifiedAt: fields.fileModifiedAt } : {}),
    ...(fields.deviceAssetId !== undefined ? { deviceAssetId: fields.deviceAssetId } : {}),
    ...(fields.deviceId !== undefined ? { deviceId: fields.deviceId } : {}),
    ...(fields.duration !== undefined ? { duration: fields.duration } : {}),
    ...(favorite !== undefined ? { isFavorite: favorite === 'true' } : {}),
  };
}

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * SPEC §5.3 upload through a link (`allowUpload`): `POST /share/:key/uploads` (several files, answered as an
 * upload batch) and Immich's `POST /api/assets?key=`. The owner is notified by `shared-link.upload-received`.
 */
export const uploadRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const { db, storage, config } = ctx.deps;
    await fastify.register(multipart, {
      throwFileSizeLimit: false,
      limits: {
        fileSize: config.UPLOAD_MAX_FILE_BYTES,
        files: config.UPLOAD_MAX_FILES,
        fields: 50,
        fieldSize: 64 * 1024,
        headerPairs: 200,
      },
    });
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

    /** Counts the uploads and notifies the owner (the batch route's domain function does this itself). */
    async function uploadReceived(link: ActiveLink, assetIds: string[], correlationId: string) {
      await db.transaction().execute((trx) =>
        appendEvents(trx, [
          {
            type: 'shared-link.upload-received',
            actor: { type: 'link', id: link.link.id },
            subject: { type: 'shared-link', id: link.link.id },
            data: { linkId: link.link.id, ownerId: link.link.owner_id, batchId: null, assetIds },
            correlationId,
          },
        ]),
      );
      await ctx.activity.record(link.link.id, 'upload', assetIds.length, correlationId);
    }

    app.post(
      '/share/:key/uploads',
      {
        schema: {
          tags: ['share'],
          summary: 'Upload files through the link (multipart: one or more file parts)',
          consumes: ['multipart/form-data'],
          params: ShareParams,
          response: { 202: UploadBatchDto, ...errors },
        },
      },
      async (req, reply) => {
        const { link } = await requireRecipient(ctx, req);
        requireUploads(link);
        if (!req.isMultipart()) throw invalid('Expected a multipart/form-data body with one or more files');
        const placement = placementOf(link);
        const batch = await receiveUploadBatch(
          { db, storage },
          {
            ownerId: link.link.owner_id,
            uploadedByUserId: null,
            actor: { type: 'link', id: link.link.id },
            parts: req.parts() as AsyncIterable<UploadPart>,
            maxFileBytes: config.UPLOAD_MAX_FILE_BYTES,
            maxFiles: config.UPLOAD_MAX_FILES,
            sharedLinkId: link.link.id,
            ...(placement.albumId ? { albumId: placement.albumId } : {}),
            authorizeAlbum: async () => {
              throw invalid('albumId cannot be chosen when uploading through a shared link');
            },
            correlationId: String(req.id),
          },
        );
        const received = batch.items.filter((i) => i.status !== 'failed').length;
        if (received > 0) await ctx.activity.record(link.link.id, 'upload', received, String(req.id));
        return reply.status(202).send(batch);
      },
    );

    app.get(
      '/share/:key/uploads/:id',
      {
        schema: {
          tags: ['share'],
          params: Type.Object({ key: ShareParams.properties.key, id: Type.String({ format: 'uuid' }) }),
          response: { 200: UploadBatchDto, ...errors },
        },
      },
      async (req) => {
        const { link } = await requireRecipient(ctx, req);
        return getUploadBatch(db, req.params.id, { sharedLinkId: link.link.id });
      },
    );

    // Immich's uploadAsset with `?key=`/`?slug=`: one file (`assetData`) plus its fields.
    app.post(
      '/api/assets',
      {
        schema: {
          tags: ['assets'],
          consumes: ['multipart/form-data'],
          querystring: AssetUploadQuery,
          response: { 200: AssetMediaResponseDto, 201: AssetMediaResponseDto, ...errors },
        },
      },
      async (req, reply) => {
        const { link } = await requireRecipient(ctx, req);
        requireUploads(link);
        const ownerId = link.link.owner_id;
        const actor = { type: 'link' as const, id: link.link.id };
        const placement = placementOf(link);
        const correlationId = String(req.id);
        const announced = header(req, 'x-immich-checksum');
        if (announced) {
          const checksum = parseChecksum(announced);
          if (!checksum) throw invalid('x-immich-checksum must be a SHA-1 in hex (40 digits) or base64 (28 chars)');
          const id = await duplicateByChecksum(db, { ownerId, checksum, actor, placement });
          if (id) {
            await uploadReceived(link, [id], correlationId);
            return reply.status(200).send({ id, status: 'duplicate' });
          }
        }
        if (!req.isMultipart()) throw invalid('Expected a multipart/form-data body with an assetData file');
        const fields: Record<string, string> = {};
        let stored: StoredUpload | null = null;
        let partFileName = '';
        try {
          for await (const part of req.parts({ limits: { files: 2 } })) {
            if (part.type === 'field') {
              if (typeof part.value === 'string') fields[part.fieldname] = part.value;
              continue;
            }
            if (part.fieldname !== 'assetData' || stored) {
              drain(part.file);
              continue;
            }
            partFileName = part.filename || 'file';
            if (fields.fileCreatedAt !== undefined && fields.fileModifiedAt !== undefined) {
              validateUploadMetadata(metadataFromFields(fields, partFileName));
            }
            stored = await storeUpload(storage, {
              ownerId,
              file: part.file,
              fileName: fields.filename?.trim() || partFileName,
              maxFileBytes: config.UPLOAD_MAX_FILE_BYTES,
            });
          }
        } catch (error) {
          if (stored) await storage.delete(stored.key).catch(() => {});
          throw error;
        }
        if (!stored) throw invalid('assetData is required: the file part of the multipart body');
        let metadata: UploadMetadata;
        try {
          metadata = metadataFromFields(fields, partFileName);
        } catch (error) {
          await storage.delete(stored.key).catch(() => {});
          throw error;
        }
        const outcome = await commitUpload(
          { db, storage },
          { ownerId, actor, stored, metadata, placement, correlationId },
        );
        await uploadReceived(link, [outcome.assetId], correlationId);
        return reply
          .status(outcome.status === 'created' ? 201 : 200)
          .send({ id: outcome.assetId, status: outcome.status });
      },
    );
  };
