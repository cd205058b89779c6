import {
  acceptAllEvents,
  eventCounts,
  installOutboxFault,
  listStoredFiles,
  refuseEvents,
  snapshotTables,
} from '@immish/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GatewayHarness, jpegWithExif, multipart, startGateway } from './harness.ts';

/**
 * docs/spec.md §6 on the recipient surface: every gateway write commits its change and its event together. The
 * outbox is made to refuse one event type (a trigger); the request must fail without leaving anything behind
 * (no row, no blob, no unlock cookie), then succeed once the outbox accepts the event. Views are written in the
 * background: a refused `shared-link.viewed` keeps the counted views and writes them with the event later.
 */

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
  await installOutboxFault(h.tdb.pool);
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  await acceptAllEvents(h.tdb.pool);
});

async function unchangedWhileRefused(
  types: string[],
  request: () => Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }>,
) {
  const tables = await snapshotTables(h.tdb.pool);
  const files = listStoredFiles(h.storageRoot);
  const events = await eventCounts(h.tdb.pool);
  await refuseEvents(h.tdb.pool, types);
  const res = await request();
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(500);
  expect(res.body).not.toContain('outbox refuses');
  expect(res.headers['set-cookie']).toBeUndefined();
  expect(await snapshotTables(h.tdb.pool)).toEqual(tables);
  expect(listStoredFiles(h.storageRoot)).toEqual(files);
  expect(await eventCounts(h.tdb.pool)).toEqual(events);
  await acceptAllEvents(h.tdb.pool);
  return events;
}

const guestPhoto = async (seed: number) =>
  multipart([
    { name: 'deviceAssetId', value: `guest-${seed}` },
    { name: 'deviceId', value: 'guest-phone' },
    { name: 'fileCreatedAt', value: '2024-05-01T10:00:00.000Z' },
    { name: 'fileModifiedAt', value: '2024-05-01T10:00:00.000Z' },
    { name: 'assetData', value: await jpegWithExif({ r: seed, g: 80, b: 160 }), fileName: `guest-${seed}.jpg` },
  ]);

describe('every recipient write and its event are atomic', () => {
  it('POST /api/shared-links/login: a refused shared-link.unlocked event sets no unlock cookie', async () => {
    const link = await h.createLink({ assetIds: [(await h.createAsset()).id], password: 'open sesame' });
    const login = () =>
      h.app.inject({
        method: 'POST',
        url: `/api/shared-links/login?key=${link.key}`,
        payload: { password: 'open sesame' },
      });
    await unchangedWhileRefused(['shared-link.unlocked'], login);
    const ok = await login();
    expect(ok.statusCode).toBe(201);
    expect(ok.headers['set-cookie']).toBeDefined();
  });

  for (const refused of ['asset.stored', 'shared-link.upload-received']) {
    it(`POST /api/assets?key=: a refused ${refused} event leaves no asset, no placement and no blob`, async () => {
      const albumId = await h.createAlbum([(await h.createAsset()).id]);
      const link = await h.createLink({ albumId, allowUpload: true });
      const body = await guestPhoto(refused.length);
      const upload = () =>
        h.app.inject({
          method: 'POST',
          url: `/api/assets?key=${link.key}`,
          payload: body.payload,
          headers: body.headers,
        });
      const before = await unchangedWhileRefused([refused], upload);
      const ok = await upload();
      expect(ok.statusCode, ok.body).toBe(201);
      expect((await eventCounts(h.tdb.pool))[refused]).toBe((before[refused] ?? 0) + 1);
    });
  }

  it('POST /share/:key/exports: a refused export.requested event queues no export', async () => {
    const albumId = await h.createAlbum([(await h.createAsset()).id, (await h.createAsset()).id]);
    const link = await h.createLink({ albumId });
    const request = () => h.app.inject({ method: 'POST', url: `/share/${link.key}/exports`, payload: {} });
    await unchangedWhileRefused(['export.requested'], request);
    const ok = await request();
    expect(ok.statusCode, ok.body).toBe(202);
  });

  it('views: a refused shared-link.viewed event keeps the counted views and writes them with the event later', async () => {
    const link = await h.createLink({ assetIds: [(await h.createAsset()).id] });
    const viewed = async () => (await eventCounts(h.tdb.pool))['shared-link.viewed'] ?? 0;
    const eventsBefore = await viewed();
    await refuseEvents(h.tdb.pool, ['shared-link.viewed']);
    for (let i = 0; i < 3; i++) {
      expect((await h.app.inject(`/api/shared-links/me?key=${link.key}`)).statusCode).toBe(200);
    }
    await h.counters(link.id); // every write attempted so far has settled (here: failed)
    const during = await h.tdb.db
      .selectFrom('shared_links')
      .select('view_count')
      .where('id', '=', link.id)
      .executeTakeFirstOrThrow();
    expect(Number(during.view_count)).toBe(0);
    expect(await viewed()).toBe(eventsBefore);

    await acceptAllEvents(h.tdb.pool);
    await expect
      .poll(
        async () =>
          Number(
            (
              await h.tdb.db
                .selectFrom('shared_links')
                .select('view_count')
                .where('id', '=', link.id)
                .executeTakeFirstOrThrow()
            ).view_count,
          ),
        { timeout: 20_000, interval: 100 },
      )
      .toBe(3);
    expect(await viewed()).toBe(eventsBefore + 1);
  });
});
