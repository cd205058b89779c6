import { randomBytes } from 'node:crypto';
import { BullEventPublisher, type Db, OutboxRelay } from '@immish/db';
import type { MediaTools } from '@immish/media';
import { createLogger, createRedis } from '@immish/runtime';
import type { BlobStore } from '@immish/storage';
import { startIngestWorker } from '../src/worker.ts';

/** Shared by the links-api upload tests and the ingest tests (helpers of this app's test suite). */

export type FormPart =
  | { name: string; value: string }
  | { name: string; filename: string; data: Buffer; contentType?: string };

/** A multipart/form-data body, byte-exact (for `inject`). */
export function multipartBody(parts: FormPart[]): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----immish${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    if ('value' in part) {
      chunks.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`),
      );
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
            `Content-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        ),
        part.data,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** Immich's upload form: the fields the CLI sends, then `assetData`. */
export function assetForm(data: Buffer, filename: string, extra: Record<string, string> = {}) {
  return multipartBody([
    { name: 'deviceAssetId', value: `${filename}-${data.length}` },
    { name: 'deviceId', value: 'test' },
    { name: 'fileCreatedAt', value: '2024-05-06T07:08:09.000Z' },
    { name: 'fileModifiedAt', value: '2024-05-06T07:08:09.000Z' },
    { name: 'fileSize', value: String(data.length) },
    { name: 'isFavorite', value: 'false' },
    ...Object.entries(extra).map(([name, value]) => ({ name, value })),
    { name: 'assetData', filename, data },
  ]);
}

/** An outbox relay and an ingest worker in this process, on the given database/Redis prefix. */
export function startInProcessIngest(opts: {
  db: Db;
  databaseUrl: string;
  storage: BlobStore;
  redisUrl: string;
  prefix: string;
  concurrency?: number;
  /** external decoders (`detectMediaTools()`): HEIC, video posters and renditions */
  tools?: MediaTools;
}): { close(): Promise<void> } {
  const publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: opts.redisUrl }, 'producer'),
    prefix: opts.prefix,
  });
  const relay = new OutboxRelay({ db: opts.db, databaseUrl: opts.databaseUrl, publisher, pollIntervalMs: 100 });
  const worker = startIngestWorker({
    config: {
      REDIS_URL: opts.redisUrl,
      QUEUE_PREFIX: opts.prefix,
      INGEST_CONCURRENCY: opts.concurrency ?? 2,
      INGEST_MAX_PIXELS: 100_000_000,
      INGEST_KEEP_FAILED_ORIGINALS: true,
    },
    db: opts.db,
    storage: opts.storage,
    logger: createLogger({ service: 'ingest-test', level: 'silent' }),
    ...(opts.tools ? { tools: opts.tools } : {}),
  });
  relay.start();
  return {
    async close() {
      await relay.stop();
      await worker.close();
      await publisher.close();
    },
  };
}
