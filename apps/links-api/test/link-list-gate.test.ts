import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { insertAsset } from './shared-links.fixtures.ts';

/**
 * The owner's whole list of links is built two at a time per process, 64 more wait in line, and beyond that the
 * answer is 503 + Retry-After at once (app.ts says why). The lists are held in the database (a lock on the links
 * table) so that the count does not depend on timing: 2 running + 64 waiting + 3 refused, then every waiting
 * list completes with the same answer. A single link (`?id=`) is never held up behind the lists.
 */
let h: LinksApiHarness;
let owner: TestUser;

beforeAll(async () => {
  // the lists wait on purpose here: the response deadline must not cut them first
  h = await startLinksApi({ RESPONSE_DEADLINE_MS: '60000' });
  owner = await h.newUser('lister');
  for (let i = 0; i < 3; i++) {
    const id = randomUUID();
    await h.tdb.db
      .insertInto('shared_links')
      .values({ id, owner_id: owner.id, type: 'INDIVIDUAL', key: randomUUID() })
      .execute();
    await h.tdb.db
      .insertInto('shared_link_assets')
      .values({ link_id: id, asset_id: await insertAsset(h.tdb.db, owner.id) })
      .execute();
  }
});
afterAll(async () => {
  await h?.close();
});

const list = (url = '/api/shared-links') => h.app.inject({ method: 'GET', url, headers: owner.headers });
type Answer = Awaited<ReturnType<typeof list>>;

/** Resolves with the first `n` 503 answers among `answers`, as they come. */
const refusals = (answers: Promise<Answer>[], n: number) =>
  new Promise<Answer[]>((resolve) => {
    const seen: Answer[] = [];
    for (const p of answers)
      void p.then((r) => {
        if (r.statusCode === 503) seen.push(r);
        if (seen.length === n) resolve(seen);
      });
  });

describe('GET /api/shared-links under a burst', () => {
  it('should build two lists at a time, queue 64, refuse the rest with 503 + Retry-After, then answer every queued one', async () => {
    const unheld = (await list()).json();
    expect(unheld).toHaveLength(3);
    const probe = unheld[0].id as string;

    const locker = new pg.Client({ connectionString: h.tdb.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      // writers and readers alike wait: the two lists that run block on their SELECT, holding their slots
      await locker.query('LOCK TABLE shared_links IN ACCESS EXCLUSIVE MODE');
      const settled = Array.from({ length: 2 + 64 + 3 }, () => list());
      // the three refusals come at once, while the 66 others are held
      const refused = await refusals(settled, 3);
      for (const r of refused) {
        expect(r.headers['retry-after']).toBe('1');
        expect(r.json()).toMatchObject({
          statusCode: 503,
          message: 'Too many link lists in progress on this server; retry in a moment',
        });
      }
      await locker.query('COMMIT');
      const all = await Promise.all(settled);
      expect(all.filter((r) => r.statusCode === 503)).toHaveLength(3);
      const served = all.filter((r) => r.statusCode !== 503);
      expect(served).toHaveLength(66);
      for (const r of served) {
        expect(r.statusCode).toBe(200);
        expect(r.json()).toEqual(unheld);
      }
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }

    // nothing stays taken: a list and a single link answer at once afterwards
    expect((await list()).json()).toEqual(unheld);
    expect((await list(`/api/shared-links?id=${probe}`)).json()).toEqual([unheld[0]]);
  });

  it('should not hold a single link (?id=) behind the lists', async () => {
    const [first] = (await list()).json() as { id: string }[];
    const locker = new pg.Client({ connectionString: h.tdb.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE shared_links IN ACCESS EXCLUSIVE MODE');
      const held = Array.from({ length: 2 + 64 + 1 }, () => list());
      // the gate is full (the last list is refused at once); a single link still reaches the database: it is
      // held by the lock like the lists, not refused by their gate
      await refusals(held, 1);
      const one = list(`/api/shared-links?id=${first?.id}`);
      const raced = await Promise.race([
        one.then(() => 'answered'),
        new Promise((r) => setTimeout(() => r('waiting'), 300)),
      ]);
      expect(raced).toBe('waiting');
      await locker.query('COMMIT');
      expect((await one).statusCode).toBe(200);
      const codes = (await Promise.all(held)).map((r) => r.statusCode).sort();
      expect(codes).toEqual([...Array(66).fill(200), 503]);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end();
    }
  });
});
