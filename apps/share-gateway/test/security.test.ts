import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { exportPartKey } from '@immish/domain';
import { createLogger, createMetrics } from '@immish/runtime';
import exifr from 'exifr';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { securityHeaders } from '../src/security-headers.ts';
import { unlockCookieName } from '../src/unlock.ts';
import { found, type GatewayHarness, GPS_SECRETS, jpegWithExif, multipart, startGateway } from './harness.ts';

/**
 * docs/spec.md §5.2, §5.3, §10 and issue 6 item 7: every recipient route × every way a request can be illegitimate
 * → the documented refusal; and nothing a showMetadata=false link serves reveals names, EXIF or GPS.
 */

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

interface Fixture {
  key: string;
  assetId: string;
  foreignAssetId: string;
  exportId: string;
  cookie: string;
}

type RouteKind = 'view' | 'page' | 'assetPage' | 'asset' | 'original' | 'exportRequest' | 'exportDownload' | 'upload';

interface RouteCase {
  name: string;
  kind: RouteKind;
  request(
    f: Fixture,
    assetId: string,
  ): {
    method: 'GET' | 'POST';
    url: string;
    payload?: string | Buffer | object;
    headers?: Record<string, string>;
  };
}

const uploadBody = (() => {
  const boundary = 'immishboundary';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="assetData"; filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
    ),
    Buffer.from('not really a jpeg'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload: body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
})();

const routes: RouteCase[] = [
  {
    name: 'GET /api/shared-links/me',
    kind: 'view',
    request: (f) => ({ method: 'GET', url: `/api/shared-links/me?key=${f.key}` }),
  },
  { name: 'GET /share/:key/assets', kind: 'view', request: (f) => ({ method: 'GET', url: `/share/${f.key}/assets` }) },
  { name: 'GET /share/:key (page)', kind: 'page', request: (f) => ({ method: 'GET', url: `/share/${f.key}` }) },
  {
    name: 'GET /share/:key/photos/:assetId (page)',
    kind: 'assetPage',
    request: (f, a) => ({ method: 'GET', url: `/share/${f.key}/photos/${a}` }),
  },
  {
    name: 'GET /share/:key/assets/:id/thumbnail',
    kind: 'asset',
    request: (f, a) => ({ method: 'GET', url: `/share/${f.key}/assets/${a}/thumbnail` }),
  },
  {
    name: 'GET /share/:key/assets/:id/preview',
    kind: 'asset',
    request: (f, a) => ({ method: 'GET', url: `/share/${f.key}/assets/${a}/preview` }),
  },
  {
    name: 'GET /api/assets/:id/thumbnail?key=',
    kind: 'asset',
    request: (f, a) => ({ method: 'GET', url: `/api/assets/${a}/thumbnail?key=${f.key}` }),
  },
  {
    name: 'GET /share/:key/assets/:id/original',
    kind: 'original',
    request: (f, a) => ({ method: 'GET', url: `/share/${f.key}/assets/${a}/original` }),
  },
  {
    name: 'GET /api/assets/:id/original?key=',
    kind: 'original',
    request: (f, a) => ({ method: 'GET', url: `/api/assets/${a}/original?key=${f.key}` }),
  },
  {
    name: 'POST /share/:key/exports',
    kind: 'exportRequest',
    request: (f, a) => ({ method: 'POST', url: `/share/${f.key}/exports`, payload: { assetIds: [a] } }),
  },
  {
    name: 'GET /share/:key/exports/:id',
    kind: 'view',
    request: (f) => ({ method: 'GET', url: `/share/${f.key}/exports/${f.exportId}` }),
  },
  {
    name: 'GET /share/:key/exports/:id/events',
    kind: 'view',
    request: (f) => ({ method: 'GET', url: `/share/${f.key}/exports/${f.exportId}/events` }),
  },
  {
    name: 'GET /share/:key/exports/:id/parts/:n/download',
    kind: 'exportDownload',
    request: (f) => ({ method: 'GET', url: `/share/${f.key}/exports/${f.exportId}/parts/1/download` }),
  },
  {
    name: 'POST /share/:key/uploads',
    kind: 'upload',
    request: (f) => ({ method: 'POST', url: `/share/${f.key}/uploads`, ...uploadBody }),
  },
  {
    name: 'POST /api/assets?key=',
    kind: 'upload',
    request: (f) => ({ method: 'POST', url: `/api/assets?key=${f.key}`, ...uploadBody }),
  },
];

interface Scenario {
  name: string;
  link: { password?: string; allowDownload?: boolean; allowUpload?: boolean };
  /** what turns the legitimate fixture into the illegitimate request */
  prepare(f: Fixture, linkId: string): Promise<{ cookie?: string; foreignAsset?: boolean }>;
  applies(kind: RouteKind): boolean;
  expected(kind: RouteKind): { status: number; message?: RegExp };
}

const isPage = (kind: RouteKind) => kind === 'page' || kind === 'assetPage';
const passwordRequired = (kind: RouteKind) =>
  isPage(kind) ? { status: 401, message: /Password required/i } : { status: 401, message: /^Password required$/ };

const scenarios: Scenario[] = [
  {
    name: 'no unlock',
    link: { password: 'pw', allowUpload: true },
    prepare: async () => ({ cookie: '' }),
    applies: () => true,
    expected: passwordRequired,
  },
  {
    name: "another link's unlock",
    link: { password: 'pw', allowUpload: true },
    prepare: async (f) => {
      const other = await h.createLink({ assetIds: [f.assetId], password: 'pw' });
      const cookie = await h.unlock(other, 'pw');
      const token = cookie.slice(cookie.indexOf('=') + 1);
      // both: the other link's cookie as is, and its token presented under this link's cookie name
      const self = await h.tdb.db
        .selectFrom('shared_links')
        .select('id')
        .where('key', '=', f.key)
        .executeTakeFirstOrThrow();
      return { cookie: `${cookie}; ${unlockCookieName(self.id)}=${token}` };
    },
    applies: () => true,
    expected: passwordRequired,
  },
  {
    name: 'unlock from before a password change',
    link: { password: 'pw', allowUpload: true },
    prepare: async (f, linkId) => {
      await h.tdb.db
        .updateTable('shared_links')
        .set((eb) => ({ password_version: eb('password_version', '+', 1) }))
        .where('id', '=', linkId)
        .execute();
      return { cookie: f.cookie };
    },
    applies: () => true,
    expected: passwordRequired,
  },
  {
    name: 'expired link',
    link: { allowUpload: true },
    prepare: async (_f, linkId) => {
      await h.tdb.db
        .updateTable('shared_links')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', linkId)
        .execute();
      return {};
    },
    applies: () => true,
    expected: (kind) =>
      isPage(kind) ? { status: 410, message: /This link expired on/ } : { status: 401, message: /^Invalid share key$/ },
  },
  {
    name: 'deleted link',
    link: { allowUpload: true },
    prepare: async (_f, linkId) => {
      await h.tdb.db.deleteFrom('shared_links').where('id', '=', linkId).execute();
      return {};
    },
    applies: () => true,
    expected: (kind) =>
      isPage(kind) ? { status: 404, message: /Link not found/ } : { status: 401, message: /^Invalid share key$/ },
  },
  {
    name: 'asset not in the link',
    link: {},
    prepare: async () => ({ foreignAsset: true }),
    applies: (kind) => kind === 'asset' || kind === 'original' || kind === 'assetPage',
    expected: (kind) =>
      kind === 'assetPage' ? { status: 404 } : { status: 400, message: /not found in this shared link/ },
  },
  {
    name: 'asset not in the link (export selection)',
    link: {},
    prepare: async () => ({ foreignAsset: true }),
    applies: (kind) => kind === 'exportRequest',
    expected: () => ({ status: 400, message: /not found in this shared link/ }),
  },
  {
    name: 'allowDownload=false',
    link: { allowDownload: false },
    prepare: async () => ({}),
    applies: (kind) => kind === 'original' || kind === 'exportRequest' || kind === 'exportDownload',
    expected: () => ({ status: 403, message: /Downloads are disabled/ }),
  },
  {
    name: 'allowUpload=false',
    link: { allowUpload: false },
    prepare: async () => ({}),
    applies: (kind) => kind === 'upload',
    expected: () => ({ status: 401, message: /does not allow uploads/ }),
  },
];

/** A link with one asset, a ready export and (for password links) a valid unlock: every route would succeed. */
async function fixture(opts: Scenario['link']): Promise<{ f: Fixture; linkId: string }> {
  const asset = await h.createAsset();
  const foreign = await h.createAsset();
  const link = await h.createLink({ assetIds: [asset.id], ...opts });
  const part = exportPartKey('00000000-0000-4000-8000-000000000000', 1);
  const exp = await h.tdb.db
    .insertInto('exports')
    .values({
      shared_link_id: link.id,
      asset_ids: [asset.id],
      options: JSON.stringify({}),
      content_hash: `h-${link.id}`,
      archive_name: '',
      status: 'ready',
      parts: JSON.stringify([{ index: 1, fileName: 'a.zip', size: 3, storageKey: part, entryCount: 1 }]),
      expires_at: new Date(Date.now() + 3600_000),
      completed_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await h.storage.put(part, Buffer.from('zip'));
  const cookie = opts.password ? await h.unlock(link, opts.password) : '';
  return {
    f: { key: link.key, assetId: asset.id, foreignAssetId: foreign.id, exportId: exp.id, cookie },
    linkId: link.id,
  };
}

const bodyText = (res: LightMyRequestResponse) =>
  (res.headers['content-type'] ?? '').toString().includes('json') ||
  (res.headers['content-type'] ?? '').toString().includes('html')
    ? res.body
    : '';

describe('recipient routes × illegitimate requests', () => {
  for (const scenario of scenarios) {
    it(`should refuse: ${scenario.name}`, async () => {
      const cases = routes.filter((r) => scenario.applies(r.kind));
      expect(cases.length).toBeGreaterThan(0);
      const { f, linkId } = await fixture(scenario.link);
      // the legitimate request works (so the refusal below is caused by the scenario, not the fixture)
      const control = routes.find((r) => r.kind === 'view')!.request(f, f.assetId);
      expect((await h.app.inject({ ...control, headers: { cookie: f.cookie } })).statusCode).toBe(200);
      const { cookie, foreignAsset } = await scenario.prepare(f, linkId);
      // a replica with a cold cache: the change is visible at once (cache invalidation has its own tests)
      const app = await h.newApp();
      const problems: string[] = [];
      for (const route of cases) {
        const req = route.request(f, foreignAsset ? f.foreignAssetId : f.assetId);
        const headers = { ...(req.headers ?? {}), ...((cookie ?? f.cookie) ? { cookie: cookie ?? f.cookie } : {}) };
        const res = await app.inject({ ...req, headers } as never);
        const want = scenario.expected(route.kind);
        const text = bodyText(res);
        const messageOk =
          !want.message || want.message.test(text.startsWith('{') ? (JSON.parse(text).message ?? '') : text);
        if (res.statusCode !== want.status || !messageOk) {
          problems.push(
            `${route.name}: got ${res.statusCode} ${text.slice(0, 160)}; want ${want.status} ${want.message ?? ''}`,
          );
        }
      }
      expect(problems).toEqual([]);
    });
  }
});

describe('showMetadata=false', () => {
  it('should never reveal the file name, EXIF or GPS in any response', async () => {
    const bytes = await jpegWithExif();
    const asset = await h.createAsset({ bytes, fileName: 'Secret beach party.jpg' });
    const albumId = await h.createAlbum([asset.id], { name: 'Trip' });
    const link = await h.createLink({ albumId, showMetadata: false, password: 'pw' });
    const cookie = await h.unlock(link, 'pw');
    const get = (url: string) => h.app.inject({ url, headers: { cookie } });
    const exportRes = await h.app.inject({
      method: 'POST',
      url: `/share/${link.key}/exports`,
      headers: { cookie },
      payload: {},
    });
    expect(exportRes.statusCode).toBe(202);
    const loginRes = await h.app.inject({
      method: 'POST',
      url: `/api/shared-links/login?key=${link.key}`,
      payload: { password: 'pw' },
    });
    const texts: [string, LightMyRequestResponse][] = [
      ['login', loginRes],
      ['me', await get(`/api/shared-links/me?key=${link.key}`)],
      ['assets page', await get(`/share/${link.key}/assets`)],
      ['export', exportRes],
      ['export status', await get(`/share/${link.key}/exports/${exportRes.json().id}`)],
      ['share page', await get(`/share/${link.key}`)],
      ['photo page', await get(`/share/${link.key}/photos/${asset.id}`)],
    ];
    const forbidden = [
      'Secret beach',
      'SecretCam',
      'X100',
      'Lens9',
      'secret place',
      ...GPS_SECRETS,
      h.owner.email,
      asset.checksum.toString('base64'),
      'exifInfo',
      'latitude',
      'dateTimeOriginal',
      'originalPath":"assets/',
    ];
    for (const [what, res] of texts) {
      expect({ what, status: res.statusCode }).toMatchObject({ what, status: expect.any(Number) });
      expect(res.statusCode, what).toBeLessThan(300);
      for (const word of forbidden) expect({ what, found: found(res.body, word) }).toEqual({ what, found: null });
    }
    const me = texts[1]![1].json();
    expect(me.assets[0]).toMatchObject({ id: asset.id, originalFileName: `${asset.id}.jpg`, hasMetadata: false });

    for (const kind of ['thumbnail', 'preview', 'original']) {
      const res = await get(`/share/${link.key}/assets/${asset.id}/${kind}`);
      expect(res.statusCode, kind).toBe(200);
      const meta = await exifr.parse(res.rawPayload, { gps: true, xmp: true, iptc: true }).catch(() => undefined);
      expect({
        kind,
        latitude: meta?.latitude,
        make: meta?.Make,
        model: meta?.Model,
        description: meta?.ImageDescription,
      }).toEqual({
        kind,
        latitude: undefined,
        make: undefined,
        model: undefined,
        description: undefined,
      });
      for (const word of ['SecretCam', 'secret place', 'Secret beach']) {
        expect({ kind, found: res.rawPayload.includes(Buffer.from(word)) }).toEqual({ kind, found: false });
      }
      expect(String(res.headers['content-disposition'] ?? '')).not.toContain('Secret');
    }
  });
});

describe('owner identity on a metadata-hiding link (issue 12 item 3)', () => {
  it('should carry no owner identifier anywhere the recipient looks: JSON, HTML, headers', async () => {
    const secrets = [h.owner.id, h.owner.id.replace(/-/g, ''), h.owner.email];
    const problems: string[] = [];
    for (const type of ['ALBUM', 'INDIVIDUAL'] as const) {
      const asset = await h.createAsset({ fileName: 'Owner-named.jpg' });
      const albumId = type === 'ALBUM' ? await h.createAlbum([asset.id], { name: 'Trip' }) : undefined;
      const link = await h.createLink({
        ...(albumId ? { albumId } : { assetIds: [asset.id] }),
        showMetadata: false,
        password: 'pw',
        allowUpload: true,
      });
      const login = await h.app.inject({
        method: 'POST',
        url: `/api/shared-links/login?key=${link.key}`,
        payload: { password: 'pw' },
      });
      const cookie = `${login.cookies[0]!.name}=${login.cookies[0]!.value}`;
      const get = (url: string) => h.app.inject({ url, headers: { cookie } });
      const send = async (url: string, parts: Parameters<typeof multipart>[0]) => {
        const body = await multipart(parts);
        return h.app.inject({ method: 'POST', url, payload: body.payload, headers: { ...body.headers, cookie } });
      };
      const exportRes = await h.app.inject({
        method: 'POST',
        url: `/share/${link.key}/exports`,
        headers: { cookie },
        payload: {},
      });
      const batch = await send(`/share/${link.key}/uploads`, [
        { name: 'files', value: await jpegWithExif({ r: 7, g: 7, b: type.length }), fileName: 'guest.jpg' },
      ]);
      const responses: [string, LightMyRequestResponse][] = [
        ['login', login],
        ['me', await get(`/api/shared-links/me?key=${link.key}`)],
        [
          'me by header',
          await h.app.inject({ url: '/api/shared-links/me', headers: { cookie, 'x-immich-share-key': link.key } }),
        ],
        ['assets page', await get(`/share/${link.key}/assets`)],
        ['share page', await get(`/share/${link.key}`)],
        ['photo page', await get(`/share/${link.key}/photos/${asset.id}`)],
        ['thumbnail', await get(`/share/${link.key}/assets/${asset.id}/thumbnail`)],
        ['preview', await get(`/share/${link.key}/assets/${asset.id}/preview`)],
        ['original', await get(`/share/${link.key}/assets/${asset.id}/original`)],
        ['immich thumbnail', await get(`/api/assets/${asset.id}/thumbnail?key=${link.key}`)],
        ['export', exportRes],
        ['export status', await get(`/share/${link.key}/exports/${exportRes.json().id}`)],
        ['upload batch', batch],
        ['upload batch status', await get(`/share/${link.key}/uploads/${batch.json().id}`)],
        [
          'immich upload',
          await send(`/api/assets?key=${link.key}`, [
            { name: 'fileCreatedAt', value: '2024-01-01T00:00:00.000Z' },
            { name: 'fileModifiedAt', value: '2024-01-01T00:00:00.000Z' },
            { name: 'assetData', value: await jpegWithExif({ r: 8, g: 8, b: type.length }), fileName: 'g.jpg' },
          ]),
        ],
        ['locked page', await h.app.inject(`/share/${link.key}`)],
        ['not unlocked', await h.app.inject(`/api/shared-links/me?key=${link.key}`)],
      ];
      for (const [what, res] of responses) {
        if (res.statusCode >= 500) problems.push(`${type} ${what}: ${res.statusCode}`);
        const headers = JSON.stringify(res.headers);
        const body = bodyText(res);
        for (const secret of secrets) {
          if (headers.includes(secret)) problems.push(`${type} ${what}: owner identifier in a header`);
          if (body.includes(secret)) problems.push(`${type} ${what}: owner identifier in the body`);
        }
      }
      // one masked identity everywhere (what stands in for the owner is the same in every field)
      const me = responses[1]![1].json();
      const ids = new Set<string>([me.userId, ...me.assets.map((a: { ownerId: string }) => a.ownerId)]);
      if (me.album) for (const id of [me.album.ownerId, me.album.owner.id, me.album.albumUsers[0].user.id]) ids.add(id);
      if (ids.size !== 1) problems.push(`${type}: several stand-ins for the owner: ${[...ids].join(', ')}`);
    }
    expect(problems).toEqual([]);
  });
});

describe('logs', () => {
  it('should never contain link keys, slugs, passwords or unlock tokens', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = createLogger({ service: 'share-gateway', level: 'debug', destination });
    const app = await buildApp({ config: h.config, db: h.tdb.db, storage: h.storage, redis: h.redis, logger });
    try {
      const asset = await h.createAsset();
      const link = await h.createLink({ assetIds: [asset.id], password: 'hunter2-secret', slug: 'private-slug' });
      const login = await app.inject({
        method: 'POST',
        url: `/api/shared-links/login?key=${link.key}`,
        payload: { password: 'hunter2-secret' },
      });
      const token = login.cookies[0]!.value;
      const cookie = `${login.cookies[0]!.name}=${token}`;
      await app.inject({
        method: 'POST',
        url: '/api/shared-links/login?slug=private-slug',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'password=wrong-guess-secret&returnTo=%2Fshare%2Fprivate-slug',
      });
      await app.inject({ url: `/share/${link.key}`, headers: { cookie } });
      await app.inject({ url: '/s/private-slug', headers: { cookie } });
      await app.inject({ url: `/api/assets/${asset.id}/thumbnail?key=${link.key}`, headers: { cookie } });
      await app.inject({ url: '/api/shared-links/me', headers: { 'x-immich-share-key': link.key, cookie } });
      await app.inject({ url: `/share/${link.key}/assets/not-a-uuid/original`, headers: { cookie } });
      await app.inject({ url: `/api/shared-links/me?key=${link.key}x` });
      const log = lines.join('');
      expect(lines.length).toBeGreaterThan(5);
      for (const secret of [link.key, 'private-slug', 'hunter2-secret', 'wrong-guess-secret', token]) {
        expect({ secret: secret.slice(0, 6), found: log.includes(secret) }).toEqual({
          secret: secret.slice(0, 6),
          found: false,
        });
      }
    } finally {
      await app.close();
    }
  });
});

// Issue 12 item 11: the public port serves no operators' data (metrics live on GATEWAY_METRICS_PORT, see main.ts).
describe("operators' data on the public port", () => {
  it('should answer /metrics 404 and readiness without naming the backing service that failed or why', async () => {
    const app = await buildApp({
      config: h.config,
      db: h.tdb.db,
      storage: h.storage,
      redis: h.redis,
      logger: false,
      metrics: createMetrics('share-gateway'),
      readiness: {
        postgres: async () => 1,
        redis: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:6379')),
      },
    });
    try {
      await app.inject('/health/live');
      const metrics = await app.inject('/metrics');
      expect(metrics.statusCode).toBe(404);
      const ready = await app.inject('/health/ready');
      expect(ready.statusCode).toBe(503);
      expect(ready.headers['retry-after']).toBeDefined();
      expect(ready.json()).toEqual({ status: 'unavailable' });
      expect(ready.body).not.toMatch(/redis|postgres|ECONNREFUSED|10\.0\.0\.7/i);
      expect((await app.inject('/health/live')).json()).toEqual({ status: 'ok' });
    } finally {
      await app.close();
    }
  });
});

/** Percent-decodes every %XX of a text (invalid sequences kept): what a secret looks like once decoded. */
const decodeAll = (text: string) =>
  text.replace(/(%[0-9a-f]{2})+/gi, (m) => {
    try {
      return decodeURIComponent(m);
    } catch {
      return m;
    }
  });

describe('logs after decoding (issue 12 item 10)', () => {
  it('should redact secrets in every route form: encoded names and values, paths, headers, form bodies', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const logger = createLogger({ service: 'share-gateway', level: 'trace', destination });
    const app = await buildApp({ config: h.config, db: h.tdb.db, storage: h.storage, redis: h.redis, logger });
    try {
      const asset = await h.createAsset();
      const password = 'Pa55-word-in-the-log';
      const slug = 'sluggish-secret-slug';
      const link = await h.createLink({ assetIds: [asset.id], password, slug, allowUpload: true });
      const cookie = await h.unlock(link, password, app);
      const token = cookie.slice(cookie.indexOf('=') + 1);
      const apiKey = 'api-key-secret-0123456789';
      const key = link.key;
      const every = (s: string) => [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
      const urls = [
        `/api/shared-links/me?%6bey=${key}`,
        `/api/shared-links/me?k%65y=${encodeURIComponent(key)}`,
        `/api/shared-links/me?KEY=${key}`,
        `/api/shared-links/me?%4B%45%59=${every(key)}`,
        `/api/shared-links/me?page=1&%73lug=${slug}`,
        `/api/shared-links/me?sl%75g=${every(slug)}`,
        `/api/assets/${asset.id}/thumbnail?%6bey=${key}`,
        `/api/assets/${asset.id}/original?size=x&%6Bey=${key}`,
        `/share/${key}`,
        `/share/${every(key)}`,
        `/%73hare/${key}`,
        `/s/${slug}`,
        `/%73/${slug}`,
        `/s/${every(slug)}/photos/${asset.id}`,
        `/share/${key}/assets/${asset.id}/thumbnail`,
        `/share/${slug}/assets?page=2`,
        `/api/shared-links/me?key=${key}&key=${key}`,
        `/api/shared-links/me?password=${password}&token=${token}`,
        `/api/shared-links/me?%70assword=${every(password)}`,
      ];
      for (const url of urls) await app.inject({ url, headers: { cookie } });
      await app.inject({
        url: '/api/shared-links/me',
        headers: {
          'x-immich-share-key': key,
          'x-immich-share-slug': slug,
          'x-api-key': apiKey,
          authorization: `Bearer ${apiKey}`,
          cookie,
        },
      });
      for (const body of [
        `password=${encodeURIComponent(password)}&returnTo=${encodeURIComponent(`/share/${slug}`)}`,
        `%70assword=${every(password)}`,
      ]) {
        await app.inject({
          method: 'POST',
          url: `/api/shared-links/login?%73lug=${slug}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: body,
        });
      }
      await app.inject({ method: 'POST', url: `/api/shared-links/login?key=${key}`, payload: { password } });
      await app.inject({
        method: 'POST',
        url: `/api/shared-links/login?key=${key}`,
        headers: { 'content-type': 'application/json' },
        payload: `{"password":"${password}"`,
      });
      const log = lines.join('');
      expect(lines.length).toBeGreaterThan(urls.length);
      const decoded = decodeAll(log);
      const found = [key, slug, password, token, apiKey].filter(
        (secret) => log.includes(secret) || decoded.includes(secret),
      );
      expect(found.map((f) => f.slice(0, 8))).toEqual([]);
      // what is logged is still useful: the route and the redaction marker
      expect(log).toContain('/api/shared-links/me?');
      expect(log).toContain('[redacted]');
    } finally {
      await app.close();
    }
  });
});

/** One raw HTTP/1.1 request over a real socket (no client-side URL or header normalisation). */
function rawRequest(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers ?? {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('odd inputs (issue 12 item 9)', () => {
  it('should answer every odd request with the security headers, and errors in the error shape', async () => {
    const app = await buildApp({ config: h.config, db: h.tdb.db, storage: h.storage, redis: h.redis, logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const asset = await h.createAsset();
      const link = await h.createLink({ assetIds: [asset.id], password: 'pw' });
      const form = (body: string) => ({
        method: 'POST',
        path: `/api/shared-links/login?key=${link.key}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      const cases: { name: string; req: Parameters<typeof rawRequest>[1]; status: number }[] = [
        {
          name: 'returnTo with non-Latin characters',
          req: form(`password=pw&returnTo=${encodeURIComponent(`/share/${link.key}/фото-📷`)}`),
          status: 303,
        },
        {
          name: 'returnTo with a line separator',
          req: form(`password=wrong&returnTo=${encodeURIComponent(`/share/${link.key}/\u2028`)}`),
          status: 303,
        },
        { name: 'malformed percent-encoding in the path', req: { path: '/share/%E0%A4%A' }, status: 400 },
        { name: 'an over-long path parameter', req: { path: `/share/${'a'.repeat(600)}` }, status: 414 },
        { name: 'NUL in the query', req: { path: '/api/shared-links/me?key=%00' }, status: 400 },
        {
          name: 'malformed percent-encoding in the query',
          req: { path: '/api/shared-links/me?key=%E0%A4%A' },
          status: 401,
        },
        {
          name: 'a share key header that is not ASCII',
          req: {
            path: '/api/shared-links/me',
            headers: { 'x-immich-share-key': Buffer.from('ключ').toString('latin1') },
          },
          status: 401,
        },
        {
          name: 'a garbled unlock cookie',
          req: {
            path: `/api/shared-links/me?key=${link.key}`,
            headers: { cookie: `${unlockCookieName(link.id)}=%E0%A4%A; =; ;;` },
          },
          status: 401,
        },
        {
          name: 'invalid JSON',
          req: { ...form('{'), headers: { 'content-type': 'application/json' } },
          status: 400,
        },
        {
          name: 'an unknown content type',
          req: { ...form('x'), headers: { 'content-type': 'text/x-odd' } },
          status: 415,
        },
        { name: 'a photo page with an emoji id', req: { path: `/share/${link.key}/photos/%F0%9F%93%B7` }, status: 401 },
        {
          name: 'a media route with a non-UUID asset id',
          req: { path: `/share/${link.key}/assets/%F0%9F%93%B7/thumbnail` },
          status: 400,
        },
      ];
      const problems: string[] = [];
      for (const c of cases) {
        const res = await rawRequest(port, c.req);
        const missing = Object.entries(securityHeaders)
          .filter(([name, value]) => res.headers[name] !== value)
          .map(([name]) => name);
        if (res.status !== c.status)
          problems.push(`${c.name}: status ${res.status}, want ${c.status}: ${res.body.slice(0, 160)}`);
        if (missing.length) problems.push(`${c.name}: missing ${missing.join(', ')}`);
        if (res.status >= 400 && String(res.headers['content-type']).startsWith('application/json')) {
          const body = JSON.parse(res.body);
          const keys = Object.keys(body).sort();
          if (keys.join() !== 'correlationId,error,message,statusCode' || body.statusCode !== res.status)
            problems.push(`${c.name}: not the error shape: ${res.body.slice(0, 160)}`);
        } else if (res.status >= 400 && !String(res.headers['content-type']).startsWith('text/html')) {
          problems.push(`${c.name}: error without a JSON or HTML body (${res.headers['content-type']})`);
        }
      }
      expect(problems).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
