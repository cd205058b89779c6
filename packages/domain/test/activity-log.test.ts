import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activitySummary, deleteActivityOlderThan, insertActivity, listActivityPage } from '../src/activity/index.ts';
import { createUser } from '../src/identity/service.ts';

/**
 * The per-link activity log's table and SQL (issue 18 item 1) on a real PostgreSQL: keyset pages newest first,
 * the action filter, the summary (visits, unique visitors, downloads, uploads, by day), retention by age, and the
 * cascade with the link.
 */
let tdb: TestDatabase;
let ownerId: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  ownerId = (await createUser(tdb.db, { email: 'activity@immish.test', name: 'a', password: 'pw' })).id;
});
afterAll(async () => {
  await tdb?.drop();
});

async function link(): Promise<string> {
  const row = await tdb.db
    .insertInto('shared_links')
    .values({ owner_id: ownerId, type: 'INDIVIDUAL', key: randomBytes(32).toString('base64url') })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

describe('link_activity', () => {
  it('should page newest first without gaps or repeats, and filter by action', async () => {
    const linkId = await link();
    const other = await link();
    const base = Date.parse('2026-12-01T10:00:00Z');
    // 7 rows, two sharing a timestamp (the id breaks the tie), plus one on another link
    const rows = [0, 1, 2, 3, 3, 4, 5].map((m, i) => ({
      link_id: linkId,
      at: new Date(base + m * 60_000),
      action: (i % 2 === 0 ? 'visit' : 'download-original') as 'visit' | 'download-original',
      client_net: `203.0.113.0/24`,
    }));
    await insertActivity(tdb.db, rows);
    await insertActivity(tdb.db, [{ link_id: other, action: 'visit' }]);
    await insertActivity(tdb.db, []);

    const seen: string[] = [];
    let cursor: { at: Date; id: string } | undefined;
    for (;;) {
      const page = await listActivityPage(tdb.db, linkId, { limit: 3, cursor });
      if (page.length === 0) break;
      seen.push(...page.map((r) => r.id));
      const last = page[page.length - 1]!;
      cursor = { at: last.at, id: last.id };
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const all = await listActivityPage(tdb.db, linkId, { limit: 100 });
    expect(all.map((r) => r.id)).toEqual(seen);
    for (let i = 1; i < all.length; i++) {
      const a = all[i - 1]!;
      const b = all[i]!;
      expect(
        a.at.getTime() > b.at.getTime() || (a.at.getTime() === b.at.getTime() && BigInt(a.id) > BigInt(b.id)),
      ).toBe(true);
    }
    const visits = await listActivityPage(tdb.db, linkId, { limit: 100, action: 'visit' });
    expect(visits).toHaveLength(4);
    expect(visits.every((r) => r.action === 'visit')).toBe(true);
  });

  it('should refuse an unknown action', async () => {
    const linkId = await link();
    await expect(
      sql`INSERT INTO link_activity (link_id, action) VALUES (${linkId}, 'nonsense')`.execute(tdb.db),
    ).rejects.toThrow(/check/i);
  });

  it('should summarise visits, unique visitors, downloads and uploads, in total and by UTC day', async () => {
    const linkId = await link();
    await insertActivity(tdb.db, [
      { link_id: linkId, at: '2026-12-01T23:00:00Z', action: 'visit', client_net: '203.0.113.0/24' },
      { link_id: linkId, at: '2026-12-01T23:10:00Z', action: 'visit', client_net: '203.0.113.0/24' },
      { link_id: linkId, at: '2026-12-01T23:20:00Z', action: 'download-original', client_net: '203.0.113.0/24' },
      { link_id: linkId, at: '2026-12-02T08:00:00Z', action: 'visit', client_net: '198.51.100.0/24' },
      { link_id: linkId, at: '2026-12-02T08:05:00Z', action: 'export-downloaded', client_net: '198.51.100.0/24' },
      { link_id: linkId, at: '2026-12-02T08:06:00Z', action: 'upload', client_net: '198.51.100.0/24' },
      { link_id: linkId, at: '2026-12-02T08:07:00Z', action: 'unlock-failed', client_net: '192.0.2.0/24' },
      // a link-preview bot's fetch is listed but is never a visit nor a visitor
      { link_id: linkId, at: '2026-12-02T08:08:00Z', action: 'visit', client_net: '192.0.2.0/24', bot: true },
    ]);
    const s = await activitySummary(tdb.db, linkId);
    expect(s.total).toEqual({ visits: 3, uniqueVisitors: 2, downloads: 2, uploads: 1 });
    expect(s.days).toEqual([
      { day: '2026-12-01', visits: 2, uniqueVisitors: 1, downloads: 1, uploads: 0 },
      { day: '2026-12-02', visits: 1, uniqueVisitors: 1, downloads: 1, uploads: 1 },
    ]);
    const empty = await activitySummary(tdb.db, await link());
    expect(empty).toEqual({ total: { visits: 0, uniqueVisitors: 0, downloads: 0, uploads: 0 }, days: [] });
  });

  it('should delete only entries older than the retention, and everything with the link', async () => {
    const linkId = await link();
    const day = 86_400_000;
    await insertActivity(tdb.db, [
      { link_id: linkId, at: new Date(Date.now() - 91 * day), action: 'visit' },
      { link_id: linkId, at: new Date(Date.now() - 89 * day), action: 'visit' },
      { link_id: linkId, action: 'upload' },
    ]);
    const before = await tdb.db
      .selectFrom('link_activity')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    const removed = await deleteActivityOlderThan(tdb.db, 90);
    expect(removed).toBe(1);
    const left = await listActivityPage(tdb.db, linkId, { limit: 10 });
    expect(left.map((r) => r.action)).toEqual(['upload', 'visit']);
    const after = await tdb.db
      .selectFrom('link_activity')
      .select(sql<number>`count(*)::int`.as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n - 1);

    await tdb.db.deleteFrom('shared_links').where('id', '=', linkId).execute();
    expect(await listActivityPage(tdb.db, linkId, { limit: 10 })).toEqual([]);
  });
});
