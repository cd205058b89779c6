import type { AssetRow } from '@immish/db';
import { renderCard } from '@immish/media';
import type { BlobStore } from '@immish/storage';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addPhoto, harnessStorage } from './browser-kit.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

/**
 * Issue 21 §8: the Open Graph card is a 1200×630 JPEG (≥ 1000 px wide) of the album's cover or first asset, or of
 * the photo on a photo page, with its width/height tags; a password link names none and its card is refused, even
 * once unlocked.
 */

let h: GatewayHarness;
let storage: BlobStore;
let photos: AssetRow[];

beforeAll(async () => {
  h = await startGateway({ PUBLIC_URL: 'http://share.test' });
  storage = harnessStorage(h);
  photos = [];
  for (let i = 0; i < 3; i++) photos.push(await addPhoto(h, storage, i, { width: 1600, height: 1200 }));
}, 60_000);

afterAll(async () => {
  await h?.close();
  await storage?.close();
});

const metaOf = (body: string) =>
  Object.fromEntries([...body.matchAll(/<meta property="(og:[a-z_:]+)" content="([^"]*)">/g)].map((m) => [m[1], m[2]]));

async function cardAt(url: string, cookie?: string) {
  const res = await h.app.inject({ url: new URL(url).pathname, headers: cookie ? { cookie } : {} });
  return res;
}

async function previewOf(asset: AssetRow): Promise<Buffer> {
  return Buffer.concat(await (await storage.get(asset.preview_key!)).toArray());
}

describe('Open Graph card', () => {
  it("should be a 1200×630 JPEG of the album's cover, tagged with its size", async () => {
    const albumId = await h.createAlbum(
      photos.map((p) => p.id),
      { name: 'Cards' },
    );
    const cover = photos[2]!;
    await h.tdb.db.updateTable('albums').set({ thumbnail_asset_id: cover.id }).where('id', '=', albumId).execute();
    const link = await h.createLink({ albumId });
    const page = await h.app.inject(`/share/${link.key}`);
    const og = metaOf(page.body);
    expect(og['og:image']).toBe(`http://share.test/share/${link.key}/og.jpg`);
    expect([og['og:image:type'], og['og:image:width'], og['og:image:height']]).toEqual(['image/jpeg', '1200', '630']);
    const res = await cardAt(og['og:image']!);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    const meta = await sharp(res.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 1200, 630]);
    expect(meta.width).toBeGreaterThanOrEqual(1000);
    expect(meta.exif).toBeUndefined();
    // cut from the cover's preview
    expect(res.rawPayload.equals(await renderCard(await previewOf(cover)))).toBe(true);
    // a second ask is answered from the same bytes, and revalidates
    const again = await h.app.inject({
      url: `/share/${link.key}/og.jpg`,
      headers: { 'if-none-match': String(res.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
  });

  it("should show a photo page's own photo", async () => {
    const link = await h.createLink({ assetIds: photos.map((p) => p.id) });
    const page = await h.app.inject(`/share/${link.key}/photos/${photos[1]!.id}`);
    const og = metaOf(page.body);
    expect(og['og:image']).toBe(`http://share.test/share/${link.key}/assets/${photos[1]!.id}/card.jpg`);
    const res = await cardAt(og['og:image']!);
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.equals(await renderCard(await previewOf(photos[1]!)))).toBe(true);
  });

  it('should name no image for a password link, and refuse its card locked or unlocked', async () => {
    const link = await h.createLink({ assetIds: photos.map((p) => p.id), password: 'open sesame' });
    const locked = await h.app.inject(`/share/${link.key}`);
    expect(locked.statusCode).toBe(401);
    expect(locked.body).not.toContain('og:image');
    expect((await h.app.inject(`/share/${link.key}/og.jpg`)).statusCode).toBe(401);
    const cookie = await h.unlock(link, 'open sesame');
    const unlocked = await h.app.inject({ url: `/share/${link.key}`, headers: { cookie } });
    expect(unlocked.statusCode).toBe(200);
    expect(unlocked.body).not.toContain('og:image');
    expect((await cardAt(`http://x/share/${link.key}/og.jpg`, cookie)).statusCode).toBe(404);
    const photoPage = await h.app.inject({ url: `/share/${link.key}/photos/${photos[0]!.id}`, headers: { cookie } });
    expect(photoPage.body).not.toContain('og:image');
    expect((await cardAt(`http://x/share/${link.key}/assets/${photos[0]!.id}/card.jpg`, cookie)).statusCode).toBe(404);
  });

  it('should answer 100 parallel first requests for a card with the same JPEG (rendered once, not per request)', async () => {
    const link = await h.createLink({ assetIds: [photos[0]!.id] });
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => h.app.inject(`/share/${link.key}/assets/${photos[0]!.id}/card.jpg`)),
    );
    expect(new Set(answers.map((a) => a.statusCode))).toEqual(new Set([200]));
    expect(new Set(answers.map((a) => a.rawPayload.toString('base64'))).size).toBe(1);
  });

  it('should refuse a card of an asset the link does not show', async () => {
    const link = await h.createLink({ assetIds: [photos[0]!.id] });
    // as every media route: Immich's "Not found or no access" (400), the same for a forged id and another's asset
    const other = await h.app.inject(`/share/${link.key}/assets/${photos[1]!.id}/card.jpg`);
    const forged = await h.app.inject(`/share/${link.key}/assets/${photos[1]!.id}/thumbnail`);
    expect([other.statusCode, other.json().message]).toEqual([forged.statusCode, forged.json().message]);
    expect(other.statusCode).toBe(400);
    expect((await h.app.inject(`/share/${link.key}/assets/not-a-uuid/card.jpg`)).statusCode).toBe(400);
  });
});
