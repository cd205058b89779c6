import type { AddressInfo } from 'node:net';
import { type ExportJobData, GatewayConfig } from '@immish/contracts';
import { hashAddress } from '@immish/domain';
import { ConfigError, loadConfig } from '@immish/runtime';
import { type BlobStore, createBlobStore } from '@immish/storage';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processExportJob } from '../../export-worker/src/processor.ts';
import { seedAsset } from '../../export-worker/test/export-helpers.ts';
import { buildApp as buildGateway } from '../../share-gateway/src/app.ts';
import { jpegWithExif } from '../../share-gateway/test/harness.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * Issue 18 items 1 and 5: the activity log of a link after a scripted visit, through the real share gateway
 * (over TCP from 127.0.0.1, so the address is a real one) and read back through links-api's owner API. The
 * export is built by the export worker's own processor, which writes `export-ready` with the completion.
 */
const PASSWORD = 'open sesame';
const HASH_KEY = 'activity-hash-key-0123456789abcdef0123456789';
const BROWSER_UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
const BOT_UA = 'WhatsApp/2.23.20.0 A';

let h: LinksApiHarness;
let store: BlobStore;
let redis: Redis;
let owner: TestUser;
let stranger: TestUser;
const gateways: FastifyInstance[] = [];

async function startGateway(env: Record<string, string> = {}) {
  const config = loadConfig(GatewayConfig, {
    DATABASE_URL: h.tdb.url,
    REDIS_URL: h.redisUrl,
    QUEUE_PREFIX: h.prefix,
    STORAGE_FS_ROOT: h.storageRoot,
    PUBLIC_URL: 'http://share.test',
    UNLOCK_SECRET: 'activity-test-unlock-secret-0123456789abcdef',
    ...env,
  });
  const app = await buildGateway({ config, db: h.tdb.db, storage: store, redis, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  gateways.push(app);
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, base };
}

let gw: Awaited<ReturnType<typeof startGateway>>;

beforeAll(async () => {
  h = await startLinksApi();
  store = createBlobStore({ driver: 'fs', root: h.storageRoot });
  redis = new Redis(h.redisUrl);
  owner = await h.newUser('owner');
  stranger = await h.newUser('stranger');
  gw = await startGateway();
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  redis?.disconnect();
  await store?.close();
  await h?.close();
});

const api = (method: 'GET' | 'POST', url: string, who: TestUser, payload?: object) =>
  h.app.inject({ method, url, headers: who.headers, ...(payload ? { payload } : {}) });

/** An album link of the owner's over two stored photos, with a password, downloads and uploads allowed. */
async function newLink(opts: { password?: string } = {}) {
  const assets = [];
  for (const name of ['a.jpg', 'b.jpg']) {
    const seeded = await seedAsset(h.tdb.db, store, { ownerId: owner.id, fileName: name, size: 1500 });
    const row = await h.tdb.db
      .selectFrom('assets')
      .select('original_key')
      .where('id', '=', seeded.id)
      .executeTakeFirstOrThrow();
    await h.tdb.db.updateTable('assets').set({ thumbnail_key: row.original_key }).where('id', '=', seeded.id).execute();
    assets.push(seeded);
  }
  const album = await api('POST', '/api/albums', owner, {
    albumName: 'Holiday',
    assetIds: assets.map((a) => a.id),
  });
  expect(album.statusCode).toBe(201);
  const res = await api('POST', '/api/shared-links', owner, {
    type: 'ALBUM',
    albumId: album.json().id,
    allowDownload: true,
    allowUpload: true,
    showMetadata: true,
    ...(opts.password ? { password: opts.password } : {}),
  });
  expect(res.statusCode).toBe(201);
  return { id: res.json().id as string, key: res.json().key as string, assets };
}

/** A fetch to the gateway, as a browser on this machine would send it. */
const visit = (base: string, path: string, init: RequestInit & { ua?: string } = {}) =>
  fetch(`${base}${path}`, {
    redirect: 'manual',
    ...init,
    headers: { 'user-agent': init.ua ?? BROWSER_UA, ...(init.headers as Record<string, string>) },
  });

async function allEntries(linkId: string, query = '') {
  const res = await api('GET', `/api/shared-links/${linkId}/activity?limit=200${query}`, owner);
  expect(res.statusCode).toBe(200);
  return res.json().items as Array<{
    id: string;
    at: string;
    action: string;
    assetId: string | null;
    exportId: string | null;
    client: { network: string; browser: string; os: string; bot: boolean };
  }>;
}

async function buildExport(exportId: string) {
  const event = await h.tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('type', '=', 'export.requested')
    .where('aggregate_id', '=', exportId)
    .executeTakeFirstOrThrow();
  await processExportJob(event.payload as ExportJobData, {
    db: h.tdb.db,
    storage: store,
    logger: pino({ level: 'silent' }),
    ttlHours: 24,
  });
}

describe('the activity log after a scripted visit', () => {
  it('should list exactly view, wrong password, unlock, original, export requested/ready/downloaded and upload, newest first, with truncated addresses', async () => {
    const link = await newLink({ password: PASSWORD });
    // the page of a password link (a forged X-Forwarded-For is not believed: TRUST_PROXY is off)
    const page = await visit(gw.base, `/share/${link.key}`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(page.status).toBe(401);
    const wrong = await visit(gw.base, `/api/shared-links/login?key=${link.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    const right = await visit(gw.base, `/api/shared-links/login?key=${link.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(right.status).toBe(201);
    const cookie = right.headers.getSetCookie()[0]!.split(';')[0]!;
    const as = { headers: { cookie } };
    // the same recipient's /me a moment later: the same visit (30-minute rule), no second entry
    expect((await visit(gw.base, `/api/shared-links/me?key=${link.key}`, as)).status).toBe(200);
    const asset = link.assets[0]!;
    const original = await visit(gw.base, `/share/${link.key}/assets/${asset.id}/original`, as);
    expect(original.status).toBe(200);
    await original.arrayBuffer();
    const requested = await visit(gw.base, `/share/${link.key}/exports`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(requested.status).toBe(202);
    const exportId = ((await requested.json()) as { id: string }).id;
    await gw.app.activityLog!.settled(); // written before the worker's export-ready, as in real time
    await buildExport(exportId);
    const ready = (await (await visit(gw.base, `/share/${link.key}/exports/${exportId}`, as)).json()) as {
      status: string;
      parts: { downloadUrl: string }[];
    };
    expect(ready.status).toBe('ready');
    const zip = await visit(gw.base, ready.parts[0]!.downloadUrl, as);
    expect(zip.status).toBe(200);
    await zip.arrayBuffer();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await jpegWithExif({ r: 1, g: 2, b: 3 }))]), 'from-guest.jpg');
    const upload = await visit(gw.base, `/share/${link.key}/uploads`, {
      method: 'POST',
      headers: { cookie },
      body: form,
    });
    expect(upload.status).toBe(202);
    const uploadedId = ((await upload.json()) as { items: { assetId?: string }[] }).items[0]!.assetId;
    expect(uploadedId).toBeTruthy();
    await gw.app.activityLog!.settled();

    const entries = await allEntries(link.id);
    expect(entries.map((e) => e.action)).toEqual([
      'upload',
      'export-downloaded',
      'export-ready',
      'export-requested',
      'download-original',
      'unlock',
      'unlock-failed',
      'visit',
    ]);
    const by = (action: string) => entries.find((e) => e.action === action)!;
    expect(by('download-original').assetId).toBe(asset.id);
    expect(by('upload').assetId).toBe(uploadedId);
    for (const a of ['export-requested', 'export-ready', 'export-downloaded']) expect(by(a).exportId).toBe(exportId);
    for (const e of entries.filter((x) => x.action !== 'export-ready'))
      expect(e.client).toEqual({ network: '127.0.0.0/24', browser: 'Safari', os: 'macOS', bot: false });
    // written by the worker: no recipient behind it
    expect(by('export-ready').client).toEqual({ network: '', browser: '', os: '', bot: false });
    const times = entries.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const summary = (await api('GET', `/api/shared-links/${link.id}/activity/summary`, owner)).json();
    const today = new Date().toISOString().slice(0, 10);
    expect(summary).toEqual({
      visits: 1,
      uniqueVisitors: 1,
      downloads: 2,
      uploads: 1,
      days: [{ day: today, visits: 1, uniqueVisitors: 1, downloads: 2, uploads: 1 }],
    });
    // the filter
    expect((await allEntries(link.id, '&action=unlock-failed')).map((e) => e.action)).toEqual(['unlock-failed']);
  });

  it('should record a link-preview bot as a bot, never as a visit in the summary', async () => {
    const link = await newLink();
    expect((await visit(gw.base, `/share/${link.key}`, { ua: BOT_UA })).status).toBe(200);
    expect((await visit(gw.base, `/share/${link.key}`)).status).toBe(200);
    await gw.app.activityLog!.settled();
    const entries = await allEntries(link.id);
    expect(entries.map((e) => [e.action, e.client.bot])).toEqual([
      ['visit', false],
      ['visit', true],
    ]);
    const summary = (await api('GET', `/api/shared-links/${link.id}/activity/summary`, owner)).json();
    expect(summary).toMatchObject({ visits: 1, uniqueVisitors: 1 });
  });

  it('should record unlock-throttled once the wrong-password budget is spent', async () => {
    const link = await newLink({ password: PASSWORD });
    const g = await startGateway({ UNLOCK_MAX_FAILURES_PER_IP: '1' });
    const login = () =>
      visit(g.base, `/api/shared-links/login?key=${link.key}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ password: 'nope' }),
      });
    expect((await login()).status).toBe(401);
    expect((await login()).status).toBe(429);
    await g.app.activityLog!.settled();
    expect((await allEntries(link.id)).map((e) => e.action)).toEqual(['unlock-throttled', 'unlock-failed']);
  });

  it('should keep a keyed hash of the address, not the address, when ACTIVITY_IP_MODE=hash', async () => {
    const link = await newLink();
    const g = await startGateway({ ACTIVITY_IP_MODE: 'hash', ACTIVITY_HASH_KEY: HASH_KEY });
    expect((await visit(g.base, `/api/shared-links/me?key=${link.key}`)).status).toBe(200);
    await g.app.activityLog!.settled();
    const [entry] = await allEntries(link.id);
    expect(entry!.client.network).toBe(hashAddress('127.0.0.1', HASH_KEY));
    expect(entry!.client.network).toMatch(/^h:[0-9a-f]{16}$/);
    expect(JSON.stringify(await allEntries(link.id))).not.toContain('127.0.0');
  });

  it("should take the address the trusted proxy saw (TRUST_PROXY), IPv6 to its /48, and never the client's own claim", async () => {
    const link = await newLink();
    const g = await startGateway({ TRUST_PROXY: '127.0.0.1' });
    // behind the proxy on 127.0.0.1: the client is the right-most address that is not the proxy
    const seen = await visit(g.base, `/api/shared-links/me?key=${link.key}`, {
      headers: { 'x-forwarded-for': '192.0.2.77, 2001:db8:abcd:12::5' },
    });
    expect(seen.status).toBe(200);
    await g.app.activityLog!.settled();
    expect((await allEntries(link.id)).map((e) => e.client.network)).toEqual(['2001:db8:abcd::/48']);
  });

  it('should refuse to start in hash mode without a key of at least 32 characters, saying so', () => {
    const env = {
      DATABASE_URL: h.tdb.url,
      REDIS_URL: h.redisUrl,
      UNLOCK_SECRET: 'activity-test-unlock-secret-0123456789abcdef',
      ACTIVITY_IP_MODE: 'hash',
    };
    for (const key of [undefined, 'too-short']) {
      let error: unknown;
      try {
        loadConfig(GatewayConfig, { ...env, ...(key ? { ACTIVITY_HASH_KEY: key } : {}) });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toMatch(
        /ACTIVITY_HASH_KEY: required when ACTIVITY_IP_MODE=hash, at least 32/,
      );
    }
    expect(loadConfig(GatewayConfig, { ...env, ACTIVITY_HASH_KEY: HASH_KEY }).ACTIVITY_IP_MODE).toBe('hash');
    expect(loadConfig(GatewayConfig, { ...env, ACTIVITY_IP_MODE: '' }).ACTIVITY_IP_MODE).toBe('truncate');
  });
});

describe('GET /api/shared-links/:id/activity', () => {
  it('should page newest first with an opaque cursor, and refuse a bad cursor, limit or action with 400', async () => {
    const link = await newLink({ password: PASSWORD });
    for (let i = 0; i < 7; i++)
      await visit(gw.base, `/api/shared-links/login?key=${link.key}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.51.100.${i}` },
        body: JSON.stringify({ password: `wrong ${i}` }),
      });
    await gw.app.activityLog!.settled();
    const all = await allEntries(link.id);
    expect(all).toHaveLength(7);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api(
        'GET',
        `/api/shared-links/${link.id}/activity?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        owner,
      );
      expect(res.statusCode).toBe(200);
      const body = res.json() as { items: { id: string }[]; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((e) => e.id));
      cursor = body.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.map((e) => e.id));
    // default limit 50
    expect((await api('GET', `/api/shared-links/${link.id}/activity`, owner)).json().items).toHaveLength(7);

    for (const query of [
      'cursor=nonsense',
      `cursor=${Buffer.from('1.x').toString('base64url')}`,
      'limit=0',
      'limit=201',
      'limit=abc',
      'action=nonsense',
    ]) {
      const res = await api('GET', `/api/shared-links/${link.id}/activity?${query}`, owner);
      expect(res.statusCode, query).toBe(400);
      expect(res.json(), query).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.any(String) });
      expect(res.json().correlationId, query).toEqual(expect.any(String));
    }
  });

  it("should answer another owner's link exactly as a link that does not exist", async () => {
    const link = await newLink();
    const missing = crypto.randomUUID();
    for (const tail of ['activity', 'activity/summary']) {
      const theirs = await api('GET', `/api/shared-links/${link.id}/${tail}`, stranger);
      const none = await api('GET', `/api/shared-links/${missing}/${tail}`, stranger);
      expect(theirs.statusCode).toBe(none.statusCode);
      expect(theirs.statusCode).toBe(400);
      const { correlationId: _a, ...a } = theirs.json();
      const { correlationId: _b, ...b } = none.json();
      expect(a).toEqual(b);
    }
  });

  it('should lose no entry while the database refuses the writes for a moment', async () => {
    const link = await newLink({ password: PASSWORD });
    await sql`ALTER TABLE link_activity RENAME TO link_activity_away`.execute(h.tdb.db);
    try {
      for (let i = 0; i < 3; i++)
        await visit(gw.base, `/api/shared-links/login?key=${link.key}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ password: `wrong ${i}` }),
        });
      expect((await visit(gw.base, `/api/shared-links/me?key=${link.key}`)).status).toBe(401);
      // the write was attempted and failed: the recipient's requests were answered all the same
      await gw.app.activityLog!.settled();
      const stored = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM link_activity_away WHERE link_id = ${link.id}`.execute(h.tdb.db);
      expect(stored.rows[0]!.n).toBe(0);
    } finally {
      await sql`ALTER TABLE link_activity_away RENAME TO link_activity`.execute(h.tdb.db);
    }
    await gw.app.activityLog!.settled();
    const deadline = Date.now() + 60_000;
    let actions: string[] = [];
    while (Date.now() < deadline) {
      actions = (await allEntries(link.id)).map((e) => e.action);
      if (actions.length >= 3) break;
      await gw.app.activityLog!.settled();
    }
    expect(actions).toEqual(['unlock-failed', 'unlock-failed', 'unlock-failed']);
  });
});
