import exifr from 'exifr';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../src/security-headers.ts';
import { eventually, type GatewayHarness, jpegWithExif, startGateway } from './harness.ts';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

describe('GET /share/:key/assets/:assetId/thumbnail|preview', () => {
  it('should serve derivatives with long private caching and ETag revalidation', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id] });
    const thumb = await h.app.inject(`/share/${link.key}/assets/${asset.id}/thumbnail`);
    expect(thumb.statusCode).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/webp');
    expect(thumb.headers['cache-control']).toBe('private, max-age=31536000, immutable');
    expect(thumb.rawPayload.subarray(8, 12).toString()).toBe('WEBP');
    const again = await h.app.inject({
      url: `/share/${link.key}/assets/${asset.id}/thumbnail`,
      headers: { 'if-none-match': String(thumb.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    const preview = await h.app.inject(`/share/${link.key}/assets/${asset.id}/preview`);
    expect(preview.headers['content-type']).toBe('image/jpeg');
    // Immich's forms
    const immich = await h.app.inject(`/api/assets/${asset.id}/thumbnail?key=${link.key}`);
    expect(immich.rawPayload).toEqual(thumb.rawPayload);
    const fullsize = await h.app.inject(`/api/assets/${asset.id}/thumbnail?key=${link.key}&size=fullsize`);
    expect(fullsize.rawPayload).toEqual(preview.rawPayload);
  });

  it('should answer the same from memory once cached, and still refuse what the checks refuse', async () => {
    const asset = await h.createAsset();
    const other = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id, other.id], password: 'pw' });
    const otherLink = await h.createLink({ assetIds: [asset.id], password: 'pw2' });
    // a long cache TTL: what is refused is refused by the checks, not by the cache expiring
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const cookie = await h.unlock(link, 'pw', app);
    const url = `/share/${link.key}/assets/${asset.id}/thumbnail`;
    const cold = await app.inject({ url, headers: { cookie } });
    const warm = await app.inject({ url, headers: { cookie } }); // link, unlock, asset and bytes in memory
    expect(cold.statusCode).toBe(200);
    expect(warm.statusCode).toBe(200);
    expect(warm.rawPayload).toEqual(cold.rawPayload);
    const { 'x-correlation-id': _a, date: _b, ...coldHeaders } = cold.headers;
    const { 'x-correlation-id': _c, date: _d, ...warmHeaders } = warm.headers;
    expect(warmHeaders).toEqual(coldHeaders);
    const preview = `/share/${link.key}/assets/${asset.id}/preview`;
    await app.inject({ url: preview, headers: { cookie } });
    const warmPreview = await app.inject({ url: preview, headers: { cookie } });
    expect(warmPreview.headers['content-disposition']).toMatch(/^inline; filename=/);
    const notModified = await app.inject({ url, headers: { cookie, 'if-none-match': String(warm.headers.etag) } });
    expect(notModified.statusCode).toBe(304);
    // the same warm URL without the unlock, or with another link's unlock
    expect((await app.inject({ url })).json().message).toBe('Password required');
    const otherCookie = await h.unlock(otherLink, 'pw2', app);
    expect((await app.inject({ url, headers: { cookie: otherCookie } })).json().message).toBe('Password required');
    // the other link's cached asset is not this link's
    await app.inject({
      url: `/share/${otherLink.key}/assets/${asset.id}/thumbnail`,
      headers: { cookie: otherCookie },
    });
    const foreign = await app.inject({
      url: `/share/${otherLink.key}/assets/${other.id}/thumbnail`,
      headers: { cookie: otherCookie },
    });
    expect(foreign.statusCode).toBe(400);
  });

  it('should stop answering from memory when the cached link expires', async () => {
    // the clock is moved past the expiry, not waited for: only Date is faked (timers, sockets and the database
    // keep real time), and before the app is built, so the gateway's clock is the faked one
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    try {
      const asset = await h.createAsset();
      const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
      const expiresAt = new Date(Date.now() + 30_000); // within the cache TTL
      const link = await h.createLink({ assetIds: [asset.id], expiresAt });
      const url = `/share/${link.key}/assets/${asset.id}/thumbnail`;
      expect((await app.inject(url)).statusCode).toBe(200);
      expect((await app.inject(url)).statusCode).toBe(200); // from memory
      vi.setSystemTime(expiresAt.getTime() - 1000);
      expect((await app.inject(url)).statusCode).toBe(200); // still from memory, a second before the expiry
      vi.setSystemTime(expiresAt.getTime() + 1);
      const expired = await app.inject(url);
      expect(expired.statusCode).toBe(401);
      expect(expired.json().message).toBe('Invalid share key');
    } finally {
      vi.useRealTimers();
    }
  });

  it('should answer 404 while a derivative is not ready, 400 for assets outside the link or malformed ids', async () => {
    const pending = await h.createAsset({ derivatives: false });
    const other = await h.createAsset();
    const link = await h.createLink({ assetIds: [pending.id] });
    expect((await h.app.inject(`/share/${link.key}/assets/${pending.id}/thumbnail`)).statusCode).toBe(404);
    const outside = await h.app.inject(`/share/${link.key}/assets/${other.id}/thumbnail`);
    expect(outside.statusCode).toBe(400);
    expect(outside.json().message).toBe('Asset not found in this shared link');
    expect((await h.app.inject(`/share/${link.key}/assets/not-a-uuid/thumbnail`)).statusCode).toBe(400);
    expect((await h.app.inject(`/share/${link.key}/assets/${pending.id}/sideways`)).statusCode).toBe(400);
    expect((await h.app.inject(`/api/assets/${other.id}/original?key=${link.key}`)).statusCode).toBe(400);
  });
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must be absent
const UNSAFE_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]/;

describe('GET /share/:key/assets/:assetId/original', () => {
  it('should serve the original with ETag, Range and a download count once complete', async () => {
    const asset = await h.createAsset({ fileName: 'Beach day.jpg' });
    const link = await h.createLink({ assetIds: [asset.id] });
    const url = `/share/${link.key}/assets/${asset.id}/original`;
    const head = await h.app.inject({ method: 'HEAD', url });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(asset.size));
    const full = await h.app.inject(url);
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-length']).toBe(String(asset.size));
    expect(full.headers['accept-ranges']).toBe('bytes');
    expect(full.headers['content-disposition']).toContain("filename*=UTF-8''Beach%20day.jpg");
    const etag = String(full.headers.etag);
    expect((await h.app.inject({ url, headers: { 'if-none-match': etag } })).statusCode).toBe(304);
    const part = await h.app.inject({ url, headers: { range: 'bytes=0-9' } });
    expect(part.statusCode).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 0-9/${asset.size}`);
    expect(part.rawPayload).toEqual(full.rawPayload.subarray(0, 10));
    const tail = await h.app.inject({ url, headers: { range: 'bytes=-5' } });
    expect(tail.rawPayload).toEqual(full.rawPayload.subarray(-5));
    const beyond = await h.app.inject({ url, headers: { range: `bytes=${asset.size}-` } });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${asset.size}`);
    const staleIfRange = await h.app.inject({ url, headers: { range: 'bytes=0-9', 'if-range': '"old"' } });
    expect(staleIfRange.statusCode).toBe(200);
    // full download, the tail range (reaches the last byte) and the stale If-Range full answer count; HEAD and 0-9 do not
    await eventually(async () => (await h.counters(link.id)).download === 3, 'three downloads counted');
    expect((await h.counters(link.id)).download).toBe(3);
  });

  it('should strip bidi and other control characters from download names (filename and filename*)', async () => {
    // issue 12 item 12: `photo\u202Egpj.exe` would be saved as a file that displays as `photo.exe.jpg`
    const asset = await h.createAsset({ fileName: 'invoice\u202Egpj\u200F\u2066x\u061C\u0007.jpg' });
    const link = await h.createLink({ assetIds: [asset.id] });
    for (const kind of ['original', 'preview']) {
      const res = await h.app.inject(`/share/${link.key}/assets/${asset.id}/${kind}`);
      expect(res.statusCode).toBe(200);
      const header = String(res.headers['content-disposition']);
      const extended = decodeURIComponent(/filename\*=UTF-8''([^;]*)/.exec(header)?.[1] ?? '');
      expect({
        kind,
        header,
        bad: UNSAFE_IN_NAMES.test(extended),
      }).toEqual({
        kind,
        header,
        bad: false,
      });
      expect(extended.startsWith('invoicegpjx')).toBe(true);
    }
  });

  it('should refuse originals with 403 when downloads are disabled, but serve previews', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id], allowDownload: false });
    const res = await h.app.inject(`/share/${link.key}/assets/${asset.id}/original`);
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/Downloads are disabled/);
    expect((await h.app.inject(`/api/assets/${asset.id}/thumbnail?key=${link.key}&size=original`)).statusCode).toBe(
      403,
    );
    expect((await h.app.inject(`/share/${link.key}/assets/${asset.id}/preview`)).statusCode).toBe(200);
  });

  it('should strip EXIF and GPS from originals when the link hides metadata, named by asset id', async () => {
    const bytes = await jpegWithExif();
    expect((await exifr.parse(bytes, { gps: true }))?.latitude).toBeCloseTo(48.85, 1);
    const asset = await h.createAsset({ bytes, fileName: 'Secret beach.jpg' });
    const link = await h.createLink({ assetIds: [asset.id], showMetadata: false });
    const res = await h.app.inject(`/share/${link.key}/assets/${asset.id}/original`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['content-disposition']).toContain(`${asset.id}.jpg`);
    expect(res.headers['content-disposition']).not.toContain('Secret');
    const exif = await exifr.parse(res.rawPayload, { gps: true }).catch(() => undefined);
    expect(exif?.latitude).toBeUndefined();
    expect(exif?.Make).toBeUndefined();
    expect(res.rawPayload.includes(Buffer.from('SecretCam'))).toBe(false);
    await eventually(async () => (await h.counters(link.id)).download === 1, 'the download counted');
  });

  it('should refuse an original that cannot be stripped (TIFF, WebM, …) with 403 and offer the preview', async () => {
    const heic = await h.createAsset({ bytes: Buffer.from('not really tiff'), mime: 'image/tiff', fileName: 'a.tif' });
    const link = await h.createLink({ assetIds: [heic.id], showMetadata: false });
    const res = await h.app.inject(`/share/${link.key}/assets/${heic.id}/original`);
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/cannot be shared without its metadata; download the preview instead/);
    expect((await h.app.inject(`/share/${link.key}/assets/${heic.id}/preview`)).statusCode).toBe(200);
  });
});

describe('security headers', () => {
  it('should put CSP, nosniff, no-referrer, DENY and COOP on every response, errors included', async () => {
    const asset = await h.createAsset();
    const link = await h.createLink({ assetIds: [asset.id] });
    for (const url of [
      `/api/shared-links/me?key=${link.key}`,
      `/share/${link.key}/assets/${asset.id}/thumbnail`,
      '/api/shared-links/me?key=nope',
      '/no/such/route',
      `/share/${link.key}`,
    ]) {
      const res = await h.app.inject(url);
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    const meRes = await h.app.inject(`/api/shared-links/me?key=${link.key}`);
    expect(meRes.headers['cache-control']).toBe('no-store');
  });
});
