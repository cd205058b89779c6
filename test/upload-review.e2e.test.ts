import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MaintenanceJobs, Queues, queuePrefix } from '@immish/contracts';
import { createDb, createPool, type Db } from '@immish/db';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './support/stack.ts';

// Guest-upload moderation (issue 19 items 3–4, README "Guest-upload moderation"), end to end through the real
// gateway, links-api, ingest worker and export worker, as separate processes driven over HTTP.
let stack: Stack;
let db: Db;
let closeDb: () => Promise<void>;
const tmp = mkdtempSync(join(tmpdir(), 'immish-review-'));
beforeAll(async () => {
  stack = await startStack();
  const pool = createPool({ connectionString: stack.tdb.url });
  db = createDb(pool);
  closeDb = () => db.destroy();
}, 120_000);
afterAll(async () => {
  await closeDb?.();
  await stack?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const api = (path: string, init: RequestInit = {}, key = stack.adminKey) =>
  fetch(`${stack.linksUrl}${path}`, {
    ...init,
    headers: {
      'x-api-key': key,
      ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });
const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
const post = (path: string, body: unknown, key?: string) =>
  api(path, { method: 'POST', body: JSON.stringify(body) }, key);

async function poll<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const photo = (i: number) =>
  sharp({ create: { width: 320 + i, height: 240, channels: 3, background: { r: 30 * i, g: 90, b: 160 } } })
    .jpeg()
    .toBuffer();

interface Link {
  id: string;
  key: string;
  userId: string;
  uploadReview?: boolean;
  maxUploadBytes?: number | null;
  uploadBytes?: number;
}
interface Upload {
  assetId: string;
  status: string;
  bytes: number;
  thumbnailUrl: string | null;
}
interface Problem {
  statusCode: number;
  message: string;
}

/** Every file the storage holds under an asset's prefix (original, thumbnail, preview…). */
const filesOf = (ownerId: string, assetId: string) => {
  const dir = join(stack.storageRoot, 'assets', ownerId, assetId);
  return existsSync(dir) ? readdirSync(dir) : [];
};

describe('guest-upload moderation, end to end', () => {
  let albumId = '';
  let link: Link;
  let pending: Upload[] = [];
  const viewer = { id: '', key: '' };

  it('should create a reviewed album link (immish options in the response) and an album viewer', async () => {
    const album = await post('/api/albums', { albumName: 'Wedding' });
    expect(album.status).toBe(201);
    albumId = (await json<{ id: string }>(album)).id;
    const form = new FormData();
    form.append('albumId', albumId);
    form.append('files', new Blob([new Uint8Array(await photo(0))], { type: 'image/jpeg' }), 'owner.jpg');
    const batch = await api('/api/upload-batches', { method: 'POST', body: form });
    expect(batch.status).toBe(202);
    await poll(async () => {
      const a = await json<{ assetCount: number }>(await api(`/api/albums/${albumId}`));
      return a.assetCount === 1 ? a : undefined;
    }, "the owner's photo in the album");

    const res = await post('/api/shared-links', { type: 'ALBUM', albumId, allowUpload: true, uploadReview: true });
    expect(res.status).toBe(201);
    link = await json<Link>(res);
    expect(link).toMatchObject({ uploadReview: true, maxUploadBytes: null, uploadBytes: 0 });

    const user = await post('/api/admin/users', { email: 'viewer@example.com', name: 'Viewer', password: 'pw-viewer' });
    expect(user.status).toBe(201);
    viewer.id = (await json<{ id: string }>(user)).id;
    const key = await post(`/api/admin/users/${viewer.id}/api-keys`, { name: 'viewer' });
    expect(key.status).toBe(201);
    viewer.key = (await json<{ secret: string }>(key)).secret;
    const added = await api(`/api/albums/${albumId}/users`, {
      method: 'PUT',
      body: JSON.stringify({ albumUsers: [{ userId: viewer.id, role: 'viewer' }] }),
    });
    expect(added.status).toBe(200);
  });

  it('should keep 3 guest uploads pending: stored and ingested, but seen by no recipient, viewer or export', async () => {
    const form = new FormData();
    for (let i = 1; i <= 3; i++) {
      form.append('files', new Blob([new Uint8Array(await photo(i))], { type: 'image/jpeg' }), `guest ${i}.jpg`);
    }
    const up = await fetch(`${stack.gatewayUrl}/share/${link.key}/uploads`, {
      method: 'POST',
      body: form,
      headers: { accept: 'application/json' },
    });
    expect(up.status).toBe(202);
    const batch = await json<{ items: { status: string; assetId: string | null }[] }>(up);
    expect(batch.items.map((i) => i.status).every((s) => s !== 'failed')).toBe(true);

    // the owner's queue: 3 pending, with thumbnails the owner can load once the ingest worker has made them
    pending = await poll(async () => {
      const list = await json<Upload[]>(await api(`/api/shared-links/${link.id}/uploads?status=pending`));
      return list.length === 3 && list.every((u) => u.thumbnailUrl) ? list : undefined;
    }, 'three ingested pending uploads');
    for (const u of pending) {
      const thumb = await api(u.thumbnailUrl!);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toMatch(/image\/webp/);
      expect(u.bytes).toBeGreaterThan(0);
    }
    const ids = pending.map((u) => u.assetId);

    // a second recipient (a new client, no cookie): the album shows only the owner's photo
    const me = await fetch(`${stack.gatewayUrl}/api/shared-links/me?key=${link.key}`);
    expect(me.status).toBe(200);
    const meBody = await me.text();
    for (const id of ids) expect(meBody).not.toContain(id);
    const page = await json<{ total: number; items: { id: string }[] }>(
      await fetch(`${stack.gatewayUrl}/share/${link.key}/assets?page=1&size=50`),
    );
    expect(page.total).toBe(1);
    for (const id of ids) {
      for (const what of ['thumbnail', 'original']) {
        const r = await fetch(`${stack.gatewayUrl}/share/${link.key}/assets/${id}/${what}`);
        expect(r.status, `${what} of a pending upload`).toBeGreaterThanOrEqual(400);
      }
    }
    const html = await (await fetch(`${stack.gatewayUrl}/share/${link.key}`)).text();
    for (const id of ids) expect(html).not.toContain(id);
    expect(html).toContain('id="upload-review"');
    expect(html).toContain('Uploads wait for the owner');

    // the album viewer (a second user, over the albums API)
    const asViewer = await api(`/api/albums/${albumId}`, {}, viewer.key);
    expect(asViewer.status).toBe(200);
    expect((await json<{ assetCount: number }>(asViewer)).assetCount).toBe(1);
    const viewerAssets = await json<{ total: number; items: { id: string }[] }>(
      await api(`/api/albums/${albumId}/assets?page=1&size=50`, {}, viewer.key),
    );
    expect(viewerAssets.total).toBe(1);
    for (const id of ids) expect(viewerAssets.items.map((a) => a.id)).not.toContain(id);
    for (const id of ids) {
      expect((await api(`/api/assets/${id}/thumbnail`, {}, viewer.key)).status).toBeGreaterThanOrEqual(400);
    }

    // a recipient's export archive holds the owner's photo only
    const exp = await fetch(`${stack.gatewayUrl}/share/${link.key}/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(exp.status).toBe(202);
    const { id: exportId } = await json<{ id: string }>(exp);
    const ready = await poll(async () => {
      const e = await json<{ status: string; error?: string; parts: { downloadUrl: string }[] }>(
        await fetch(`${stack.gatewayUrl}/share/${link.key}/exports/${exportId}`),
      );
      if (e.status === 'failed') throw new Error(`export failed: ${e.error}`);
      return e.status === 'ready' ? e : undefined;
    }, 'the export');
    const zip = await fetch(new URL(ready.parts[0]!.downloadUrl, stack.gatewayUrl));
    expect(zip.status).toBe(200);
    const file = join(tmp, 'all.zip');
    writeFileSync(file, Buffer.from(await zip.arrayBuffer()));
    const names = execFileSync('unzip', ['-Z1', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual(['owner.jpg']);
  });

  it("should answer another owner's link as missing, and refuse foreign or decided ids", async () => {
    const foreign = await post(
      `/api/shared-links/${link.id}/uploads/approve`,
      { assetIds: [pending[0]!.assetId] },
      viewer.key,
    );
    expect(foreign.status).toBe(400);
    const missing = await post('/api/shared-links/00000000-0000-4000-8000-000000000000/uploads/approve', {
      assetIds: [pending[0]!.assetId],
    });
    expect(missing.status).toBe(foreign.status);
    expect((await json<Problem>(missing)).message).toBe((await json<Problem>(foreign)).message);
    expect((await api(`/api/shared-links/${link.id}/uploads`, {}, viewer.key)).status).toBe(400);
    const notOurs = await post(`/api/shared-links/${link.id}/uploads/reject`, {
      assetIds: ['00000000-0000-4000-8000-000000000001'],
    });
    expect(notOurs.status).toBe(404);
    expect(await json<Problem>(notOurs)).toMatchObject({
      statusCode: 404,
      message: expect.stringContaining('Not uploads of this link'),
    });
  });

  it('should place the 2 approved uploads in the album and delete the rejected one from storage, with events', async () => {
    const [a, b, c] = pending.map((u) => u.assetId) as [string, string, string];
    expect(filesOf(link.userId, c).length).toBeGreaterThanOrEqual(2); // original + derivatives before
    const approved = await post(`/api/shared-links/${link.id}/uploads/approve`, { assetIds: [a, b] });
    expect(approved.status).toBe(200);
    expect(await json(approved)).toEqual({ status: 'approved', assetIds: [a, b] });
    const rejected = await post(`/api/shared-links/${link.id}/uploads/reject`, { assetIds: [c] });
    expect(rejected.status).toBe(200);

    const again = await post(`/api/shared-links/${link.id}/uploads/approve`, { assetIds: [a] });
    expect(again.status).toBe(400);
    expect((await json<Problem>(again)).message).toMatch(/Not pending/);

    const album = await json<{ total: number; items: { id: string; originalFileName: string }[] }>(
      await api(`/api/albums/${albumId}/assets?page=1&size=50`),
    );
    expect(album.total).toBe(3);
    const guests = album.items.filter((x) => x.originalFileName !== 'owner.jpg').map((x) => x.id);
    expect(guests.sort()).toEqual([a, b].sort());
    expect((await api(`/api/assets/${c}`)).status).toBe(400);
    expect(filesOf(link.userId, c)).toEqual([]);
    expect(filesOf(link.userId, a).length).toBeGreaterThanOrEqual(2);

    // the recipient and the viewer now see the approved two
    const page = await poll(async () => {
      const p = await json<{ total: number; items: { id: string }[] }>(
        await fetch(`${stack.gatewayUrl}/share/${link.key}/assets?page=1&size=50`),
      );
      return p.total === 3 ? p : undefined;
    }, 'the approved uploads on the share page');
    expect(page.items.map((i) => i.id)).toEqual(expect.arrayContaining([a, b]));
    expect(page.items.map((i) => i.id)).not.toContain(c);
    const viewerAlbum = await json<{ total: number }>(
      await api(`/api/albums/${albumId}/assets?page=1&size=50`, {}, viewer.key),
    );
    expect(viewerAlbum.total).toBe(3);

    const lists = async (status: string) =>
      (await json<Upload[]>(await api(`/api/shared-links/${link.id}/uploads?status=${status}`))).map((u) => u.assetId);
    expect(await lists('pending')).toEqual([]);
    expect((await lists('approved')).sort()).toEqual([a, b].sort());
    expect(await lists('rejected')).toEqual([c]);

    const events = await db
      .selectFrom('outbox_events')
      .select(['type', 'payload'])
      .where('aggregate_id', '=', link.id)
      .where('type', 'in', ['shared-link.upload-approved', 'shared-link.upload-rejected'])
      .orderBy('occurred_at')
      .execute();
    expect(events.map((e) => [e.type, (e.payload as { data: { assetIds: string[] } }).data.assetIds])).toEqual([
      ['shared-link.upload-approved', [a, b]],
      ['shared-link.upload-rejected', [c]],
    ]);
    const added = await db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', albumId)
      .where('type', '=', 'album.assets-added')
      .execute();
    expect(added.some((e) => JSON.stringify(e.payload).includes(a))).toBe(true);
  });

  it('should remove pending uploads past UPLOAD_REVIEW_TTL_DAYS through the maintenance job, like a rejection', async () => {
    const form = new FormData();
    form.append('files', new Blob([new Uint8Array(await photo(7))], { type: 'image/jpeg' }), 'late.jpg');
    form.append('files', new Blob([new Uint8Array(await photo(8))], { type: 'image/jpeg' }), 'fresh.jpg');
    expect((await fetch(`${stack.gatewayUrl}/share/${link.key}/uploads`, { method: 'POST', body: form })).status).toBe(
      202,
    );
    const two = await poll(async () => {
      const list = await json<Upload[]>(await api(`/api/shared-links/${link.id}/uploads`));
      return list.length === 2 && list.every((u) => u.thumbnailUrl) ? list : undefined;
    }, 'two pending uploads');
    const [old, fresh] = two.map((u) => u.assetId) as [string, string];
    await db
      .updateTable('link_uploads')
      .set({ created_at: new Date(Date.now() - 31 * 86_400_000) })
      .where('asset_id', '=', old)
      .execute();
    const bytesBefore = (await json<Link>(await api(`/api/shared-links/${link.id}`))).uploadBytes!;

    const connection = new Redis(stack.env.REDIS_URL!, { maxRetriesPerRequest: null });
    const queue = new Queue(Queues.maintenance, {
      connection,
      prefix: queuePrefix(stack.env.QUEUE_PREFIX!, Queues.maintenance, false),
    });
    try {
      await queue.add(MaintenanceJobs.expireLinkUploads, {});
      await poll(async () => {
        const rejected = await json<Upload[]>(await api(`/api/shared-links/${link.id}/uploads?status=rejected`));
        return rejected.some((u) => u.assetId === old) ? rejected : undefined;
      }, 'the expired upload removed');
    } finally {
      await queue.close();
      connection.disconnect();
    }
    expect((await json<Upload[]>(await api(`/api/shared-links/${link.id}/uploads`))).map((u) => u.assetId)).toEqual([
      fresh,
    ]);
    expect(filesOf(link.userId, old)).toEqual([]);
    expect((await api(`/api/assets/${old}`)).status).toBe(400);
    const after = await json<Link>(await api(`/api/shared-links/${link.id}`));
    expect(after.uploadBytes).toBe(bytesBefore - two[0]!.bytes);
    const event = await db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', link.id)
      .where('type', '=', 'shared-link.upload-rejected')
      .orderBy('occurred_at', 'desc')
      .executeTakeFirstOrThrow();
    expect((event.payload as { data: unknown }).data).toMatchObject({ assetIds: [old], expired: true });
  });

  it('should refuse an upload over maxUploadBytes with 413 and keep the budget exact under parallel uploads', async () => {
    const size = 4096;
    const res = await post('/api/shared-links', {
      type: 'ALBUM',
      albumId,
      allowUpload: true,
      maxUploadBytes: size * 3,
    });
    expect(res.status).toBe(201);
    const budgeted = await json<Link>(res);
    const upload = (bytes: Buffer, name: string) => {
      const form = new FormData();
      form.append('deviceAssetId', name);
      form.append('deviceId', 'guest');
      form.append('fileCreatedAt', new Date().toISOString());
      form.append('fileModifiedAt', new Date().toISOString());
      form.append('assetData', new Blob([new Uint8Array(bytes)]), name);
      return fetch(`${stack.gatewayUrl}/api/assets?key=${budgeted.key}`, { method: 'POST', body: form });
    };
    const ownerDir = join(stack.storageRoot, 'assets', budgeted.userId);
    const before = new Set(readdirSync(ownerDir));

    // one file larger than the whole budget: refused while streaming, nothing kept
    const big = await upload(randomBytes(size * 3 + 1), 'big.bin');
    expect(big.status).toBe(413);
    expect(await json<Problem>(big)).toMatchObject({ statusCode: 413, message: expect.stringMatching(/budget/) });

    // 8 parallel uploads of `size` bytes into a budget of 3 of them: exactly 3 get through
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => upload(randomBytes(size), `part-${i}.bin`)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 413, 413, 413, 413, 413]);
    for (const r of answers.filter((x) => x.status === 413)) {
      expect((await json<Problem>(r)).statusCode).toBe(413);
    }
    const after = await json<Link>(await api(`/api/shared-links/${budgeted.id}`));
    expect(after).toMatchObject({ maxUploadBytes: size * 3, uploadBytes: size * 3 });

    // what stays in storage: exactly the three accepted assets, no half-written file
    const added = readdirSync(ownerDir).filter((d) => !before.has(d));
    expect(added).toHaveLength(3);
    for (const d of added) {
      expect(readdirSync(join(ownerDir, d)).filter((f) => f.includes('~tmp~'))).toEqual([]);
    }
    expect((await upload(randomBytes(1), 'one-more.bin')).status).toBe(413);

    // the owner raises the budget: uploads work again
    const patched = await api(`/api/shared-links/${budgeted.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ maxUploadBytes: size * 4 }),
    });
    expect(patched.status).toBe(200);
    expect((await upload(randomBytes(size), 'after-patch.bin')).status).toBe(201);
  });
});
