import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncodedBody, negotiateCoding } from '../src/encoded-body.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

describe('negotiateCoding (Accept-Encoding)', () => {
  it.each([
    [undefined, 'identity'],
    ['', 'identity'],
    ['gzip, deflate, br, zstd', 'br'], // what Chromium sends
    ['gzip', 'gzip'], // Dart's HttpClient (Immich's mobile app)
    ['GZIP;q=0.5', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', 'identity'],
    ['x-gzip', 'gzip'],
    ['*', 'br'],
    ['*;q=0, gzip', 'gzip'],
    ['identity', 'identity'],
    ['deflate', 'identity'],
    [['gzip', 'br;q=0'], 'gzip'],
  ] as const)('%j → %s', (header, coding) => {
    expect(negotiateCoding(header as string | string[] | undefined)).toBe(coding);
  });
});

describe('EncodedBody', () => {
  it('should compress once and give back bytes that decode to the original', async () => {
    const json = Buffer.from(JSON.stringify({ items: Array.from({ length: 500 }, (_, i) => ({ id: i, n: 'x' })) }));
    const body = new EncodedBody(json);
    const br = await body.encoded('br');
    const again = await body.encoded('gzip, br');
    expect(again.bytes).toBe(br.bytes); // the same buffer: made once
    expect(brotliDecompressSync(br.bytes).equals(json)).toBe(true);
    const gz = await body.encoded('gzip');
    expect(gz.coding).toBe('gzip');
    expect(gunzipSync(gz.bytes).equals(json)).toBe(true);
    expect(gz.bytes.length).toBeLessThan(json.length / 5);
  });

  it('should not compress small bodies', async () => {
    const small = new EncodedBody(Buffer.from('{"a":1}'));
    expect(await small.encoded('br')).toEqual({ coding: 'identity', bytes: small.identity });
  });
});

describe('GET /api/shared-links/me compression', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await startGateway();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('should answer the same JSON compressed for clients that accept it, and plain for those that do not', async () => {
    const assets = [];
    for (let i = 0; i < 12; i++) assets.push(await h.createAsset());
    const link = await h.createLink({ albumId: await h.createAlbum(assets.map((a) => a.id)) });
    const url = `/api/shared-links/me?key=${link.key}`;
    // a long cache TTL: the three requests get the one cached body (its view counters would differ otherwise)
    const app = await h.newApp({ LINK_CACHE_TTL_MS: '60000' });
    const plain = await app.inject({ url });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('accept-encoding');
    expect(plain.json().assets).toHaveLength(12);

    const br = await app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(br.headers['content-length'])).toBe(br.rawPayload.length);
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length);
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString())).toEqual(plain.json());

    const gz = await app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString())).toEqual(plain.json());
  });

  it('should count every view, compressed or not', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const url = `/api/shared-links/me?key=${link.key}`;
    await h.app.inject({ url });
    await h.app.inject({ url, headers: { 'accept-encoding': 'br' } });
    await h.app.inject({ url, headers: { 'accept-encoding': 'gzip' } });
    expect((await h.counters(link.id)).view).toBe(3);
  });
});
