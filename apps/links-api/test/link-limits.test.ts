import { createSharedLink, createSharedLinkStore, permissiveLinkPolicy } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { expectImmichReply } from './immich-conformance.ts';
import { insertAssets } from './shared-links.fixtures.ts';

/**
 * Issue 19 item 1, owner side: `maxVisits`, `maxDownloads`, `maxUploads` on create and PATCH (positive integers or
 * null; immish additions to Immich's shapes, which stay conformant), returned with what has been used.
 */
let h: LinksApiHarness;
let owner: TestUser;
let assets: string[];

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('limits');
  assets = await insertAssets(h.tdb.db, owner.id, 2);
});
afterAll(async () => {
  await h?.close();
});

const create = (body: Record<string, unknown>) =>
  h.app.inject({
    method: 'POST',
    url: '/api/shared-links',
    headers: owner.headers,
    payload: { type: 'INDIVIDUAL', assetIds: assets, ...body },
  });
const patch = (id: string, body: Record<string, unknown>) =>
  h.app.inject({ method: 'PATCH', url: `/api/shared-links/${id}`, headers: owner.headers, payload: body });

describe('limited links (links API)', () => {
  it('should create a link with limits and return them with what has been used (Immich-conformant)', async () => {
    const res = await create({ maxVisits: 10, maxDownloads: 3, maxUploads: 1, allowUpload: true });
    expect(res.statusCode).toBe(201);
    expectImmichReply('POST', '/api/shared-links', res);
    expect(res.json()).toMatchObject({
      maxVisits: 10,
      maxDownloads: 3,
      maxUploads: 1,
      visitsUsed: 0,
      downloadsUsed: 0,
      uploadsUsed: 0,
    });
    const plain = await create({});
    expect(plain.json()).toMatchObject({ maxVisits: null, maxDownloads: null, maxUploads: null, visitsUsed: 0 });
    const listed = await h.app.inject({ url: `/api/shared-links/${res.json().id}`, headers: owner.headers });
    expectImmichReply('GET', `/api/shared-links/${res.json().id}`, listed);
    expect(listed.json().maxVisits).toBe(10);
  });

  for (const field of ['maxVisits', 'maxDownloads', 'maxUploads']) {
    it(`should refuse ${field} of 0, negative, non-integer or non-number with 400, on create and PATCH`, async () => {
      const link = (await create({})).json();
      for (const bad of [0, -1, 2.5, '3', true]) {
        const created = await create({ [field]: bad });
        expect(created.statusCode, `${field}: ${JSON.stringify(bad)}`).toBe(400);
        expect(created.json().message).toContain(field);
        const patched = await patch(link.id, { [field]: bad });
        expect(patched.statusCode, `${field}: ${JSON.stringify(bad)}`).toBe(400);
      }
    });
  }

  it('should raise, lower and clear a limit with PATCH (a shared-link.updated event names it), keeping what was used', async () => {
    const link = (await create({ maxVisits: 1 })).json();
    await h.tdb.db.updateTable('shared_links').set({ visits_used: 1 }).where('id', '=', link.id).execute();
    const raised = await patch(link.id, { maxVisits: 5 });
    expect(raised.statusCode).toBe(200);
    expectImmichReply('PATCH', `/api/shared-links/${link.id}`, raised);
    expect([raised.json().maxVisits, raised.json().visitsUsed]).toEqual([5, 1]);
    const cleared = await patch(link.id, { maxVisits: null, maxDownloads: 2 });
    expect(cleared.json()).toMatchObject({ maxVisits: null, maxDownloads: 2, visitsUsed: 1 });
    // the same value again changes nothing (no event)
    expect((await patch(link.id, { maxDownloads: 2 })).statusCode).toBe(200);
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('type', '=', 'shared-link.updated')
      .where('aggregate_id', '=', link.id)
      .orderBy('occurred_at')
      .execute();
    expect(events.map((e) => (e.payload as { data: { changed: string[] } }).data.changed)).toEqual([
      ['maxVisits'],
      ['maxVisits', 'maxDownloads'],
    ]);
  });

  it('should write the limits through the batching store too (what main.ts uses)', async () => {
    const store = createSharedLinkStore(h.tdb.db, { batching: true });
    const ctx = { userId: owner.id, publicUrl: 'http://links.test', policy: permissiveLinkPolicy, store };
    const [a, b] = await Promise.all([
      createSharedLink(h.tdb.db, ctx, { type: 'INDIVIDUAL', assetIds: assets, maxVisits: 7 }),
      createSharedLink(h.tdb.db, ctx, { type: 'INDIVIDUAL', assetIds: assets, maxUploads: 2, maxDownloads: 4 }),
    ]);
    expect([a!.maxVisits, a!.maxDownloads, a!.maxUploads]).toEqual([7, null, null]);
    expect([b!.maxVisits, b!.maxDownloads, b!.maxUploads]).toEqual([null, 4, 2]);
  });
});
