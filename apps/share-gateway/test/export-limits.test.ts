/**
 * Recipients cannot exhaust the export workers or the storage (issue 12 item 7, docs/spec.md §14 "limits are
 * atomic"): identical content is one export (part sizes within the tolerance included), the asset cap
 * applies on the gateway too, and a link's and a client's outstanding exports are capped — checked and
 * counted in one step, whatever the concurrency.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayHarness, startGateway } from './harness.ts';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

/** Every test asks as its own client (the per-client cap counts across links, hence across tests). */
let clients = 0;
let client = '';
beforeEach(() => {
  client = `203.0.113.${++clients}`;
});

function postExport(app: FastifyInstance, key: string, payload: object = {}, remoteAddress = client) {
  return app.inject({ method: 'POST', url: `/share/${key}/exports`, payload, remoteAddress });
}

async function exportRows(linkId: string) {
  return h.tdb.db.selectFrom('exports').selectAll().where('shared_link_id', '=', linkId).execute();
}

/** A link over `n` fresh assets. */
async function linkWithAssets(n: number, opts: { album?: boolean } = {}) {
  const assets = [];
  for (let i = 0; i < n; i++) assets.push(await h.createAsset());
  const ids = assets.map((a) => a.id);
  const link = opts.album
    ? await h.createLink({ albumId: await h.createAlbum(ids) })
    : await h.createLink({ assetIds: ids });
  return { link, ids };
}

/** Stands in for the export worker: the export is ready, kept until `expiresAt`. */
async function markReady(exportId: string, expiresAt = new Date(Date.now() + 3600_000)) {
  await h.tdb.db
    .updateTable('exports')
    .set({ status: 'ready', expires_at: expiresAt, completed_at: new Date(), client_key: null })
    .where('id', '=', exportId)
    .execute();
}

function expectRateLimited(res: Awaited<ReturnType<typeof postExport>>) {
  expect(res.statusCode, res.body).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  const body = res.json();
  expect(body).toMatchObject({ statusCode: 429, error: 'Too Many Requests', correlationId: expect.any(String) });
  expect(body.message).toMatch(/try again/i);
  return retryAfter;
}

describe('POST /share/:key/exports: reuse', () => {
  it('should build one export for eight requests with maxPartSize 1048576+i (sizes within the tolerance)', async () => {
    const { link } = await linkWithAssets(2, { album: true });
    const ids = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const res = await postExport(h.app, link.key, { maxPartSize: 1048576 + i });
      expect(res.statusCode, res.body).toBe(202);
      ids.add(res.json().id);
    }
    expect(ids.size).toBe(1);
    const rows = await exportRows(link.id);
    expect(rows).toHaveLength(1);
    // built with the size rounded down to the tolerance's step: every part stays within what was asked
    expect(rows[0]!.options.maxPartSize).toBe(1048576);
    // well outside the tolerance (twice the size): other content, another export
    const bigger = await postExport(h.app, link.key, { maxPartSize: 2 * 1048576 });
    expect(ids.has(bigger.json().id)).toBe(false);
  });

  it('should reuse the same selection given in another order or with duplicates', async () => {
    const { link, ids } = await linkWithAssets(3);
    const first = (await postExport(h.app, link.key, { assetIds: [ids[0], ids[1]] })).json();
    const again = (await postExport(h.app, link.key, { assetIds: [ids[1], ids[0], ids[1]] })).json();
    expect(again.id).toBe(first.id);
    expect(await exportRows(link.id)).toHaveLength(1);
  });
});

describe('POST /share/:key/exports: EXPORT_MAX_ASSETS', () => {
  it('should answer 400 naming the cap when the export would hold more assets, and queue nothing', async () => {
    const app = await h.newApp({ EXPORT_MAX_ASSETS: '2' });
    const { link, ids } = await linkWithAssets(3);
    const all = await postExport(app, link.key, {});
    expect(all.statusCode).toBe(400);
    expect(all.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(all.json().message).toMatch(/at most 2 assets/);
    expect(await exportRows(link.id)).toHaveLength(0);
    expect((await postExport(app, link.key, { assetIds: ids.slice(0, 2) })).statusCode).toBe(202);
  });
});

describe('POST /share/:key/exports: outstanding exports per link', () => {
  it('should create exactly N of 20 concurrent distinct requests (EXPORT_MAX_PENDING_PER_LINK=N), the rest 429', async () => {
    const app = await h.newApp({ EXPORT_MAX_PENDING_PER_LINK: '3', EXPORT_MAX_PENDING_PER_CLIENT: '100' });
    const { link, ids } = await linkWithAssets(20);
    // 20 different selections from 20 different clients: only the link's cap can refuse them
    const answers = await Promise.all(
      ids.map((id, i) => postExport(app, link.key, { assetIds: [id] }, `198.51.100.${i + 1}`)),
    );
    const created = answers.filter((r) => r.statusCode === 202);
    expect(created).toHaveLength(3);
    for (const res of answers.filter((r) => r.statusCode !== 202)) expectRateLimited(res);
    expect(await exportRows(link.id)).toHaveLength(3);

    // an identical request still reuses its export at the cap (no new work)
    const same = created[0]!.json();
    const reused = await postExport(app, link.key, {
      assetIds: (await exportRows(link.id)).find((r) => r.id === same.id)!.asset_ids,
    });
    expect(reused.statusCode).toBe(202);
    expect(reused.json().id).toBe(same.id);

    // a finished export no longer counts as pending
    await markReady(same.id);
    const next = await postExport(app, link.key, { assetIds: [ids[19]!, ids[18]!] });
    expect(next.statusCode, next.body).toBe(202);
  });

  it('should count ready, unexpired archives against EXPORT_MAX_KEPT_PER_LINK, with Retry-After until one expires', async () => {
    const app = await h.newApp({ EXPORT_MAX_KEPT_PER_LINK: '2' });
    const { link, ids } = await linkWithAssets(4);
    const a = (await postExport(app, link.key, { assetIds: [ids[0]] })).json();
    const b = (await postExport(app, link.key, { assetIds: [ids[1]] })).json();
    await markReady(a.id, new Date(Date.now() + 90_000));
    await markReady(b.id, new Date(Date.now() + 7200_000));
    const refused = await postExport(app, link.key, { assetIds: [ids[2]] });
    const retryAfter = expectRateLimited(refused);
    expect(retryAfter).toBeGreaterThan(30);
    expect(retryAfter).toBeLessThanOrEqual(90);
    // an expired archive frees its place
    await markReady(a.id, new Date(Date.now() - 1000));
    expect((await postExport(app, link.key, { assetIds: [ids[2]] })).statusCode).toBe(202);
  });
});

describe('POST /share/:key/exports: outstanding exports per client', () => {
  it('should create exactly N of 20 concurrent requests of one client across links (EXPORT_MAX_PENDING_PER_CLIENT=N)', async () => {
    const app = await h.newApp({ EXPORT_MAX_PENDING_PER_CLIENT: '2', EXPORT_MAX_PENDING_PER_LINK: '100' });
    const links = [await linkWithAssets(5), await linkWithAssets(5), await linkWithAssets(5), await linkWithAssets(5)];
    const requests = links.flatMap(({ link, ids }) => ids.map((id) => ({ key: link.key, id })));
    const answers = await Promise.all(requests.map((r) => postExport(app, r.key, { assetIds: [r.id] })));
    expect(answers.filter((r) => r.statusCode === 202)).toHaveLength(2);
    for (const res of answers.filter((r) => r.statusCode !== 202)) expectRateLimited(res);
    const total = (await Promise.all(links.map(({ link }) => exportRows(link.id)))).flat();
    expect(total).toHaveLength(2);
    // another client is not affected
    const other = await postExport(app, links[0]!.link.key, { assetIds: [links[0]!.ids[4]] }, '192.0.2.55');
    expect(other.statusCode, other.body).toBe(202);
  });

  it('should count every address of one IPv6 /64 as one client', async () => {
    const app = await h.newApp({ EXPORT_MAX_PENDING_PER_CLIENT: '1', EXPORT_MAX_PENDING_PER_LINK: '100' });
    const { link, ids } = await linkWithAssets(3);
    expect((await postExport(app, link.key, { assetIds: [ids[0]] }, '2001:db8:1:2::1')).statusCode).toBe(202);
    expectRateLimited(await postExport(app, link.key, { assetIds: [ids[1]] }, '2001:db8:1:2:ffff::9'));
    expect((await postExport(app, link.key, { assetIds: [ids[2]] }, '2001:db8:1:3::1')).statusCode).toBe(202);
  });
});
