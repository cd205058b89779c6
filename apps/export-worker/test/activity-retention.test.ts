import { randomBytes } from 'node:crypto';
import { MaintenanceJobs } from '@immish/contracts';
import { createUser, insertActivity } from '@immish/domain';
import { createRedis } from '@immish/runtime';
import { createBlobStore } from '@immish/storage';
import { createTestDatabase, type TestDatabase, testRedis } from '@immish/testkit';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processMaintenanceJob, scheduleExportCleanup } from '../src/cleanup.ts';

/**
 * Link activity retention (issue 18 item 1): a repeatable job of the `maintenance` queue, beside the export
 * expiry, deletes entries older than ACTIVITY_RETENTION_DAYS and nothing newer.
 */
const logger = pino({ level: 'silent' });
const DAY = 86_400_000;
let tdb: TestDatabase;
let linkId: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  const owner = await createUser(tdb.db, { email: 'retention@immish.test', name: 'r', password: 'pw' });
  linkId = (
    await tdb.db
      .insertInto('shared_links')
      .values({ owner_id: owner.id, type: 'INDIVIDUAL', key: randomBytes(32).toString('base64url') })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
});
afterAll(async () => {
  await tdb?.drop();
});

describe('link activity retention', () => {
  it('should register the purge as a repeatable maintenance job next to the export expiry', async () => {
    const { url, prefix } = testRedis();
    const connection = createRedis({ REDIS_URL: url }, 'producer');
    const queue = await scheduleExportCleanup({ connection, prefix, everyMs: 60_000 });
    try {
      // twice, as every worker process does at start-up: still one schedule each
      await (await scheduleExportCleanup({ connection, prefix, everyMs: 60_000 })).close();
      const schedulers = await queue.getJobSchedulers();
      const ids = schedulers.map((s) => s.key).sort();
      expect(ids).toEqual(
        [MaintenanceJobs.expireExports, MaintenanceJobs.purgeLinkActivity, MaintenanceJobs.expireLinkUploads].sort(),
      );
    } finally {
      await queue.obliterate({ force: true }).catch(() => {});
      await queue.close();
      connection.disconnect();
    }
  });

  it('should delete entries older than the retention and keep the rest', async () => {
    const now = Date.now();
    await insertActivity(tdb.db, [
      { link_id: linkId, at: new Date(now - 40 * DAY), action: 'visit', client_net: '203.0.113.0/24' },
      { link_id: linkId, at: new Date(now - 31 * DAY), action: 'upload', client_net: '203.0.113.0/24' },
      { link_id: linkId, at: new Date(now - 29 * DAY), action: 'download-original', client_net: '203.0.113.0/24' },
      { link_id: linkId, at: new Date(now), action: 'visit', client_net: '198.51.100.0/24' },
    ]);
    const deps = {
      db: tdb.db,
      storage: createBlobStore({ driver: 'fs', root: '/nonexistent-unused' }),
      logger,
      activityRetentionDays: 30,
    };
    await processMaintenanceJob(MaintenanceJobs.purgeLinkActivity, deps);
    const left = await tdb.db
      .selectFrom('link_activity')
      .select('action')
      .where('link_id', '=', linkId)
      .orderBy('at', 'desc')
      .execute();
    expect(left.map((r) => r.action)).toEqual(['visit', 'download-original']);
    // running it again (two workers, or the next hour) removes nothing more
    await processMaintenanceJob(MaintenanceJobs.purgeLinkActivity, deps);
    expect(await tdb.db.selectFrom('link_activity').select('id').where('link_id', '=', linkId).execute()).toHaveLength(
      2,
    );
  });
});
