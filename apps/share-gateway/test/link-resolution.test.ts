import { appendEvents } from '@immish/db';
import { addAssetsToAlbum, removeAssetsFromAlbum, trashAssets } from '@immish/domain';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type GatewayHarness, startGateway, updateLinkWithEvent } from './harness.ts';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

const me = (app: FastifyInstance, url: string, headers: Record<string, string> = {}) => app.inject({ url, headers });

describe('GET /api/shared-links/me (link resolution)', () => {
  it('should resolve a key from ?key=, x-immich-share-key and a slug from ?slug=, x-immich-share-slug', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id], slug: 'Summer-2026' });
    for (const res of [
      await me(h.app, `/api/shared-links/me?key=${link.key}`),
      await me(h.app, '/api/shared-links/me', { 'x-immich-share-key': link.key }),
      await me(h.app, '/api/shared-links/me?slug=summer-2026'),
      await me(h.app, '/api/shared-links/me', { 'x-immich-share-slug': 'SUMMER-2026' }),
    ]) {
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: link.id, type: 'INDIVIDUAL', slug: 'Summer-2026' });
      expect(res.json().assets.map((x: { id: string }) => x.id)).toEqual([a.id]);
    }
  });

  it('should accept a slug in place of the key in /share/:key/... routes', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id], slug: 'by-slug' });
    const byKey = await h.app.inject(`/share/${link.key}/assets`);
    const bySlug = await h.app.inject('/share/by-slug/assets');
    expect(byKey.statusCode).toBe(200);
    expect(bySlug.json()).toEqual(byKey.json());
    expect((await h.app.inject(`/share/by-slug/assets/${a.id}/thumbnail`)).statusCode).toBe(200);
  });

  it('should answer 401 Invalid share key / slug for unknown links', async () => {
    const unknownKey = await me(h.app, `/api/shared-links/me?key=${'x'.repeat(43)}`);
    expect(unknownKey.statusCode).toBe(401);
    expect(unknownKey.json()).toMatchObject({ message: 'Invalid share key', statusCode: 401, error: 'Unauthorized' });
    const unknownSlug = await me(h.app, '/api/shared-links/me?slug=nope');
    expect(unknownSlug.json()).toMatchObject({ message: 'Invalid share slug', statusCode: 401 });
    expect((await h.app.inject(`/share/${'y'.repeat(43)}/assets`)).json().message).toBe('Invalid share key');
    expect((await h.app.inject('/share/no-such-slug/assets')).json().message).toBe('Invalid share slug');
    const none = await me(h.app, '/api/shared-links/me');
    expect(none.statusCode).toBe(401);
  });

  it('should refuse expired links and links whose album was deleted', async () => {
    const a = await h.createAsset();
    const expired = await h.createLink({ assetIds: [a.id], expiresAt: new Date(Date.now() - 1000) });
    expect((await me(h.app, `/api/shared-links/me?key=${expired.key}`)).json().message).toBe('Invalid share key');
    const albumId = await h.createAlbum([a.id]);
    const albumLink = await h.createLink({ albumId });
    await h.tdb.db.updateTable('albums').set({ deleted_at: new Date() }).where('id', '=', albumId).execute();
    const res = await me(h.app, `/api/shared-links/me?key=${albumLink.key}`);
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toBe('Invalid share key');
  });

  it('should show album assets and the album for ALBUM links, and page them on /share/:key/assets', async () => {
    const assets = [];
    for (let i = 0; i < 5; i++) assets.push(await h.createAsset());
    const trashed = await h.createAsset({ trashed: true });
    const albumId = await h.createAlbum([...assets.map((a) => a.id), trashed.id], { name: 'Alps' });
    const link = await h.createLink({ albumId });
    const res = await me(h.app, `/api/shared-links/me?key=${link.key}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().album).toMatchObject({ id: albumId, albumName: 'Alps', assetCount: 5 });
    expect(res.json().assets).toHaveLength(5);
    const p1 = (await h.app.inject(`/share/${link.key}/assets?page=1&size=2`)).json();
    const p3 = (await h.app.inject(`/share/${link.key}/assets?page=3&size=2`)).json();
    expect(p1).toMatchObject({ total: 5, page: 1, size: 2 });
    expect(p1.items).toHaveLength(2);
    expect(p3.items).toHaveLength(1);
    const bad = await h.app.inject(`/share/${link.key}/assets?size=0`);
    expect(bad.statusCode).toBe(400);
  });

  it('should count a view with last_accessed_at and a shared-link.viewed event', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    await me(h.app, `/api/shared-links/me?key=${link.key}`);
    await h.app.linkActivity.settled();
    await me(h.app, `/api/shared-links/me?key=${link.key}`);
    await h.app.linkActivity.settled();
    const row = await h.tdb.db
      .selectFrom('shared_links')
      .selectAll()
      .where('id', '=', link.id)
      .executeTakeFirstOrThrow();
    expect(Number(row.view_count)).toBe(2);
    expect(row.last_accessed_at).not.toBeNull();
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select('type')
      .where('aggregate_id', '=', link.id)
      .execute();
    // sequential views: one counter write, and one event, each
    expect(events.filter((e) => e.type === 'shared-link.viewed')).toHaveLength(2);
  });
  it('should count every one of many concurrent views exactly (writes coalesced per link)', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const results = await Promise.all(
      Array.from({ length: 40 }, () => me(h.app, `/api/shared-links/me?key=${link.key}`)),
    );
    expect(results.every((r) => r.statusCode === 200)).toBe(true);
    expect((await h.counters(link.id)).view).toBe(40);
    // one event per counter write, whose views add up to the views counted, each with a request's correlation id
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', link.id)
      .where('type', '=', 'shared-link.viewed')
      .execute();
    const payloads = events.map((e) => e.payload as { correlationId?: string; data: { views: number } });
    expect(payloads.length).toBeLessThan(40);
    expect(payloads.reduce((sum, p) => sum + p.data.views, 0)).toBe(40);
    const requestIds = new Set(results.map((r) => r.headers['x-correlation-id']));
    for (const p of payloads) expect(requestIds.has(p.correlationId)).toBe(true);
  });
});

describe('link cache invalidation across gateway replicas', () => {
  it('should stop a deleted, expired or changed link on two replicas through relay events (TTL far away)', async () => {
    // a long TTL: only the pub/sub invalidation can make these changes visible
    const a1 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const a2 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    h.startRelay();
    const asset = await h.createAsset();
    const deleted = await h.createLink({ assetIds: [asset.id] });
    const expiring = await h.createLink({ assetIds: [asset.id] });
    const locked = await h.createLink({ assetIds: [asset.id] });
    const albumId = await h.createAlbum([asset.id]);
    const albumLink = await h.createLink({ albumId });
    const all = [deleted, expiring, locked, albumLink];
    for (const app of [a1, a2]) {
      for (const l of all) expect((await me(app, `/api/shared-links/me?key=${l.key}`)).statusCode).toBe(200);
    }

    // what links-api does: the change and its event in one transaction
    await h.tdb.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('shared_links').where('id', '=', deleted.id).execute();
      await trx
        .updateTable('shared_links')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', expiring.id)
        .execute();
      await trx
        .updateTable('shared_links')
        .set({ password_hash: 'x', password_version: 2 })
        .where('id', '=', locked.id)
        .execute();
      await trx.updateTable('albums').set({ deleted_at: new Date() }).where('id', '=', albumId).execute();
      await appendEvents(trx, [
        {
          type: 'shared-link.deleted',
          actor: { type: 'system', id: null },
          subject: { type: 'shared-link', id: deleted.id },
          data: { linkId: deleted.id },
        },
        {
          type: 'shared-link.updated',
          actor: { type: 'system', id: null },
          subject: { type: 'shared-link', id: expiring.id },
          data: { linkId: expiring.id, changed: ['expiresAt'], passwordChanged: false },
        },
        {
          type: 'shared-link.updated',
          actor: { type: 'system', id: null },
          subject: { type: 'shared-link', id: locked.id },
          data: { linkId: locked.id, changed: ['password'], passwordChanged: true },
        },
        {
          type: 'album.deleted',
          actor: { type: 'system', id: null },
          subject: { type: 'album', id: albumId },
          data: { albumId },
        },
      ]);
    });

    for (const app of [a1, a2]) {
      await eventually(async () => {
        const codes = await Promise.all(all.map((l) => me(app, `/api/shared-links/me?key=${l.key}`)));
        return codes.every((r) => r.statusCode === 401);
      }, 'every changed link refused on both replicas');
      expect((await me(app, `/api/shared-links/me?key=${locked.key}`)).json().message).toBe('Password required');
      expect((await me(app, `/api/shared-links/me?key=${deleted.key}`)).json().message).toBe('Invalid share key');
    }
  });

  it('should fall back to the cache TTL when no invalidation arrives', async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '200' });
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id] });
    expect((await me(app, `/api/shared-links/me?key=${link.key}`)).statusCode).toBe(200);
    // deleted without an event (no relay involved): only the TTL can notice
    await h.tdb.db.deleteFrom('shared_links').where('id', '=', link.id).execute();
    await eventually(
      async () => (await me(app, `/api/shared-links/me?key=${link.key}`)).statusCode === 401,
      'deleted link refused after the TTL',
    );
  });
});

describe('cached link content', () => {
  it('should serve a link whose metadata was just hidden without metadata on every replica (event-driven)', async () => {
    const a1 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const a2 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    h.startRelay();
    const asset = await h.createAsset({ fileName: 'Visible name.jpg' });
    const albumId = await h.createAlbum([asset.id]);
    const link = await h.createLink({ albumId });
    for (const app of [a1, a2]) {
      expect((await me(app, `/api/shared-links/me?key=${link.key}`)).body).toContain('Visible name.jpg');
      expect((await app.inject(`/share/${link.key}/assets/${asset.id}/thumbnail`)).statusCode).toBe(200);
    }
    await updateLinkWithEvent(h.tdb.db, link.id, { show_metadata: false }, ['showMetadata']);
    for (const app of [a1, a2]) {
      await eventually(
        async () => !(await me(app, `/api/shared-links/me?key=${link.key}`)).body.includes('Visible name.jpg'),
        'the /me body rebuilt without the file name',
      );
    }
  });

  it('should stop serving an asset removed from the album without an event within the link cache TTL', async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '200' });
    const asset = await h.createAsset();
    const albumId = await h.createAlbum([asset.id]);
    const link = await h.createLink({ albumId });
    const url = `/share/${link.key}/assets/${asset.id}/thumbnail`;
    expect((await app.inject(url)).statusCode).toBe(200);
    await h.tdb.db.deleteFrom('album_assets').where('album_id', '=', albumId).execute();
    await eventually(async () => (await app.inject(url)).statusCode === 400, 'the removed asset refused');
  });

  it('should rebuild a cached /me on two replicas within 1 s of an album change, only through its event', async () => {
    // a minute of TTL: only the album.assets-added / album.assets-removed messages can make the changes visible
    const a1 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const a2 = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    h.startRelay();
    const first = await h.createAsset();
    const second = await h.createAsset();
    const albumId = await h.createAlbum([first.id]);
    const link = await h.createLink({ albumId });
    const url = `/api/shared-links/me?key=${link.key}`;
    const ids = async (app: FastifyInstance) =>
      ((await me(app, url)).json().assets as { id: string }[]).map((a) => a.id).sort();
    for (const app of [a1, a2]) expect(await ids(app)).toEqual([first.id]);

    // what PUT /api/albums/:id/assets does: the rows and album.assets-added in one transaction
    await addAssetsToAlbum(h.tdb.db, { userId: h.owner.id }, albumId, [second.id]);
    for (const app of [a1, a2]) {
      await eventually(async () => (await ids(app)).length === 2, 'the added asset listed by the cached /me', 1000);
      expect(await ids(app)).toEqual([first.id, second.id].sort());
    }

    await removeAssetsFromAlbum(h.tdb.db, { userId: h.owner.id }, albumId, 'owner', [first.id]);
    for (const app of [a1, a2]) {
      await eventually(async () => (await ids(app)).length === 1, 'the removed asset gone from /me', 1000);
      expect(await ids(app)).toEqual([second.id]);
      expect((await app.inject(`/share/${link.key}/assets/${first.id}/thumbnail`)).statusCode).toBe(400);
    }
  });

  it('should rebuild a cached /me when an asset it lists is trashed, and keep the bodies of other links', async () => {
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    h.startRelay();
    const kept = await h.createAsset();
    const trashed = await h.createAsset();
    const other = await h.createAsset();
    const link = await h.createLink({ albumId: await h.createAlbum([kept.id, trashed.id]) });
    const otherLink = await h.createLink({ assetIds: [other.id] });
    const bodyOf = async (key: string) => (await me(app, `/api/shared-links/me?key=${key}`)).json();
    expect((await bodyOf(link.key)).assets).toHaveLength(2);
    const otherBefore = await bodyOf(otherLink.key);
    await trashAssets(h.tdb.db, { type: 'user', id: h.owner.id }, [trashed.id]);
    await eventually(async () => (await bodyOf(link.key)).assets.length === 1, 'the trashed asset gone from /me');
    expect((await bodyOf(link.key)).assets[0].id).toBe(kept.id);
    // a link that does not show the asset keeps its body (same bytes: its counters were not rebuilt either)
    expect(await bodyOf(otherLink.key)).toEqual(otherBefore);
  });
});
