import { randomBytes } from 'node:crypto';
import { createDb, createPool } from '@immish/db';
import { createUser, describeClient } from '@immish/domain';
import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityLogRecorder, VISIT_WINDOW_MS } from '../src/activity-log.ts';

/**
 * The gateway's activity log writer (issue 18 item 1) on a real PostgreSQL: background batches, the 30-minute
 * visit rule, entries kept across a failed write, and entries of a deleted link dropped instead of blocking.
 */
let tdb: TestDatabase;
let ownerId: string;
const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0';
const client = describeClient('203.0.113.77', firefox, { mode: 'truncate' });
const other = describeClient('198.51.100.9', firefox, { mode: 'truncate' });

beforeAll(async () => {
  tdb = await createTestDatabase();
  ownerId = (await createUser(tdb.db, { email: 'activity-gw@immish.test', name: 'g', password: 'pw' })).id;
});
afterAll(async () => {
  await tdb?.drop();
});

async function link(): Promise<string> {
  return (
    await tdb.db
      .insertInto('shared_links')
      .values({ owner_id: ownerId, type: 'INDIVIDUAL', key: randomBytes(32).toString('base64url') })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
}
const entries = (linkId: string) =>
  tdb.db.selectFrom('link_activity').selectAll().where('link_id', '=', linkId).orderBy('id').execute();

describe('ActivityLogRecorder', () => {
  it('should count repeated views of one client within 30 minutes as one visit, and write in the background', async () => {
    const linkId = await link();
    let now = Date.parse('2026-12-01T10:00:00Z');
    const recorder = new ActivityLogRecorder(tdb.db, { now: () => now });
    recorder.record({ linkId, action: 'visit', client });
    now += 10 * 60_000;
    recorder.record({ linkId, action: 'visit', client }); // same visit
    recorder.record({ linkId, action: 'visit', client: other }); // another client: a visit
    now += VISIT_WINDOW_MS - 1;
    recorder.record({ linkId, action: 'visit', client }); // 29:59 after the last view: same visit
    now += VISIT_WINDOW_MS;
    recorder.record({ linkId, action: 'visit', client }); // 30 min quiet: a new visit
    recorder.record({ linkId, action: 'download-original', client, assetId: '00000000-0000-4000-8000-000000000001' });
    expect(await entries(linkId)).toEqual([]); // nothing written on the caller's turn
    await recorder.settled();
    const rows = await entries(linkId);
    expect(rows.map((r) => [r.action, r.client_net])).toEqual([
      ['visit', '203.0.113.0/24'],
      ['visit', '198.51.100.0/24'],
      ['visit', '203.0.113.0/24'],
      ['download-original', '203.0.113.0/24'],
    ]);
    expect(rows[0]!.browser).toBe(client.browser);
    expect(rows[0]!.visit_key).not.toBe(rows[2]!.visit_key);
    expect(rows[3]!.asset_id).toBe('00000000-0000-4000-8000-000000000001');
    await recorder.drain();
  });

  it('should keep entries across a failed write and write them once the database answers', async () => {
    const linkId = await link();
    // the writer's statements give up after 200 ms: while the table is locked, its INSERT fails
    const pool = createPool({ connectionString: tdb.url, max: 2, statementTimeoutMillis: 200 });
    const db = createDb(pool);
    const errors: number[] = [];
    const recorder = new ActivityLogRecorder(db, { onError: (_e, n) => errors.push(n) });
    try {
      const locker = await tdb.pool.connect();
      await locker.query('BEGIN; LOCK TABLE link_activity IN ACCESS EXCLUSIVE MODE');
      try {
        recorder.record({ linkId, action: 'upload', client, assetId: '00000000-0000-4000-8000-000000000002' });
        recorder.record({ linkId, action: 'unlock-failed', client });
        await recorder.settled();
        expect(errors.length).toBeGreaterThan(0);
      } finally {
        await locker.query('ROLLBACK');
        locker.release();
      }
      await recorder.settled();
      expect((await entries(linkId)).map((r) => r.action)).toEqual(['upload', 'unlock-failed']);
    } finally {
      await recorder.drain();
      await db.destroy();
    }
  });

  it('should drop the entries of a link deleted before the write and keep the others', async () => {
    const gone = await link();
    const kept = await link();
    const recorder = new ActivityLogRecorder(tdb.db);
    recorder.record({ linkId: gone, action: 'visit', client });
    recorder.record({ linkId: kept, action: 'visit', client });
    await tdb.db.deleteFrom('shared_links').where('id', '=', gone).execute();
    await recorder.settled();
    expect((await entries(kept)).map((r) => r.action)).toEqual(['visit']);
    expect(await entries(gone)).toEqual([]);
    await recorder.drain();
  });
});
