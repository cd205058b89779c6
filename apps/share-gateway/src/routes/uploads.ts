import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AssetMediaResponseDto, AssetUploadQuery, ShareParams, UploadBatchDto } from '@immish/contracts';
import {
  checkLinkAccess,
  getUploadBatch,
  parseChecksum,
  receiveAssetUpload,
  receiveUploadBatch,
  shownAssetIdByChecksum,
  type ThroughLink,
  type UploadPart,
  type UploadPlacement,
  usedUp,
  usedUpError,
} from '@immish/domain';
import { invalid, partsOrBadRequest } from '@immish/runtime';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { ActiveLink } from '../link-resolver.ts';
import { type GatewayContext, logActivity, requireRecipient } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 413: err, 415: err };

/** ALBUM link: into the album; INDIVIDUAL link: into the link. The asset belongs to the link owner. */
const placementOf = (link: ActiveLink): UploadPlacement =>
  link.link.type === 'ALBUM' ? { albumId: link.link.album_id! } : { sharedLinkId: link.link.id };

/**
 * An upload through this link (docs/spec.md §14 "What a link can reach"): it never dedupes against the owner's library
 * (bytes the owner already has become their own new asset, placed like any upload); the only duplicate is an
 * asset the link already shows, answered `{id, status: "duplicate"}` with nothing placed.
 */
const throughLinkOf = (ctx: GatewayContext, link: ActiveLink): ThroughLink => ({
  linkId: link.link.id,
  findShown: (checksum) => shownAssetIdByChecksum(ctx.deps.db, link, checksum),
  // an upload-limited link counts each accepted upload, in the transaction that records it (README "Limited links")
  ...(link.link.max_uploads !== null
    ? {
        countUpload: async (trx) => {
          if (!(await ctx.limits.consume(link, 'upload', { db: trx })).granted) throw usedUpError('upload');
        },
      }
    : {}),
  review: link.link.upload_review,
});

/** An upload-limited link with no upload left is refused before its body is read. */
const refuseUploadsUsedUp = (link: ActiveLink) => {
  if (usedUp(link.link, 'upload')) throw usedUpError('upload');
};

const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * docs/spec.md §5.3 upload through a link (`allowUpload`): `POST /share/:key/uploads` (several files, answered as an
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
        checkLinkAccess(link.link, 'link.upload');
        refuseUploadsUsedUp(link);
        if (!req.isMultipart()) throw invalid('Expected a multipart/form-data body with one or more files');
        const placement = placementOf(link);
        const batch = await receiveUploadBatch(
          { db, storage },
          {
            ownerId: link.link.owner_id,
            uploadedByUserId: null,
            actor: { type: 'link', id: link.link.id },
            parts: partsOrBadRequest(() => req.parts() as AsyncIterable<UploadPart>),
            maxFileBytes: config.UPLOAD_MAX_FILE_BYTES,
            maxFiles: config.UPLOAD_MAX_FILES,
            throughLink: throughLinkOf(ctx, link),
            ...(placement.albumId ? { albumId: placement.albumId } : {}),
            authorizeAlbum: async () => {
              throw invalid('albumId cannot be chosen when uploading through a shared link');
            },
            correlationId: String(req.id),
          },
        );
        // what the link brought in: a duplicate of a shown asset brings nothing
        const received = batch.items.filter((i) => i.status !== 'failed' && i.status !== 'duplicate').length;
        if (received > 0) ctx.activity.count(link.link.id, 'upload', received, String(req.id));
        for (const item of batch.items)
          if (item.status !== 'failed' && item.status !== 'duplicate')
            logActivity(ctx, req, link.link.id, 'upload', item.assetId ? { assetId: item.assetId } : {});
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
        checkLinkAccess(link.link, 'link.upload');
        refuseUploadsUsedUp(link);
        const ownerId = link.link.owner_id;
        const actor = { type: 'link' as const, id: link.link.id };
        const placement = placementOf(link);
        const throughLink = throughLinkOf(ctx, link);
        const correlationId = String(req.id);
        const announced = header(req, 'x-immich-checksum');
        if (announced) {
          const checksum = parseChecksum(announced);
          if (!checksum) throw invalid('x-immich-checksum must be a SHA-1 in hex (40 digits) or base64 (28 chars)');
          // only an asset the link shows may answer before the body is read: nothing is placed
          const id = await throughLink.findShown(checksum);
          if (id) return reply.status(200).send({ id, status: 'duplicate' });
        }
        if (!req.isMultipart()) throw invalid('Expected a multipart/form-data body with an assetData file');
        const outcome = await receiveAssetUpload(
          { db, storage },
          {
            ownerId,
            actor,
            parts: partsOrBadRequest(() => req.parts({ limits: { files: 2 } }) as AsyncIterable<UploadPart>),
            maxFileBytes: config.UPLOAD_MAX_FILE_BYTES,
            placement,
            throughLink,
            correlationId,
          },
        );
        // the owner's `shared-link.upload-received` was written with the asset (commitUpload); here only the counter
        if (outcome.status === 'created') {
          ctx.activity.count(link.link.id, 'upload', 1, correlationId);
          logActivity(ctx, req, link.link.id, 'upload', { assetId: outcome.assetId });
        }
        return reply
          .status(outcome.status === 'created' ? 201 : 200)
          .send({ id: outcome.assetId, status: outcome.status });
      },
    );
  };
