import {
  acceptAllEvents,
  eventCounts,
  installOutboxFault,
  listStoredFiles,
  refuseEvents,
  snapshotTables,
} from '@immish/testkit';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tinyJpeg } from '../../ingest-worker/test/fixtures.ts';
import { assetForm, multipartBody } from '../../ingest-worker/test/http-helpers.ts';
import { client, insertAsset, makeAlbum } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * docs/spec.md §6: every owner write commits its state change and its event in one transaction. For each writer
 * of the outbox, the event insert is made to fail (a trigger refusing that event type): the request must fail
 * and leave every table and the storage exactly as they were. The same request then succeeds once the outbox
 * accepts the event, which proves the case really goes through that writer.
 *
 * (Issue 13: moving `updateSharedLink`'s append after the commit went unnoticed by the rest of the suite.)
 */

let h: LinksApiHarness;
let owner: TestUser;
let friend: TestUser;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
  friend = await h.newUser('friend');
  call = client(h);
  await installOutboxFault(h.tdb.pool);
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  await acceptAllEvents(h.tdb.pool);
});

interface WriterCase {
  /** the event type(s) the writer appends; refusing the first is enough to fail the transaction */
  events: string[];
  /** builds what the request needs; returns the request */
  setup(): Promise<() => Promise<LightMyRequestResponse>>;
  /**
   * A batch answers 202 and records each file's fate: a file whose event is refused is a failed item (the
   * batch rows are the record of that failure), and nothing else of it may remain: no asset row, no blob.
   */
  perItem?: true;
}

const asset = () => insertAsset(h, owner.id).then((a) => a.id);

async function link(assetIds: string[]): Promise<string> {
  const res = await call('POST', '/api/shared-links', owner, { type: 'INDIVIDUAL', assetIds });
  expect(res.statusCode).toBe(201);
  return res.json().id;
}

const cases: Record<string, WriterCase> = {
  'POST /api/shared-links': {
    events: ['shared-link.created'],
    async setup() {
      const a = await asset();
      return () => call('POST', '/api/shared-links', owner, { type: 'INDIVIDUAL', assetIds: [a], slug: 'atomic-slug' });
    },
  },
  'PATCH /api/shared-links/:id': {
    events: ['shared-link.updated'],
    async setup() {
      const id = await link([await asset()]);
      return () => call('PATCH', `/api/shared-links/${id}`, owner, { description: 'changed', password: 'secret-pw' });
    },
  },
  'DELETE /api/shared-links/:id': {
    events: ['shared-link.deleted'],
    async setup() {
      const id = await link([await asset()]);
      return () => call('DELETE', `/api/shared-links/${id}`, owner);
    },
  },
  'PUT /api/shared-links/:id/assets': {
    events: ['shared-link.assets-added'],
    async setup() {
      const id = await link([await asset()]);
      const more = [await asset(), await asset()];
      return () => call('PUT', `/api/shared-links/${id}/assets`, owner, { assetIds: more });
    },
  },
  'DELETE /api/shared-links/:id/assets': {
    events: ['shared-link.assets-removed'],
    async setup() {
      const a = await asset();
      const id = await link([a, await asset()]);
      return () => call('DELETE', `/api/shared-links/${id}/assets`, owner, { assetIds: [a] });
    },
  },
  'POST /api/albums': {
    events: ['album.created'],
    async setup() {
      const a = await asset();
      return () =>
        call('POST', '/api/albums', owner, {
          albumName: 'atomic',
          assetIds: [a],
          albumUsers: [{ userId: friend.id, role: 'viewer' }],
        });
    },
  },
  'PATCH /api/albums/:id': {
    events: ['album.updated'],
    async setup() {
      const album = await makeAlbum(h, owner);
      return () => call('PATCH', `/api/albums/${album.id}`, owner, { albumName: 'renamed', description: 'd' });
    },
  },
  'DELETE /api/albums/:id': {
    events: ['album.deleted'],
    async setup() {
      const album = await makeAlbum(h, owner, { assetIds: [await asset()], viewers: [friend] });
      return () => call('DELETE', `/api/albums/${album.id}`, owner);
    },
  },
  'PUT /api/albums/:id/assets': {
    events: ['album.assets-added'],
    async setup() {
      const album = await makeAlbum(h, owner);
      const ids = [await asset(), await asset()];
      return () => call('PUT', `/api/albums/${album.id}/assets`, owner, { ids });
    },
  },
  'PUT /api/albums/assets': {
    events: ['album.assets-added'],
    async setup() {
      const albums = [(await makeAlbum(h, owner)).id, (await makeAlbum(h, owner)).id];
      const assetIds = [await asset(), await asset()];
      return () => call('PUT', '/api/albums/assets', owner, { albumIds: albums, assetIds });
    },
  },
  'DELETE /api/albums/:id/assets': {
    events: ['album.assets-removed'],
    async setup() {
      const a = await asset();
      const album = await makeAlbum(h, owner, { assetIds: [a, await asset()] });
      return () => call('DELETE', `/api/albums/${album.id}/assets`, owner, { ids: [a] });
    },
  },
  'PUT /api/albums/:id/users': {
    events: ['album.member-added'],
    async setup() {
      const album = await makeAlbum(h, owner);
      return () =>
        call('PUT', `/api/albums/${album.id}/users`, owner, { albumUsers: [{ userId: friend.id, role: 'editor' }] });
    },
  },
  'PUT /api/albums/:id/user/:userId': {
    events: ['album.member-updated'],
    async setup() {
      const album = await makeAlbum(h, owner, { viewers: [friend] });
      return () => call('PUT', `/api/albums/${album.id}/user/${friend.id}`, owner, { role: 'editor' });
    },
  },
  'DELETE /api/albums/:id/user/:userId': {
    events: ['album.member-removed'],
    async setup() {
      const album = await makeAlbum(h, owner, { viewers: [friend] });
      return () => call('DELETE', `/api/albums/${album.id}/user/${friend.id}`, owner);
    },
  },
  'DELETE /api/assets (trash)': {
    events: ['asset.trashed'],
    async setup() {
      const ids = [await asset(), await asset()];
      return () => call('DELETE', '/api/assets', owner, { ids });
    },
  },
  'POST /api/exports': {
    events: ['export.requested'],
    async setup() {
      const assetIds = [await asset(), await asset()];
      return () => call('POST', '/api/exports', owner, { assetIds });
    },
  },
  'POST /api/assets (upload)': {
    events: ['asset.stored'],
    async setup() {
      const form = assetForm(await tinyJpeg(7), 'atomic.jpg');
      return () =>
        h.app.inject({
          method: 'POST',
          url: '/api/assets',
          headers: { ...owner.headers, ...form.headers },
          payload: form.payload,
        });
    },
  },
  'POST /api/upload-batches': {
    events: ['asset.stored'],
    perItem: true,
    async setup() {
      const [a, b] = [await tinyJpeg(8), await tinyJpeg(9)];
      const form = multipartBody([
        { name: 'files', filename: 'one.jpg', data: a },
        { name: 'files', filename: 'two.jpg', data: b },
      ]);
      return () =>
        h.app.inject({
          method: 'POST',
          url: '/api/upload-batches',
          headers: { ...owner.headers, ...form.headers },
          payload: form.payload,
        });
    },
  },
};

// Bookkeeping a request touches even when it fails (authentication's last-use stamp) is not part of the writer.
const IGNORED_COLUMNS = ['last_used_at'];

describe('every owner write and its event are atomic', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: a refused ${c.events[0]} event rolls the change back`, async () => {
      const request = await c.setup();
      const tablesBefore = await snapshotTables(h.tdb.pool, IGNORED_COLUMNS);
      const filesBefore = listStoredFiles(h.storageRoot);
      const eventsBefore = await eventCounts(h.tdb.pool);

      await refuseEvents(h.tdb.pool, c.events);
      const failed = await request();
      expect(JSON.stringify(failed.json())).not.toContain('outbox refuses');
      const tablesAfter = await snapshotTables(h.tdb.pool, IGNORED_COLUMNS);
      if (c.perItem) {
        expect(failed.statusCode, failed.body).toBe(202);
        const items = failed.json().items as { status: string }[];
        expect(items.length).toBeGreaterThan(0);
        expect(items.every((i) => i.status === 'failed')).toBe(true);
        expect(tablesAfter.assets).toEqual(tablesBefore.assets);
      } else {
        expect(failed.statusCode, failed.body).toBeGreaterThanOrEqual(500);
        expect(failed.json().statusCode).toBe(failed.statusCode);
        expect(tablesAfter).toEqual(tablesBefore);
      }
      expect(listStoredFiles(h.storageRoot)).toEqual(filesBefore);
      const eventsAfter = await eventCounts(h.tdb.pool);
      // A batch whose every file failed still completes (and says so with its own event).
      if (c.perItem) for (const t of c.events) expect(eventsAfter[t] ?? 0).toBe(eventsBefore[t] ?? 0);
      else expect(eventsAfter).toEqual(eventsBefore);

      // The same request with the outbox working: it succeeds and appends that event.
      await acceptAllEvents(h.tdb.pool);
      const ok = await request();
      expect(ok.statusCode, ok.body).toBeLessThan(300);
      const after = await eventCounts(h.tdb.pool);
      expect(after[c.events[0] as string] ?? 0).toBeGreaterThan(eventsBefore[c.events[0] as string] ?? 0);
    });
  }
});
