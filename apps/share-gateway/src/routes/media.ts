import { pipeline, type Readable, Transform } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AssetOriginalQuery, AssetThumbnailQuery, IdParams, ShareAssetParams, ShareParams } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import {
  anonymousFileName,
  checkLinkAccess,
  linkAssetIdsAmong,
  listLinkAssets,
  requireLinkVideo,
  usedUp,
  usedUpError,
  useLimit,
  videoPlayback,
} from '@immish/domain';
import { createMetadataStripper, renderCard } from '@immish/media';
import {
  blobError,
  DomainError,
  etagMatches,
  forbidden,
  notFound,
  parseByteRange,
  serveBlob,
  unavailable,
} from '@immish/runtime';
import { contentDisposition } from '@immish/storage';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import {
  type DerivativeKind,
  derivativeAnswer,
  derivativeFileName,
  derivativeFromMemory,
  derivativeOf,
  IMMUTABLE,
  offeredFileName,
  SHARE_MEDIA_ROUTE,
} from '../derivatives.ts';
import type { ActiveLink } from '../link-resolver.ts';
import {
  countLimitedUse,
  type GatewayContext,
  logActivity,
  peekRecipient,
  requireRecipient,
  requireRecipientAsset,
} from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err, 404: err, 416: err };

const MediaKind = Type.Union([Type.Literal('thumbnail'), Type.Literal('preview'), Type.Literal('original')]);
type MediaKind = Type.Static<typeof MediaKind>;

const NOT_STRIPPABLE =
  'This file cannot be shared without its metadata; download the preview instead (the link hides metadata)';

/** Media of a link's asset (docs/spec.md §5.3): thumbnail, preview, original (Range/ETag; stripped when metadata is hidden). */
export const mediaRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { storage, config } = ctx.deps;

    /**
     * The hot path of a grid of thumbnails through fastify (inject, HEAD, the Immich route): link, unlock,
     * membership and bytes all in memory, answered without a turn of the event loop (no promise per step); false
     * when any of them needs the database or storage, and `serve` then answers (or refuses). A plain GET of a
     * link's thumbnail is answered before fastify by the fast path (fast-path.ts) with the same rules.
     */
    function sendFromMemory(req: FastifyRequest, reply: FastifyReply, assetId: string, kind: MediaKind): boolean {
      if (kind === 'original') return false;
      const ifNoneMatch = req.headers['if-none-match'];
      const answer = derivativeFromMemory(ctx, peekRecipient(ctx, req), assetId, kind, ifNoneMatch);
      if (!answer) return false;
      reply.headers(answer.headers).status(answer.status);
      if (answer.status === 304) reply.send();
      else reply.send(answer.bytes);
      return true;
    }

    async function sendDerivative(
      req: FastifyRequest,
      reply: FastifyReply,
      link: ActiveLink,
      asset: AssetRow,
      kind: DerivativeKind,
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
      const answer = derivativeAnswer(link, asset, kind, d, req.headers['if-none-match']);
      reply.headers(answer.headers).status(answer.status);
      return answer.status === 304 ? reply.send() : reply.send(bytes);
    }

    /**
     * Counts a completed download: once a response carrying the last byte has been sent (or redirected).
     * Attached before the response starts, judged when it finished.
     */
    function countDownloadWhenDone(reply: FastifyReply, linkId: string, correlationId: string, assetId: string) {
      if (reply.request.method === 'HEAD') return;
      reply.raw.once('finish', () => {
        const status = reply.statusCode;
        if (status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(reply.getHeader('content-range') ?? ''));
          if (!m || Number(m[2]) !== Number(m[3]) - 1) return;
        } else if (status !== 200 && status !== 302) return;
        ctx.activity.count(linkId, 'download', 1, correlationId);
        logActivity(ctx, reply.request, linkId, 'download-original', { assetId });
      });
    }

    async function sendOriginal(req: FastifyRequest, reply: FastifyReply, link: ActiveLink, asset: AssetRow) {
      checkLinkAccess(link.link, 'link.download');
      // a download-limited link counts each original download started: a request from the first byte. A range
      // from further in continues one (resuming, a player seeking) and is not counted again; once the limit is
      // reached every original is refused, continuations included (README "Limited links").
      if (req.method !== 'HEAD' && !continuesDownload(req.headers.range)) await countLimitedUse(ctx, link, 'download');
      else if (useLimit(link.link, 'download') !== null && usedUp(link.link, 'download')) throw usedUpError('download');
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
        countDownloadWhenDone(reply, link.link.id, String(req.id), asset.id);
        return reply.send(body);
      }
      countDownloadWhenDone(reply, link.link.id, String(req.id), asset.id);
      await serveBlob(reply, storage, asset.original_key, {
        range: req.headers.range,
        ifNoneMatch: req.headers['if-none-match'],
        ifRange: req.headers['if-range'] as string | undefined,
        contentType: asset.mime_type,
        fileName: offeredFileName(link, asset),
        cacheControl: 'private, no-cache',
        ...(config.S3_PRESIGNED_REDIRECTS ? { presignSeconds: 60 } : {}),
      });
      return reply;
    }

    /**
     * Video playback (README "Formats"): the rendition, or the original when it is web-playable, with Range and
     * ETag. Playing is viewing, like a preview: allowed when downloads are disabled (as Immich). When the link
     * hides metadata, a rendition has none to hide (made with `-map_metadata -1`), and an original MP4/MOV is
     * stripped on the way; stripping keeps every byte's offset, so ranges of the stripped file are ranges of the
     * original's length (read from its start, as the stripper parses from there).
     */
    async function serveVideo(req: FastifyRequest, reply: FastifyReply, assetId: string) {
      const { link } = await requireRecipient(ctx, req);
      let shown: AssetRow | undefined;
      try {
        shown = await requireRecipientAsset(ctx, link, assetId);
      } catch {
        // not a shown asset: maybe the hidden motion part of a shown Live Photo (Immich clients ask by its id)
      }
      const video = await requireLinkVideo(ctx.deps.db, link, assetId, shown);
      const playback = videoPlayback(video);
      if (!playback) {
        if (video.rendition_status === 'failed')
          throw notFound('This video cannot be played in a browser; download it instead');
        throw unavailable(
          `This video is being converted for the browser (${video.rendition_progress ?? 0}% done); retry shortly`,
        );
      }
      const name = `${link.link.show_metadata ? video.original_file_name.replace(/\.[^.]*$/, '') : video.id}.${playback.source === 'rendition' ? 'mp4' : (anonymousFileName(video).split('.').pop() ?? 'mp4')}`;
      const version = video.updated_at.getTime().toString(36);
      const etag = `"video-${video.id}-${playback.source}-${version}"`;
      if (playback.source === 'rendition' || link.link.show_metadata) {
        return serveBlob(reply, storage, playback.key, {
          range: req.headers.range,
          ifNoneMatch: req.headers['if-none-match'],
          ifRange: req.headers['if-range'] as string | undefined,
          etag,
          contentType: playback.contentType,
          fileName: name,
          disposition: 'inline',
          cacheControl: 'private, no-cache',
          headOnly: req.method === 'HEAD',
        });
      }
      const stripper = createMetadataStripper(video.mime_type);
      if (!stripper) throw forbidden('This video cannot be played without its metadata (the link hides metadata)');
      return serveStripped(req, reply, video, stripper, etag, name);
    }

    async function serveStripped(
      req: FastifyRequest,
      reply: FastifyReply,
      video: AssetRow,
      stripper: Transform,
      etag: string,
      name: string,
    ) {
      const size = Number(video.size);
      reply
        .header('etag', etag)
        .header('cache-control', 'private, no-cache')
        .header('accept-ranges', 'bytes')
        .header('content-disposition', contentDisposition(name, 'inline'))
        .header('content-type', video.mime_type);
      if (etagMatches(req.headers['if-none-match'], etag)) return reply.status(304).send();
      const ifRange = req.headers['if-range'] as string | undefined;
      const range = !ifRange || etagMatches(ifRange, etag, 'strong') ? parseByteRange(req.headers.range, size) : null;
      if (range === 'unsatisfiable') {
        reply.header('content-range', `bytes */${size}`);
        throw new DomainError('range', `Range "${req.headers.range}" is not satisfiable: the file has ${size} bytes`);
      }
      const start = range ? range.start : 0;
      const end = range ? range.end : size - 1;
      if (range) reply.status(206).header('content-range', `bytes ${start}-${end}/${size}`);
      else reply.status(200);
      reply.header('content-length', String(end - start + 1));
      if (req.method === 'HEAD') return reply.send();
      let source: Readable;
      try {
        source = await storage.get(video.original_key);
      } catch (e) {
        throw blobError(e);
      }
      const window = byteWindow(start, end, () => {
        // the range is complete: stop reading the original
        source.unpipe(stripper);
        source.destroy();
        stripper.destroy();
      });
      const fail = (e: Error) => {
        reply.log.warn({ err: e.message }, 'stripped playback failed mid-stream');
        window.destroy(e);
      };
      source.on('error', fail);
      stripper.on('error', fail);
      const body = source.pipe(stripper).pipe(window);
      return reply.send(body);
    }

    async function serve(req: FastifyRequest, reply: FastifyReply, assetId: string, kind: MediaKind) {
      const { link } = await requireRecipient(ctx, req);
      const asset = await requireRecipientAsset(ctx, link, assetId);
      if (kind === 'original') return sendOriginal(req, reply, link, asset);
      return sendDerivative(req, reply, link, asset, kind);
    }

    app.get(
      SHARE_MEDIA_ROUTE,
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
      // answered from memory: nothing returned (returning the reply, a thenable, costs a promise turn)
      (req, reply) => {
        if (!sendFromMemory(req, reply, req.params.assetId, req.params.kind))
          return serve(req, reply, req.params.assetId, req.params.kind);
      },
    );

    /**
     * The Open Graph card (issue 21 §8): a 1200×630 JPEG of the album's cover, or of the link's first asset (or of one
     * photo, for its page), cut
     * from its preview (no metadata). A password link has none: its page names no image and this refuses.
     */
    const cardsRendering = new Map<string, Promise<Buffer>>();
    async function serveCard(req: FastifyRequest, reply: FastifyReply, assetId: string | null) {
      const { link } = await requireRecipient(ctx, req, 'card');
      if (link.link.password_hash) throw notFound('A password-protected link has no preview card');
      const { db } = ctx.deps;
      const coverId = link.album?.thumbnail_asset_id ?? null;
      const cover = coverId && (await linkAssetIdsAmong(db, link, [coverId])).has(coverId) ? coverId : null;
      const chosen = assetId ?? cover;
      const asset = chosen
        ? await requireRecipientAsset(ctx, link, chosen)
        : (await listLinkAssets(db, link, { offset: 0, limit: 1 }))[0];
      const d = asset && derivativeOf(asset, 'preview');
      if (!asset || !d) throw notFound('This link has no photo to show yet');
      const etag = `"card-${asset.id}-${asset.updated_at.getTime().toString(36)}"`;
      reply.header('etag', etag).header('cache-control', 'private, max-age=3600');
      if (etagMatches(req.headers['if-none-match'], etag)) return reply.status(304).send();
      const cacheKey = `${d.cacheKey}#card`;
      let card = ctx.derivatives.get(cacheKey);
      if (!card) {
        // one render per card however many ask at once: a link pasted into a busy chat is fetched by many
        // previewers together, and each render is a decode + resize + encode
        let rendering = cardsRendering.get(cacheKey);
        if (!rendering) {
          rendering = (async () => {
            let preview: Buffer;
            try {
              preview = Buffer.concat(await (await storage.get(d.key)).toArray());
            } catch (e) {
              throw blobError(e);
            }
            const rendered = await renderCard(preview);
            ctx.derivatives.set(cacheKey, rendered);
            return rendered;
          })().finally(() => cardsRendering.delete(cacheKey));
          cardsRendering.set(cacheKey, rendering);
        }
        card = await rendering;
      }
      return reply.type('image/jpeg').send(card);
    }

    app.get(
      '/share/:key/og.jpg',
      { schema: { tags: ['share'], params: ShareParams, response: errors } },
      (req, reply) => serveCard(req, reply, null),
    );
    // a photo page's card: that photo
    app.get(
      '/share/:key/assets/:assetId/card.jpg',
      { schema: { tags: ['share'], params: ShareAssetParams, response: errors } },
      (req, reply) => serveCard(req, reply, req.params.assetId),
    );

    app.get(
      '/share/:key/assets/:assetId/video',
      { schema: { tags: ['share'], params: ShareAssetParams, response: { ...errors, 503: err } } },
      (req, reply) => serveVideo(req, reply, req.params.assetId),
    );

    // Immich's playAssetVideo (the share page of Immich's web client, and its apps, with `?key=`).
    app.get(
      '/api/assets/:id/video/playback',
      { schema: { tags: ['assets'], params: IdParams, response: { ...errors, 503: err } } },
      (req, reply) => serveVideo(req, reply, req.params.id),
    );

    // Immich's viewAsset: `size` thumbnail (default) | preview | fullsize (= preview) | original (deprecated).
    app.get(
      '/api/assets/:id/thumbnail',
      { schema: { tags: ['assets'], params: IdParams, querystring: AssetThumbnailQuery, response: errors } },
      (req, reply) => {
        const size = req.query.size ?? 'thumbnail';
        const kind: MediaKind = size === 'original' ? 'original' : size === 'thumbnail' ? 'thumbnail' : 'preview';
        if (!sendFromMemory(req, reply, req.params.id, kind)) return serve(req, reply, req.params.id, kind);
      },
    );

    // Immich's downloadAsset.
    app.get(
      '/api/assets/:id/original',
      { schema: { tags: ['assets'], params: IdParams, querystring: AssetOriginalQuery, response: errors } },
      async (req, reply) => serve(req, reply, req.params.id, 'original'),
    );
  };

/** A Range request starting past the first byte: the continuation of a download already started. */
function continuesDownload(range: string | undefined): boolean {
  const m = range ? /^\s*bytes\s*=\s*(\d+)\s*-/i.exec(range) : null;
  return m !== null && Number(m[1]) > 0;
}

/**
 * Passes bytes `start`..`end` (inclusive) of a stream and ends it there: a byte range of a stream that has to be
 * produced from its beginning (a stripped original). Past `end` the upstream is not read any further.
 */
function byteWindow(start: number, end: number, onComplete: () => void): Transform {
  let at = 0;
  let complete = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (complete) {
        callback();
        return;
      }
      const from = Math.max(0, start - at);
      const to = Math.min(chunk.length, end + 1 - at);
      at += chunk.length;
      if (to > from) this.push(chunk.subarray(from, to));
      if (at > end) {
        complete = true;
        this.push(null);
        onComplete();
      }
      callback();
    },
  });
}
