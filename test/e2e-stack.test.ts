import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exifr from 'exifr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

// The whole product, end to end, as separate processes — what `npm start` runs — driven over HTTP like a client.
let stack: Stack;
const tmp = mkdtempSync(join(tmpdir(), 'immish-e2e-'));
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${stack.linksUrl}${path}`, {
    ...init,
    headers: {
      'x-api-key': stack.adminKey,
      ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });

/** A response body in the shape the test expects (fetch's `json()` is `unknown`). */
const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
interface Batch {
  status: string;
  items: { status: string }[];
}
interface Link {
  id: string;
  key: string;
  url: string;
}
interface ExportDto {
  id: string;
  status: string;
  error?: string;
  parts: { downloadUrl: string }[];
}

async function poll<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const photo = (i: number) =>
  sharp({ create: { width: 640 + i, height: 480, channels: 3, background: { r: 40 * i, g: 120, b: 200 } } })
    .jpeg()
    .withExif({
      IFD0: { Make: 'Immish', Model: `Cam ${i}` },
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 0/1', GPSLongitudeRef: 'E', GPSLongitude: '2/1 21/1 0/1' },
    })
    .toBuffer();

describe('the stack, end to end', () => {
  let albumId = '';
  let linkId = '';
  let key = '';
  let cookie = '';

  it('should ingest a batch of photos into an album', async () => {
    const album = await api('/api/albums', { method: 'POST', body: JSON.stringify({ albumName: 'Trip' }) });
    expect(album.status).toBe(201);
    albumId = (await json<{ id: string }>(album)).id;
    const form = new FormData();
    form.append('albumId', albumId);
    for (let i = 1; i <= 3; i++)
      form.append('files', new Blob([new Uint8Array(await photo(i))], { type: 'image/jpeg' }), `photo ${i}.jpg`);
    const res = await api('/api/upload-batches', { method: 'POST', body: form });
    expect(res.status).toBe(202);
    const batchId = (await json<{ id: string }>(res)).id;
    const done = await poll(async () => {
      const b = await json<Batch>(await api(`/api/upload-batches/${batchId}`));
      return b.status === 'completed' ? b : undefined;
    }, 'the batch to complete');
    expect(done.items.map((i) => i.status)).toEqual(['ready', 'ready', 'ready']);
  });

  it('should protect a password link on every request and unlock it with the password', async () => {
    const res = await api('/api/shared-links', {
      method: 'POST',
      body: JSON.stringify({
        type: 'ALBUM',
        albumId,
        password: 'correct horse',
        showMetadata: false,
        allowDownload: true,
      }),
    });
    expect(res.status).toBe(201);
    const link = await json<Link>(res);
    linkId = link.id;
    key = link.key;
    expect(link.url).toBe(`${stack.gatewayUrl}/share/${key}`);
    const locked = await fetch(`${stack.gatewayUrl}/api/shared-links/me?key=${key}`);
    expect(locked.status).toBe(401);
    expect((await json<{ message: string }>(locked)).message).toBe('Password required');
    const wrong = await fetch(`${stack.gatewayUrl}/api/shared-links/login?key=${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'nope' }),
    });
    expect(wrong.status).toBe(401);
    const login = await fetch(`${stack.gatewayUrl}/api/shared-links/login?key=${key}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'correct horse' }),
    });
    expect(login.status).toBe(201);
    cookie = (login.headers.getSetCookie() ?? []).map((c) => c.split(';')[0]).join('; ');
    expect(cookie).not.toBe('');
  });

  it('should serve the album without metadata to the recipient', async () => {
    const me = await fetch(`${stack.gatewayUrl}/api/shared-links/me?key=${key}`, { headers: { cookie } });
    expect(me.status).toBe(200);
    const body = await me.text();
    expect(body).not.toMatch(/photo \d\.jpg|Immish|Cam \d|latitude":\s*\d/);
    const page = await json<{ total: number; items: { id: string }[] }>(
      await fetch(`${stack.gatewayUrl}/share/${key}/assets?page=1&size=50`, { headers: { cookie } }),
    );
    expect(page.total).toBe(3);
    const assetId = page.items[0]!.id;
    const thumb = await fetch(`${stack.gatewayUrl}/share/${key}/assets/${assetId}/thumbnail`, { headers: { cookie } });
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toMatch(/image\/webp/);
    const original = await fetch(`${stack.gatewayUrl}/share/${key}/assets/${assetId}/original`, {
      headers: { cookie },
    });
    expect(original.status).toBe(200);
    const bytes = Buffer.from(await original.arrayBuffer());
    expect(await sharp(bytes).metadata()).toMatchObject({ format: 'jpeg' });
    const exif = await exifr.parse(bytes, { gps: true }).catch(() => null);
    expect(exif?.latitude).toBeUndefined();
    expect(exif?.Make).toBeUndefined();
  });

  it('should build a download-all archive in the background and serve it', async () => {
    const res = await fetch(`${stack.gatewayUrl}/share/${key}/exports`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(202);
    const exp = await json<ExportDto>(res);
    const ready = await poll(async () => {
      const e = await json<ExportDto>(
        await fetch(`${stack.gatewayUrl}/share/${key}/exports/${exp.id}`, { headers: { cookie } }),
      );
      if (e.status === 'failed') throw new Error(`export failed: ${e.error}`);
      return e.status === 'ready' ? e : undefined;
    }, 'the export');
    expect(ready.parts).toHaveLength(1);
    const url = new URL(ready.parts[0]!.downloadUrl, stack.gatewayUrl);
    const zip = await fetch(url, { headers: { cookie } });
    expect(zip.status).toBe(200);
    const file = join(tmp, 'all.zip');
    writeFileSync(file, Buffer.from(await zip.arrayBuffer()));
    execFileSync('unzip', ['-tq', file]);
    const names = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toHaveLength(3);
    for (const n of names) expect(n).toMatch(/^[0-9a-f-]{36}\.jpg$/); // showMetadata=false: names are asset ids
  });

  it('should stop serving a deleted link within a second or so', async () => {
    const del = await api(`/api/shared-links/${linkId}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    await poll(
      async () => {
        const r = await fetch(`${stack.gatewayUrl}/api/shared-links/me?key=${key}`, { headers: { cookie } });
        return r.status === 401 ? true : undefined;
      },
      'the link to stop working',
      5000,
    );
  });

  // issue 12 item 11: the public ports answer plain liveness/readiness only; metrics and the detail of readiness
  // (which backing service, why) are on each HTTP service's internal port (LINKS_API_/GATEWAY_METRICS_PORT)
  it("should keep operators' data off the public ports", async () => {
    for (const p of [...stack.procs.values()].filter((x) => x.name === 'links-api' || x.name === 'share-gateway')) {
      const pub = `http://127.0.0.1:${p.port}`;
      const ops = `http://127.0.0.1:${p.opsPort}`;
      expect(p.opsPort, p.name).not.toBe(p.port);
      expect((await fetch(`${pub}/metrics`)).status, `${p.name} public /metrics`).toBe(404);
      const ready = await fetch(`${pub}/health/ready`);
      expect(ready.status, p.name).toBe(200);
      expect(await ready.json(), p.name).toEqual({ status: 'ok' });
      expect((await fetch(`${pub}/health/live`)).status, p.name).toBe(200);

      const detailed = await fetch(`${ops}/health/ready`);
      expect(detailed.status, p.name).toBe(200);
      expect(await detailed.json(), p.name).toMatchObject({
        status: 'ok',
        checks: { postgres: 'ok', redis: 'ok', storage: 'ok' },
      });
      const scrape = await fetch(`${ops}/metrics`);
      expect(scrape.status, p.name).toBe(200);
      const text = await scrape.text();
      // the public port's traffic is what the internal port reports
      expect(text, p.name).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/health\/ready"/);
      expect(text, p.name).toMatch(/outbox_lag_seconds/);
    }
  });

  it('should stop every service cleanly on SIGTERM (exit 0)', async () => {
    const procs = [...stack.procs.values()];
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((res) => {
            p.child.once('exit', () => res());
            p.child.kill('SIGTERM');
          }),
      ),
    );
    for (const p of procs) expect({ name: p.name, code: p.child.exitCode }).toEqual({ name: p.name, code: 0 });
  });
});
