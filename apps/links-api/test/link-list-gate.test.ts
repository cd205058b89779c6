import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { insertAsset } from './shared-links.fixtures.ts';

/**
 * The owners' whole lists of links are built two at a time per process, 64 more wait in line, beyond that the
 * answer is 503 + Retry-After at once, and one user has at most 4 running or waiting (then 429) — app.ts says why.
 * The lists are held in the database (a lock on the links table) so that the counts do not depend on timing. A
 * single link (`?id=`) is never held up behind the lists.
 */
let h: LinksApiHarness;
/** 17 owners × 4 lists each = 68: 2 running + 64 waiting, and 2 refused */
let owners: TestUser[];

beforeAll(async () => {
  // the lists wait on purpose here: the response deadline must not cut them first
  h = await startLinksApi({ RESPONSE_DEADLINE_MS: '60000' });
  owners = [];
  for (let i = 0; i < 17; i++) owners.push(await h.newUser(`lister${i}`));
  for (const owner of owners.slice(0, 3)) {
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

const list = (owner: TestUser, url = '/api/shared-links') =>
  h.app.inject({ method: 'GET', url, headers: owner.headers });
type Answer = Awaited<ReturnType<typeof list>>;

/** Resolves with the first `n` answers of `status` among `answers`, as they come. */
const firstWith = (answers: Promise<Answer>[], status: number, n: number) =>
  new Promise<Answer[]>((resolve) => {
    const seen: Answer[] = [];
    for (const p of answers)
      void p.then((r) => {
        if (r.statusCode === status) seen.push(r);
        if (seen.length === n) resolve(seen);
      });
  });

/** Resolves once `n` statements of this test's database wait on a lock (each list blocked by the table lock). */
async function lockWaiters(n: number): Promise<void> {
  const probe = new pg.Client({ connectionString: h.tdb.url });
  await probe.connect();
  try {
    for (;;) {
      const { rows } = await probe.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      if ((rows[0]?.n ?? 0) >= n) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await probe.end();
  }
}

/**
 * Runs `during` while the links table is locked (every list blocks on its SELECT, holding its slot), then lets go.
 */
async function withLinksTableLocked(during: () => Promise<void>): Promise<void> {
  const locker = new pg.Client({ connectionString: h.tdb.url });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE shared_links IN ACCESS EXCLUSIVE MODE');
    await during();
  } finally {
    await locker.query('ROLLBACK').catch(() => {});
    await locker.end();
  }
}

/** Each owner's list as it is when nothing holds it. */
const unheldLists = async () => Promise.all(owners.map(async (o) => (await list(o)).json()));

describe('GET /api/shared-links under a burst', () => {
  it('should build two lists at a time, queue 64, refuse the rest with 503 + Retry-After, then answer every queued one', async () => {
    const unheld = await unheldLists();
    let answers: Promise<Answer>[] = [];
    await withLinksTableLocked(async () => {
      answers = owners.flatMap((o) => Array.from({ length: 4 }, () => list(o)));
      // the two refusals come at once, while the 66 others are held
      for (const r of await firstWith(answers, 503, 2)) {
        expect(r.headers['retry-after']).toBe('1');
        expect(r.json()).toMatchObject({
          statusCode: 503,
          message: 'Too many link lists in progress on this server; retry in a moment',
        });
      }
    });
    const all = await Promise.all(answers);
    expect(all.filter((r) => r.statusCode === 503)).toHaveLength(2);
    all.forEach((r, i) => {
      if (r.statusCode !== 503) expect(r.json()).toEqual(unheld[Math.floor(i / 4)]);
    });
    // nothing stays taken
    expect(await unheldLists()).toEqual(unheld);
  });

  it('should let one owner hold at most 4 lists (then 429), leaving the line to the others', async () => {
    const [greedy, other] = owners as [TestUser, TestUser];
    const unheld = await unheldLists();
    let mine: Promise<Answer>[] = [];
    let theirs: Promise<Answer> | undefined;
    await withLinksTableLocked(async () => {
      mine = Array.from({ length: 10 }, () => list(greedy));
      for (const r of await firstWith(mine, 429, 6)) {
        expect(r.headers['retry-after']).toBe('1');
        expect(r.json()).toMatchObject({
          statusCode: 429,
          message: 'Too many link lists of yours in progress; retry in a moment',
        });
      }
      theirs = list(other); // queued, not refused: the greedy owner holds 4 places, not the line
    });
    expect((await Promise.all(mine)).map((r) => r.statusCode).sort()).toEqual([
      ...Array(4).fill(200),
      ...Array(6).fill(429),
    ]);
    expect((await theirs)?.json()).toEqual(unheld[1]);
  });

  it("should count the console's list page against the same gate (its owner's fifth list is refused at once)", async () => {
    const greedy = owners[2] as TestUser;
    const signedIn = await h.app.inject({
      method: 'POST',
      url: '/login',
      headers: { host: 'console.test', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ email: greedy.email, password: 'pw' }).toString(),
    });
    const token = signedIn.cookies.find((c) => c.name === 'immich_access_token')?.value;
    expect(token).toBeDefined();
    const page = () =>
      h.app.inject({ url: '/links', headers: { host: 'console.test', cookie: `immich_access_token=${token}` } });
    const unheldPage = await page();
    expect(unheldPage.statusCode).toBe(200);
    let mine: Promise<Answer>[] = [];
    let refused: Answer | string | undefined;
    await withLinksTableLocked(async () => {
      mine = Array.from({ length: 4 }, () => list(greedy)); // the owner's four places, held by the lock
      // two of them in the gate's slots, blocked on the lock (seen by PostgreSQL), the other two behind them: a
      // fixed pause alone was too short on a loaded machine, where the page then took a place first
      await lockWaiters(2);
      await new Promise((r) => setTimeout(r, 100));
      // the page is the fifth: refused at once, not left waiting on the lock like the four
      refused = await Promise.race([page(), new Promise<string>((r) => setTimeout(() => r('waiting'), 2000))]);
    });
    expect(refused).not.toBe('waiting');
    expect((refused as Answer).statusCode).toBe(429);
    expect((refused as Answer).headers['retry-after']).toBe('1');
    expect((await Promise.all(mine)).map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    // counted back: the page is served again
    expect((await page()).statusCode).toBe(200);
  });

  it('should not hold a single link (?id=) behind the lists', async () => {
    const [withLinks] = owners as [TestUser];
    const [first] = (await list(withLinks)).json() as { id: string }[];
    let held: Promise<Answer>[] = [];
    let one: Promise<Answer> | undefined;
    await withLinksTableLocked(async () => {
      held = owners.flatMap((o) => Array.from({ length: 4 }, () => list(o)));
      // the gate is full (lists are refused at once); a single link still reaches the database: it is held by
      // the lock like the lists, not refused by their gate
      await firstWith(held, 503, 1);
      one = list(withLinks, `/api/shared-links?id=${first?.id}`);
      const raced = await Promise.race([
        one.then(() => 'answered'),
        new Promise((r) => setTimeout(() => r('waiting'), 300)),
      ]);
      expect(raced).toBe('waiting');
    });
    expect((await one)?.statusCode).toBe(200);
    const codes = (await Promise.all(held)).map((r) => r.statusCode).sort();
    expect(codes).toEqual([...Array(66).fill(200), 503, 503]);
  });
});
