import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GatewayConfig } from '@immish/contracts';
import { type AssetRow, appendEvents, BullEventPublisher, type Db, OutboxRelay, type SharedLinkRow } from '@immish/db';
import { createUser, hashPassword } from '@immish/domain';
import { createRedis, loadConfig } from '@immish/runtime';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { buildApp } from '../src/app.ts';

export interface TestAssetOptions {
  fileName?: string;
  /** the original's bytes (default: a small JPEG with EXIF and GPS, see `jpegWithExif`) */
  bytes?: Buffer;
  mime?: string;
  type?: 'IMAGE' | 'VIDEO' | 'OTHER';
  /** store a thumbnail and a preview (default true) */
  derivatives?: boolean;
  ownerId?: string;
  trashed?: boolean;
}

export interface TestLinkOptions {
  type?: 'ALBUM' | 'INDIVIDUAL';
  albumId?: string;
  assetIds?: string[];
  password?: string;
  slug?: string;
  expiresAt?: Date | null;
  allowDownload?: boolean;
  allowUpload?: boolean;
  showMetadata?: boolean;
  description?: string;
  ownerId?: string;
}

export interface LinkCounters {
  view: number;
  download: number;
  upload: number;
}

export interface GatewayHarness {
  app: FastifyInstance;
  tdb: TestDatabase;
  prefix: string;
  redisUrl: string;
  redis: Redis;
  storage: BlobStore;
  storageRoot: string;
  config: GatewayConfig;
  owner: { id: string; email: string };
  /** another gateway replica on the same database, Redis and storage */
  newApp(env?: Record<string, string>): Promise<FastifyInstance>;
  /** an outbox relay publishing to this harness's Redis prefix (stopped by close()) */
  startRelay(): OutboxRelay;
  createAsset(opts?: TestAssetOptions): Promise<AssetRow>;
  createAlbum(assetIds: string[], opts?: { name?: string; description?: string }): Promise<string>;
  createLink(opts?: TestLinkOptions): Promise<SharedLinkRow>;
  /**
   * A link's counters as stored, once every harness app's background counter writes have settled
   * (`linkActivity.settled()`): what a recipient's views, downloads and uploads added.
   */
  counters(linkId: string): Promise<LinkCounters>;
  /** `cookie` header value unlocking `link` with `password` through the real login route */
  unlock(link: SharedLinkRow, password: string, app?: FastifyInstance): Promise<string>;
  close(): Promise<void>;
}

/** A small JPEG with camera EXIF, a description and GPS coordinates: what showMetadata=false must never leak. */
export async function jpegWithExif(color = { r: 200, g: 30, b: 30 }): Promise<Buffer> {
  return sharp({ create: { width: 64, height: 48, channels: 3, background: color } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'SecretCam', Model: 'X100', ImageDescription: 'secret place' },
      IFD2: { DateTimeOriginal: '2020:01:02 03:04:05', LensModel: 'Lens9' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2400/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 21/1 300/100',
      },
    })
    .toBuffer();
}

/**
 * The GPS position of jpegWithExif and of the seeded assets (48.8566 N, 2.3508 E) as patterns that cannot match by
 * chance: a response's own timestamps ("…T10:12:48.853Z") carry such digits too, so a plain "48.85" check failed
 * about once in a few thousand runs (CI, stop 28). Matches the position rounded to 2+ decimals (also as a JSON
 * value, `"latitude":48.86`), or in degrees; not minutes:seconds.milliseconds or a longer number.
 */
export const GPS_SECRETS: readonly RegExp[] = [/(?<!\d:?)48[.,]8[5-7]/, /(?<!\d)2[.,]3[45]/, /48°/];

/** The year of the seeded photos' dates (2020) written as text, not as part of a hex id. */
export const PHOTO_YEAR = /(?<![0-9a-f])2020(?![0-9a-f])/i;

/** What of `secret` the text holds (null when nothing); patterns are searched with every UUID blanked out. */
export function found(text: string, secret: string | RegExp): string | null {
  if (typeof secret === 'string') return text.includes(secret) ? secret : null;
  const match = secret.exec(text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>'));
  return match ? match[0] : null;
}

export const TEST_UNLOCK_SECRET = 'test-unlock-secret-0123456789abcdef0123456789';

/** A share gateway on a fresh database, temp fs storage and its own Redis prefix; env overrides the config. */
export async function startGateway(env: Record<string, string> = {}): Promise<GatewayHarness> {
  const tdb = await createTestDatabase();
  const { url: redisUrl, prefix } = testRedis();
  const storageRoot = mkdtempSync(join(tmpdir(), 'immish-gateway-'));
  const configFor = (extra: Record<string, string>) =>
    loadConfig(GatewayConfig, {
      DATABASE_URL: tdb.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      STORAGE_FS_ROOT: storageRoot,
      PUBLIC_URL: 'http://share.test',
      UNLOCK_SECRET: TEST_UNLOCK_SECRET,
      ...env,
      ...extra,
    });
  const config = configFor({});
  const storage = createBlobStore({ driver: 'fs', root: storageRoot });
  const redis = new Redis(redisUrl);
  const apps: FastifyInstance[] = [];
  const relays: OutboxRelay[] = [];
  const publishers: BullEventPublisher[] = [];
  const makeApp = async (extra: Record<string, string> = {}) => {
    const app = await buildApp({ config: configFor(extra), db: tdb.db, storage, redis, logger: false });
    await app.ready();
    apps.push(app);
    return app;
  };
  const app = await makeApp();
  const u = await createUser(tdb.db, {
    email: `owner-${randomBytes(3).toString('hex')}@immish.test`,
    name: 'Owner',
    password: 'pw',
  });
  const owner = { id: u.id, email: u.email };
  let n = 0;

  const h: GatewayHarness = {
    app,
    tdb,
    prefix,
    redisUrl,
    redis,
    storage,
    storageRoot,
    config,
    owner,
    newApp: makeApp,
    startRelay() {
      const publisher = new BullEventPublisher({
        connection: createRedis({ REDIS_URL: redisUrl }, 'producer'),
        prefix,
      });
      const relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher, pollIntervalMs: 200 });
      relay.start();
      relays.push(relay);
      publishers.push(publisher);
      return relay;
    },
    async counters(linkId) {
      await Promise.all(apps.map((a) => a.linkActivity.settled()));
      const row = await tdb.db
        .selectFrom('shared_links')
        .select(['view_count', 'download_count', 'upload_count'])
        .where('id', '=', linkId)
        .executeTakeFirstOrThrow();
      return { view: Number(row.view_count), download: Number(row.download_count), upload: Number(row.upload_count) };
    },
    async createAsset(opts = {}) {
      const i = ++n;
      const bytes = opts.bytes ?? (await jpegWithExif({ r: (i * 37) % 255, g: 30, b: 30 }));
      const mime = opts.mime ?? 'image/jpeg';
      const ownerId = opts.ownerId ?? owner.id;
      const fileName = opts.fileName ?? `IMG_${1000 + i}.jpg`;
      const id = crypto.randomUUID();
      const ext = fileName.includes('.') ? fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase() : 'bin';
      const prefixKey = `assets/${ownerId}/${id}`;
      const originalKey = `${prefixKey}/original.${ext}`;
      await storage.put(originalKey, bytes);
      let thumbnailKey: string | null = null;
      let previewKey: string | null = null;
      if (opts.derivatives !== false) {
        thumbnailKey = `${prefixKey}/thumbnail.webp`;
        previewKey = `${prefixKey}/preview.jpg`;
        const base = sharp({
          create: { width: 32, height: 24, channels: 3, background: { r: 10, g: 10, b: i % 255 } },
        });
        await storage.put(thumbnailKey, await base.clone().webp().toBuffer());
        await storage.put(previewKey, await base.clone().jpeg().toBuffer());
      }
      return tdb.db
        .insertInto('assets')
        .values({
          id,
          owner_id: ownerId,
          type: opts.type ?? (mime.startsWith('video/') ? 'VIDEO' : 'IMAGE'),
          original_file_name: fileName,
          mime_type: mime,
          size: bytes.length,
          checksum: createHash('sha1').update(bytes).digest(),
          original_key: originalKey,
          thumbnail_key: thumbnailKey,
          preview_key: previewKey,
          width: 64,
          height: 48,
          thumbhash: Buffer.from([1, 2, 3, 4]),
          file_created_at: new Date(Date.UTC(2020, 0, 1, 0, 0, i)),
          file_modified_at: new Date(Date.UTC(2020, 0, 1, 0, 0, i)),
          local_date_time: new Date(Date.UTC(2020, 0, 1, 0, 0, i)),
          exif_make: 'SecretCam',
          exif_model: 'X100',
          exif_lens_model: 'Lens9',
          exif_latitude: 48.8566,
          exif_longitude: 2.3508,
          exif_description: 'secret place',
          exif_date_time_original: new Date(Date.UTC(2020, 0, 2, 3, 4, 5)),
          status: 'ready',
          trashed_at: opts.trashed ? new Date() : null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    },
    async createAlbum(assetIds, opts = {}) {
      const album = await tdb.db
        .insertInto('albums')
        .values({ owner_id: owner.id, name: opts.name ?? 'Holiday', description: opts.description ?? 'By the sea' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await tdb.db.insertInto('album_users').values({ album_id: album.id, user_id: owner.id, role: 'owner' }).execute();
      if (assetIds.length > 0) {
        await tdb.db
          .insertInto('album_assets')
          .values(assetIds.map((asset_id) => ({ album_id: album.id, asset_id, added_by: owner.id })))
          .execute();
      }
      return album.id;
    },
    async createLink(opts = {}) {
      const type = opts.type ?? (opts.albumId ? 'ALBUM' : 'INDIVIDUAL');
      const link = await tdb.db
        .insertInto('shared_links')
        .values({
          owner_id: opts.ownerId ?? owner.id,
          type,
          album_id: type === 'ALBUM' ? opts.albumId! : null,
          key: randomBytes(32).toString('base64url'),
          slug: opts.slug ?? null,
          description: opts.description ?? null,
          password_hash: opts.password ? await hashPassword(opts.password) : null,
          expires_at: opts.expiresAt ?? null,
          allow_download: opts.allowDownload ?? true,
          allow_upload: opts.allowUpload ?? false,
          show_metadata: opts.showMetadata ?? true,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (type === 'INDIVIDUAL' && opts.assetIds?.length) {
        await tdb.db
          .insertInto('shared_link_assets')
          .values(opts.assetIds.map((asset_id) => ({ link_id: link.id, asset_id })))
          .execute();
      }
      return link;
    },
    async unlock(link, password, target = app) {
      const res = await target.inject({
        method: 'POST',
        url: `/api/shared-links/login?key=${encodeURIComponent(link.key)}`,
        payload: { password },
      });
      if (res.statusCode !== 201) throw new Error(`unlock failed: ${res.statusCode} ${res.body}`);
      const cookie = res.cookies[0];
      if (!cookie) throw new Error('unlock set no cookie');
      return `${cookie.name}=${cookie.value}`;
    },
    async close() {
      await Promise.allSettled(relays.map((r) => r.stop()));
      await Promise.allSettled(publishers.map((p) => p.close()));
      await Promise.allSettled(apps.map((a) => a.close()));
      redis.disconnect();
      await storage.close();
      await tdb.drop();
      rmSync(storageRoot, { recursive: true, force: true });
    },
  };
  return h;
}

/** A multipart body as a browser (or the Immich CLI) would send it. */
export async function multipart(parts: { name: string; value: string | Buffer; fileName?: string }[]) {
  const fd = new FormData();
  for (const p of parts) {
    if (typeof p.value === 'string' && !p.fileName) fd.append(p.name, p.value);
    else
      fd.append(
        p.name,
        new Blob([typeof p.value === 'string' ? p.value : new Uint8Array(p.value)]),
        p.fileName ?? 'file',
      );
  }
  const req = new Request('http://x', { method: 'POST', body: fd });
  return {
    payload: Buffer.from(await req.arrayBuffer()),
    headers: { 'content-type': req.headers.get('content-type')! },
  };
}

/** Polls until `check` holds, bounded (for effects that happen after a response: counters, cache invalidation). */
export async function eventually(check: () => Promise<boolean>, what: string, limitMs = 5000): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not within ${limitMs} ms: ${what}`);
}

/**
 * What links-api does when an owner edits a link: the row's change and its `shared-link.updated` event in one
 * transaction (the relay, when started, publishes the invalidation to the gateways).
 */
export async function updateLinkWithEvent(
  db: Db,
  linkId: string,
  set: Partial<Pick<SharedLinkRow, 'show_metadata' | 'description' | 'password_hash' | 'password_version'>>,
  changed: string[],
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('shared_links').set(set).where('id', '=', linkId).execute();
    await appendEvents(trx, [
      {
        type: 'shared-link.updated',
        actor: { type: 'system', id: null },
        subject: { type: 'shared-link', id: linkId },
        data: { linkId, changed, passwordChanged: changed.includes('password') },
      },
    ]);
  });
}
