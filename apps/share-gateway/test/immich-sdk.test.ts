import {
  downloadAsset,
  getMySharedLink,
  init,
  isHttpError,
  sharedLinkLogin,
  uploadAsset,
  viewAsset,
} from '@immich/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectImmichResponse } from '../../links-api/test/immich-conformance.ts';
import { type GatewayHarness, jpegWithExif, startGateway } from './harness.ts';

/**
 * Immich's own client (`@immich/sdk`) against a real gateway on a real port: the recipient operations
 * (getMySharedLink, sharedLinkLogin, viewAsset, downloadAsset, uploadAsset with `key`), and their bodies
 * validated against Immich's published OpenAPI document.
 */
let h: GatewayHarness;
let base: string;
beforeAll(async () => {
  h = await startGateway();
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
  // recipients have no API key: the SDK sends the link key per call (`key`), so the key option is empty
  init({ baseUrl: `${base}/api`, apiKey: '' });
});
afterAll(async () => {
  await h?.close();
});

describe('@immich/sdk against the gateway', () => {
  it('should read an album link with getMySharedLink (key and slug), conforming to SharedLinkResponseDto', async () => {
    const assets = [await h.createAsset(), await h.createAsset()];
    const albumId = await h.createAlbum(
      assets.map((a) => a.id),
      { name: 'SDK album' },
    );
    const link = await h.createLink({ albumId, slug: 'sdk-album' });
    const byKey = await getMySharedLink({ key: link.key });
    expect(byKey.album?.albumName).toBe('SDK album');
    expect(byKey.assets.map((a) => a.id).sort()).toEqual(assets.map((a) => a.id).sort());
    expect((await getMySharedLink({ slug: 'sdk-album' })).id).toBe(link.id);
    expectImmichResponse('GET', '/shared-links/me', 200, byKey);
    const hidden = await h.createLink({ albumId, showMetadata: false });
    expectImmichResponse('GET', '/shared-links/me', 200, await getMySharedLink({ key: hidden.key }));
  });

  it('should unlock with sharedLinkLogin and refuse without the cookie', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id], password: 'sdk-pw' });
    const locked = await getMySharedLink({ key: link.key }).catch((e) => e);
    expect(isHttpError(locked) && locked.status).toBe(401);
    expect(isHttpError(locked) && locked.data.message).toBe('Password required');
    const wrong = await sharedLinkLogin({ key: link.key, sharedLinkLoginDto: { password: 'nope' } }).catch((e) => e);
    expect(isHttpError(wrong) && wrong.status).toBe(401);
    const res = await fetch(`${base}/api/shared-links/login?key=${link.key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'sdk-pw' }),
    });
    expect(res.status).toBe(201);
    expectImmichResponse('POST', '/shared-links/login', 201, await res.json());
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const me = await getMySharedLink({ key: link.key }, { headers: { cookie } });
    expect(me.assets.map((a) => a.id)).toEqual([asset.id]);
    const dto = await sharedLinkLogin({ key: link.key, sharedLinkLoginDto: { password: 'sdk-pw' } });
    expect(dto.id).toBe(link.id);
  });

  it('should serve viewAsset and downloadAsset with the key', async () => {
    const bytes = await jpegWithExif();
    const asset = await h.createAsset({ bytes });
    const link = await h.createLink({ assetIds: [asset.id] });
    const thumb = await viewAsset({ id: asset.id, key: link.key });
    expect(thumb.type).toBe('image/webp');
    const preview = await viewAsset({ id: asset.id, key: link.key, size: 'preview' as never });
    expect(preview.type).toBe('image/jpeg');
    const original = Buffer.from(await (await downloadAsset({ id: asset.id, key: link.key })).arrayBuffer());
    expect(original.equals(bytes)).toBe(true);
  });

  it('should accept uploadAsset through a link that allows uploads', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id], allowUpload: true });
    const file = new Blob([new Uint8Array(await jpegWithExif({ r: 1, g: 200, b: 1 }))], { type: 'image/jpeg' });
    const res = await uploadAsset({
      key: link.key,
      assetMediaCreateDto: {
        assetData: file,
        fileCreatedAt: '2024-05-01T10:00:00.000Z',
        fileModifiedAt: '2024-05-01T10:00:00.000Z',
        filename: 'from-sdk.jpg',
      } as never,
    });
    expect(res.status).toBe('created');
    expectImmichResponse('POST', '/assets', 201, res);
    const closed = await h.createLink({ assetIds: [a.id] });
    const refused = await uploadAsset({
      key: closed.key,
      assetMediaCreateDto: {
        assetData: file,
        fileCreatedAt: '2024-05-01T10:00:00.000Z',
        fileModifiedAt: '2024-05-01T10:00:00.000Z',
      } as never,
    }).catch((e) => e);
    expect(isHttpError(refused) && refused.status).toBe(401);
  });
});
