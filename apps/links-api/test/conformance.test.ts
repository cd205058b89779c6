import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DomainEvent, IMMISH_ROUTE_PERMISSIONS } from '@immish/contracts';
import { createApiKey } from '@immish/domain';
import { detectMediaTools } from '@immish/media';
import type { RouteInfo } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeVideo } from '../../../packages/media/test/phone-fixtures.ts';
import { processIngestJob } from '../../ingest-worker/src/processor.ts';
import { tinyJpeg } from '../../ingest-worker/test/fixtures.ts';
import { assetForm } from '../../ingest-worker/test/http-helpers.ts';
import { insertAsset } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import {
  coveredOperations,
  expectImmichReply,
  expectImmichResponse,
  immichOperation,
  immichPermissionNames,
} from './immich-conformance.ts';

/**
 * Drives real responses of every Immich operation links-api implements and validates each against
 * Immich 3.1's published document (status code documented + body matches the response schema).
 * Each test is named after the operation(s) it covers.
 */
let h: LinksApiHarness;
let owner: TestUser;
let member: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  member = await h.newUser('member');
});
afterAll(async () => {
  // The list of operations this file covered, for the record.
  console.log(`Immich operations validated against the reference:\n  ${[...coveredOperations].sort().join('\n  ')}`);
  await h?.close();
});

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
async function call(method: Method, url: string, who: TestUser | null, payload?: unknown) {
  const res = await h.app.inject({
    method,
    url,
    ...(who ? { headers: who.headers } : {}),
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  return res;
}
async function check(method: Method, url: string, who: TestUser | null, payload?: unknown) {
  const res = await call(method, url, who, payload);
  expectImmichReply(method, url, res);
  return res;
}

describe('the conformance checker itself', () => {
  it('should reject an undocumented status and a body that does not match', () => {
    expect(() => expectImmichResponse('GET', '/server/ping', 201, { res: 'pong' })).toThrow(/not documented/);
    expect(() => expectImmichResponse('GET', '/server/ping', 200, { res: 1 })).toThrow(/does not match/);
    expect(() => expectImmichResponse('GET', '/api/albums/:id', 200, { id: 'x' })).toThrow(/does not match/);
    expect(() => expectImmichResponse('GET', '/api/nothing-here', 200, {})).toThrow(/documents no operation/);
  });
});

describe('server', () => {
  it('pingServer, getServerVersion, getSupportedMediaTypes, getServerFeatures', async () => {
    await check('GET', '/api/server/ping', null);
    await check('GET', '/api/server/version', null);
    await check('GET', '/api/server/media-types', null);
    await check('GET', '/api/server/features', null);
  });
});

describe('users and API keys', () => {
  it('getMyUser (GET /users/me)', async () => {
    await check('GET', '/api/users/me', owner);
  });

  it('getUser, searchUsers, searchUsersAdmin', async () => {
    await check('GET', `/api/users/${member.id}`, owner);
    await check('GET', '/api/users', owner);
    await check('GET', '/api/admin/users', h.admin);
  });

  it('getMyApiKey (GET /api-keys/me)', async () => {
    await check('GET', '/api/api-keys/me', owner);
  });

  it('createApiKey, getApiKeys, deleteApiKey', async () => {
    const created = await check('POST', '/api/api-keys', owner, { name: 'conformance' });
    expect(created.statusCode).toBe(201);
    await check('GET', '/api/api-keys', owner);
    const del = await check('DELETE', `/api/api-keys/${created.json().apiKey.id}`, owner);
    expect(del.statusCode).toBe(204);
  });

  it('createUserAdmin (POST /admin/users)', async () => {
    const res = await check('POST', '/api/admin/users', h.admin, {
      email: 'conformance@immish.test',
      name: 'Conformance',
      password: 'pw-pw-pw',
    });
    expect(res.statusCode).toBe(201);
  });
});

describe('albums', () => {
  it('createAlbum, getAllAlbums, getAlbumInfo, updateAlbumInfo, deleteAlbum', async () => {
    const asset = await insertAsset(h, owner.id);
    const created = await check('POST', '/api/albums', owner, {
      albumName: 'Conformance',
      description: 'with an asset and a member',
      assetIds: [asset.id],
      albumUsers: [{ userId: member.id, role: 'viewer' }],
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    const empty = await check('POST', '/api/albums', owner, { albumName: '' });
    await check('GET', '/api/albums', owner);
    await check('GET', '/api/albums?shared=true', owner);
    await check('GET', '/api/albums?isOwned=false', member);
    await check('GET', `/api/albums?assetId=${asset.id}`, owner);
    await check('GET', `/api/albums/${id}`, owner);
    await check('GET', `/api/albums/${id}`, member);
    await check('GET', `/api/albums/${empty.json().id}`, owner);
    await check('PATCH', `/api/albums/${id}`, owner, { albumName: 'Renamed', description: null, order: 'asc' });
    expect((await check('DELETE', `/api/albums/${empty.json().id}`, owner)).statusCode).toBe(204);
  });

  it('addAssetsToAlbum, removeAssetFromAlbum (per-id results)', async () => {
    const a1 = await insertAsset(h, owner.id);
    const foreign = await insertAsset(h, member.id);
    const album = (await call('POST', '/api/albums', owner, { albumName: 'assets' })).json();
    const added = await check('PUT', `/api/albums/${album.id}/assets`, owner, { ids: [a1.id, a1.id, foreign.id] });
    expect(added.json().map((r: { error?: string }) => r.error)).toEqual([undefined, 'duplicate', 'no_permission']);
    const removed = await check('DELETE', `/api/albums/${album.id}/assets`, owner, { ids: [a1.id, foreign.id] });
    expect(removed.json().map((r: { error?: string }) => r.error)).toEqual([undefined, 'not_found']);
  });

  it('addAssetsToAlbums (PUT /albums/assets), getAlbumStatistics', async () => {
    const a1 = await insertAsset(h, owner.id);
    const album = (await call('POST', '/api/albums', owner, { albumName: 'bulk' })).json();
    const res = await check('PUT', '/api/albums/assets', owner, { albumIds: [album.id], assetIds: [a1.id] });
    expect(res.json()).toEqual({ success: true });
    await check('PUT', '/api/albums/assets', owner, { albumIds: [album.id], assetIds: [a1.id] });
    await check('GET', '/api/albums/statistics', owner);
  });

  it('addUsersToAlbum, updateAlbumUser, removeUserFromAlbum', async () => {
    const album = (await call('POST', '/api/albums', owner, { albumName: 'members' })).json();
    await check('PUT', `/api/albums/${album.id}/users`, owner, { albumUsers: [{ userId: member.id }] });
    const role = await check('PUT', `/api/albums/${album.id}/user/${member.id}`, owner, { role: 'viewer' });
    expect(role.statusCode).toBe(204);
    const left = await check('DELETE', `/api/albums/${album.id}/user/me`, member);
    expect(left.statusCode).toBe(204);
  });
});

describe('assets', () => {
  async function upload(data: Buffer, filename: string) {
    const form = assetForm(data, filename);
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/assets',
      headers: { ...owner.headers, ...form.headers },
      payload: form.payload,
    });
    expectImmichReply('POST', '/assets', res);
    return res;
  }

  /** Runs the ingest step of an uploaded asset (thumbnail, preview, video probe), as the ingest worker would. */
  async function ingest(id: string) {
    const stored = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', 'asset.stored')
      .where('aggregate_id', '=', id)
      .executeTakeFirstOrThrow();
    const storage = createBlobStore({ driver: 'fs', root: h.storageRoot });
    try {
      await processIngestJob(stored.payload as DomainEvent, {
        db: h.tdb.db,
        storage,
        maxPixels: 100_000_000,
        keepFailedOriginals: true,
        tools: await detectMediaTools(),
      });
    } finally {
      await storage.close();
    }
  }

  it('uploadAsset (201 created, 200 duplicate), checkBulkUpload, getAssetInfo, downloadAsset, viewAsset, getAssetStatistics, deleteAssets', async () => {
    const bytes = await tinyJpeg(4242);
    const created = await upload(bytes, 'conformance.jpg');
    expect(created.statusCode).toBe(201);
    expect((await upload(bytes, 'again.jpg')).statusCode).toBe(200);
    const id = created.json().id as string;

    await ingest(id); // so that the thumbnail exists

    const checksum = createHash('sha1').update(bytes).digest('base64');
    const check1 = await check('POST', '/api/assets/bulk-upload-check', owner, {
      assets: [
        { id: 'known', checksum },
        { id: 'new', checksum: createHash('sha1').update('other').digest('hex') },
      ],
    });
    expect(check1.json().results.map((r: { action: string }) => r.action)).toEqual(['reject', 'accept']);
    expect((await check('GET', `/api/assets/${id}`, owner)).json()).toMatchObject({ id, status: 'ready' });
    const original = await check('GET', `/api/assets/${id}/original`, owner);
    expect(original.rawPayload.equals(bytes)).toBe(true);
    expect((await check('GET', `/api/assets/${id}/thumbnail`, owner)).statusCode).toBe(200);
    await check('GET', '/api/assets/statistics', owner);
    expect((await check('DELETE', '/api/assets', owner, { ids: [id] })).statusCode).toBe(204);
  });

  it('playAssetVideo (a web-playable H.264 MP4 made by ffmpeg, whole and by range)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'immish-conformance-video-'));
    try {
      makeVideo(join(dir, 'clip.mp4'), { codec: 'libx264', colour: 'gray', seconds: 1 });
      const bytes = readFileSync(join(dir, 'clip.mp4'));
      const created = await upload(bytes, 'clip.mp4');
      expect(created.statusCode).toBe(201);
      const id = created.json().id as string;
      await ingest(id);
      const video = await check('GET', `/api/assets/${id}/video/playback`, owner);
      expect(video.statusCode).toBe(200);
      expect(video.rawPayload.equals(bytes)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shared links', () => {
  it('createSharedLink, getAllSharedLinks, getSharedLinkById, updateSharedLink, removeSharedLink (INDIVIDUAL)', async () => {
    const a1 = await insertAsset(h, owner.id);
    const created = await check('POST', '/api/shared-links', owner, {
      type: 'INDIVIDUAL',
      assetIds: [a1.id],
      description: 'conformance',
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      password: 'pw',
      slug: 'conformance-all',
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    await check('GET', '/api/shared-links', owner);
    await check('GET', `/api/shared-links?id=${id}`, owner);
    await check('GET', `/api/shared-links/${id}`, owner);
    await check('PATCH', `/api/shared-links/${id}`, owner, {
      description: null,
      changeExpiryTime: true,
      expiresAt: null,
    });
    expect((await check('DELETE', `/api/shared-links/${id}`, owner)).statusCode).toBe(204);
  });

  it('createSharedLink (ALBUM, by an editor of the album), getAllSharedLinks?albumId', async () => {
    const asset = await insertAsset(h, owner.id);
    const album = (
      await call('POST', '/api/albums', owner, {
        albumName: 'linked',
        assetIds: [asset.id],
        albumUsers: [{ userId: member.id, role: 'editor' }],
      })
    ).json();
    const created = await check('POST', '/api/shared-links', member, { type: 'ALBUM', albumId: album.id });
    expect(created.json().album.id).toBe(album.id);
    await check('GET', `/api/shared-links?albumId=${album.id}`, member);
    expect((await check('GET', `/api/albums/${album.id}`, owner)).json().hasSharedLink).toBe(true);
  });

  it('addSharedLinkAssets, removeSharedLinkAssets', async () => {
    const a1 = await insertAsset(h, owner.id);
    const a2 = await insertAsset(h, owner.id);
    const link = (await call('POST', '/api/shared-links', owner, { type: 'INDIVIDUAL', assetIds: [a1.id] })).json();
    const added = await check('PUT', `/api/shared-links/${link.id}/assets`, owner, { assetIds: [a1.id, a2.id] });
    expect(added.json().map((r: { success: boolean }) => r.success)).toEqual([false, true]);
    await check('DELETE', `/api/shared-links/${link.id}/assets`, owner, { assetIds: [a2.id] });
  });
});

// Issue 12 item 6: every route's declared API key permission is Immich's (the reference's `x-immich-permission`
// and `x-immich-admin-only`), or for an immish-only route the one contracts' table chose; and a key with
// exactly that permission gets past the check while a key without it gets Immich's 403.
describe('authentication and sessions', () => {
  it('login, validateAccessToken, getSessions, deleteSession, deleteAllSessions, changePassword, logout', async () => {
    const user = await h.newUser('signer');
    const signIn = async () => {
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { email: user.email, password: 'pw' },
      });
      expectImmichReply('POST', '/api/auth/login', res);
      expect(res.statusCode).toBe(201);
      return { authorization: `Bearer ${res.json().accessToken as string}` };
    };
    const session = await signIn();
    const spare = await signIn();
    const send = async (method: Method, url: string, headers: Record<string, string>, payload?: object) => {
      const res = await h.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      expectImmichReply(method, url, res);
      return res;
    };
    expect((await send('POST', '/api/auth/validateToken', session)).json()).toEqual({ authStatus: true });
    const list = await send('GET', '/api/sessions', session);
    const other = (list.json() as { id: string; current: boolean }[]).find((s) => !s.current)!;
    expect((await send('DELETE', `/api/sessions/${other.id}`, session)).statusCode).toBe(204);
    await signIn();
    expect((await send('DELETE', '/api/sessions', session)).statusCode).toBe(204);
    const changed = await send('POST', '/api/auth/change-password', session, {
      password: 'pw',
      newPassword: 'conformance-pw',
    });
    expect(changed.statusCode).toBe(200);
    expect((await send('POST', '/api/auth/logout', session)).statusCode).toBe(200);
    expect(spare).toBeDefined();
  });
});

describe('API key permissions', () => {
  const guarded = () =>
    h.app.routeTable.filter(
      (r) => r.url.startsWith('/api/') && !r.url.startsWith('/api/docs') && r.config.public !== true,
    );
  const immishOnly = IMMISH_ROUTE_PERMISSIONS as Record<string, string>;
  const referenceOf = (method: string, url: string) => {
    try {
      return immichOperation(method === 'HEAD' ? 'GET' : method, url);
    } catch {
      return undefined; // an immish-only route
    }
  };
  /**
   * What a key needs for the route, from the documents (not from the route's declaration): the reference's
   * `x-immich-permission` (`false` where Immich checks none), or the immish-only table; `all` when neither says.
   */
  const documented = (r: RouteInfo): string | false => {
    const op = referenceOf(r.method, r.url);
    if (op) return op.permission ?? false;
    return immishOnly[`${r.method === 'HEAD' ? 'GET' : r.method} ${r.url}`] ?? 'all';
  };

  it("should declare on every route the reference's permission (immish-only routes: IMMISH_ROUTE_PERMISSIONS)", async () => {
    const doc = (await h.app.inject('/api/openapi.json')).json() as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const mismatches: string[] = [];
    const routes = guarded();
    expect(routes.length).toBeGreaterThan(35);
    for (const r of routes) {
      const label = `${r.method} ${r.url}`;
      const declared = r.config.permission as string | false | undefined;
      if (declared === undefined) {
        mismatches.push(`${label}: declares no permission`);
        continue;
      }
      const op = referenceOf(r.method, r.url);
      const expected = op
        ? (op.permission ?? false)
        : (immishOnly[label.replace(/^HEAD /, 'GET ')] ?? '(not in the table)');
      if (declared !== expected) mismatches.push(`${label}: declares ${declared}, expected ${expected}`);
      if (op && (r.config.admin === true) !== op.adminOnly) mismatches.push(`${label}: admin-only differs`);
      if (declared && !immichPermissionNames().includes(declared)) mismatches.push(`${label}: ${declared} unknown`);
      // and the published document says what Immich's says
      const openapiPath = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const published = doc.paths[openapiPath]?.[r.method.toLowerCase()];
      if (published && published['x-immich-permission'] !== (declared || undefined)) {
        mismatches.push(`${label}: openapi.json says ${String(published['x-immich-permission'])}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('should let a key with exactly the route’s permission past the check, and answer 403 to a key without it', async () => {
    const keys = new Map<string, TestUser>();
    const keyFor = async (user: TestUser, permission: string) => {
      const id = `${user.id} ${permission}`;
      let key = keys.get(id);
      if (!key) {
        const { secret } = await createApiKey(h.tdb.db, user.id, `only ${permission}`, [permission]);
        key = { ...user, key: secret, headers: { 'x-api-key': secret } };
        keys.set(id, key);
      }
      return key;
    };
    // `activity.read`: a permission no immish route asks for
    const UNRELATED = 'activity.read';
    const failures: string[] = [];
    for (const r of guarded()) {
      const label = `${r.method} ${r.url}`;
      const user = r.config.admin === true ? h.admin : owner;
      const url = r.url.replace(/:n\b/, '0').replace(/:[A-Za-z]+/g, () => randomUUID());
      const send = (who: TestUser) =>
        h.app.inject({
          method: r.method as 'GET',
          url,
          headers: who.headers,
          ...(['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method) ? { payload: {} } : {}),
        });
      const permission = documented(r);
      const granted = await send(await keyFor(user, permission === false ? UNRELATED : permission));
      if (granted.statusCode === 401 || granted.statusCode === 403) {
        failures.push(
          `${label}: a key with ${permission || 'any permission'} got ${granted.statusCode} ${granted.body}`,
        );
      }
      if (permission === false) continue;
      const refused = await send(await keyFor(user, UNRELATED));
      const message = r.method === 'HEAD' ? undefined : refused.json().message;
      if (
        refused.statusCode !== 403 ||
        (message !== undefined && message !== `Missing required permission: ${permission}`)
      ) {
        failures.push(`${label}: a key without ${permission} got ${refused.statusCode} ${refused.body}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

// Runs last (vitest runs a file's tests in order): every route links-api serves that Immich also documents
// must have been validated above, so a new Immich-compatible route cannot skip the conformance check.
describe('coverage', () => {
  it('should have validated every Immich operation links-api implements', async () => {
    const doc = (await h.app.inject('/api/openapi.json')).json() as { paths: Record<string, Record<string, unknown>> };
    const implemented: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        try {
          const op = immichOperation(method, path);
          implemented.push(`${op.operationId} (${op.method} ${op.template})`);
        } catch {
          // an immish-only route (no Immich operation at this method + path)
        }
      }
    }
    expect(implemented.length).toBeGreaterThan(30);
    expect(implemented.filter((op) => !coveredOperations.has(op)).sort()).toEqual([]);
  });
});
