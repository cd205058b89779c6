import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ExportDto, ExportPartParams, ShareExportCreateDto, ShareParams } from '@immish/contracts';
import {
  checkLinkAccess,
  consumeLinkUse,
  countLinkExportDownload,
  type ExportRequester,
  exportClientKey,
  exportPartToServe,
  getExport,
  linkAssetIdsAmong,
  linkAssetIdsExcept,
  requestExport,
  toExportDto,
} from '@immish/domain';
import { invalid, serveDownloadPart } from '@immish/runtime';
import type { FastifyPluginAsync } from 'fastify';
import Type from 'typebox';
import { type ActiveLink, credentialOf } from '../link-resolver.ts';
import { countLimitedUse, type GatewayContext, isUnlocked, logActivity, requireRecipient } from '../recipient.ts';

const err = { $ref: 'ErrorResponse#' };
const errors = { 400: err, 401: err, 403: err };

const SSE_INTERVAL_MS = 1000;
/** an event stream ends after this long even if the export is still running (the client reconnects) */
const SSE_MAX_MS = 15 * 60_000;

/**
 * Exports are scoped to the link, with what it hides now: its exports are built without metadata while it
 * hides metadata, and an archive built with metadata is never served through it (see `getExport`).
 */
const linkRequester = (link: ActiveLink): ExportRequester => ({
  sharedLinkId: link.link.id,
  hidesMetadata: !link.link.show_metadata,
});

/**
 * docs/spec.md §5.3 "Download all / selected": the export worker builds the archive in the background; the recipient
 * polls the export and downloads its parts (Range/resume). Exports are scoped to the link: another link's
 * export id is "Not found or no access". When the link hides metadata, every entry is stripped of it (or
 * replaced by its preview) and named by asset id (docs/spec.md §14). Identical content reuses an export; more than
 * EXPORT_MAX_ASSETS → 400; past the caps on outstanding exports (per link, per client) → 429 + Retry-After.
 */
export const exportRoutes =
  (ctx: GatewayContext): FastifyPluginAsync =>
  async (fastify) => {
    const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
    const { db, storage, config } = ctx.deps;
    const partUrl = (segment: string, exportId: string) => (index: number) =>
      `/share/${encodeURIComponent(segment)}/exports/${exportId}/parts/${index}/download`;

    app.post(
      '/share/:key/exports',
      {
        schema: {
          tags: ['share'],
          params: ShareParams,
          body: ShareExportCreateDto,
          response: { 202: ExportDto, ...errors, 429: err },
        },
      },
      async (req, reply) => {
        const { link } = await requireRecipient(ctx, req);
        checkLinkAccess(link.link, 'link.download');
        const requested = req.body.assetIds;
        const except = req.body.exceptAssetIds;
        if (requested && except) throw invalid('Give assetIds or exceptAssetIds, not both');
        if (requested)
          checkLinkAccess(link.link, 'link.download', requested, await linkAssetIdsAmong(db, link, requested));
        let assetIds = requested;
        if (except) assetIds = await linkAssetIdsExcept(db, link, except);
        else if (!assetIds && link.link.type === 'INDIVIDUAL') {
          const rows = await db
            .selectFrom('shared_link_assets')
            .select('asset_id')
            .where('link_id', '=', link.link.id)
            .execute();
          assetIds = rows.map((r) => r.asset_id);
        }
        // a download-limited link counts each archive requested (its parts are then served however often);
        // given back when the request is refused after all (too many assets, too many exports pending)
        await countLimitedUse(ctx, link, 'download');
        const counted = link.link.max_downloads !== null;
        const { export: row } = await requestExport(db, {
          requester: linkRequester(link),
          ...(link.link.type === 'ALBUM' ? { albumId: link.link.album_id! } : {}),
          ...(assetIds ? { assetIds } : {}),
          ...(req.body.maxPartSize ? { maxPartSize: req.body.maxPartSize } : {}),
          maxAssets: config.EXPORT_MAX_ASSETS,
          limits: {
            maxPendingPerLink: config.EXPORT_MAX_PENDING_PER_LINK,
            maxPendingPerClient: config.EXPORT_MAX_PENDING_PER_CLIENT,
            maxKeptPerLink: config.EXPORT_MAX_KEPT_PER_LINK,
            clientKey: exportClientKey(req.ip),
          },
          correlationId: String(req.id),
        }).catch(async (e: unknown) => {
          if (counted) await consumeLinkUse(db, link.link.id, 'download', -1);
          throw e;
        });
        logActivity(ctx, req, link.link.id, 'export-requested', { exportId: row.id });
        return reply.status(202).send(toExportDto(row, partUrl(req.params.key, row.id)));
      },
    );

    app.get(
      '/share/:key/exports/:id',
      {
        schema: {
          tags: ['share'],
          params: Type.Object({ key: ShareParams.properties.key, id: ExportPartParams.properties.id }),
          response: { 200: ExportDto, ...errors },
        },
      },
      async (req) => {
        const { link } = await requireRecipient(ctx, req);
        const row = await getExport(db, linkRequester(link), req.params.id);
        return toExportDto(row, partUrl(req.params.key, row.id));
      },
    );

    // Open event streams end when the server shuts down (SIGTERM must not wait for them).
    let closing = false;
    const sleepers = new Set<() => void>();
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        sleepers.add(wake);
      });
    fastify.addHook('preClose', async () => {
      closing = true;
      for (const wake of [...sleepers]) wake();
    });

    // The same progress as server-sent events: one `ExportDto` per second until ready, failed or expired
    // (docs/spec.md §5.3 "progress by polling … (or SSE)"). Stops when the link stops working.
    app.get(
      '/share/:key/exports/:id/events',
      {
        schema: {
          tags: ['share'],
          params: Type.Object({ key: ShareParams.properties.key, id: ExportPartParams.properties.id }),
          response: errors,
        },
      },
      async (req, reply) => {
        const { link } = await requireRecipient(ctx, req);
        const first = await getExport(db, linkRequester(link), req.params.id);
        const urls = partUrl(req.params.key, first.id);
        const deadline = Date.now() + SSE_MAX_MS;
        async function* events() {
          let row = first;
          let last = '';
          while (true) {
            const dto = toExportDto(row, urls);
            const data = JSON.stringify(dto);
            if (data !== last) yield `event: progress\ndata: ${data}\n\n`;
            last = data;
            if (dto.status !== 'queued' && dto.status !== 'running') return;
            if (Date.now() > deadline) {
              yield 'event: timeout\ndata: {}\n\n';
              return;
            }
            await sleep(SSE_INTERVAL_MS);
            if (closing) {
              yield 'event: closing\ndata: {}\n\n';
              return;
            }
            try {
              const current = await ctx.links.require(credentialOf(req));
              if (!isUnlocked(ctx, req, current)) throw new Error('locked');
              row = await getExport(db, linkRequester(current), first.id);
            } catch {
              yield 'event: gone\ndata: {}\n\n';
              return;
            }
          }
        }
        return reply
          .type('text/event-stream; charset=utf-8')
          .header('cache-control', 'no-store')
          .header('x-accel-buffering', 'no')
          .send(Readable.from(events()));
      },
    );

    app.get(
      '/share/:key/exports/:id/parts/:n/download',
      {
        schema: {
          tags: ['share'],
          params: Type.Object({
            key: ShareParams.properties.key,
            id: ExportPartParams.properties.id,
            n: ExportPartParams.properties.n,
          }),
          response: { ...errors, 409: err, 410: err, 416: err },
        },
      },
      async (req, reply) => {
        const { link } = await requireRecipient(ctx, req);
        checkLinkAccess(link.link, 'link.download');
        const row = await getExport(db, linkRequester(link), req.params.id);
        const isLastPart = req.params.n === Math.max(0, ...row.parts.map((p) => p.index));
        const count = () => {
          logActivity(ctx, req, link.link.id, 'export-downloaded', { exportId: row.id });
          return countLinkExportDownload(db, link.link.id).catch((e) =>
            reply.log.warn({ err: (e as Error).message }, 'could not count a link download'),
          );
        };
        // listen before sending (a small part can be sent before serveDownloadPart returns); judge after
        let finished = false;
        let countOnFinish = false;
        reply.raw.once('finish', () => {
          finished = true;
          if (countOnFinish) void count();
        });
        const result = await serveDownloadPart(reply, storage, exportPartToServe(row, req.params.n), {
          range: req.headers.range,
          ifRange: req.headers['if-range'] as string | undefined,
          presignedRedirects: config.S3_PRESIGNED_REDIRECTS,
        });
        if (isLastPart && result.deliversLastByte && req.method !== 'HEAD') {
          if (result.statusCode === 302 || finished) await count();
          else countOnFinish = true;
        }
        return reply;
      },
    );
  };
