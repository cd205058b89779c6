import { connect, createServer, type Server, type Socket } from 'node:net';
import { createDb, createPool, type Db } from '@immish/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinkActivityRecorder } from '../src/link-activity.ts';
import { eventually, type GatewayHarness, startGateway } from './harness.ts';

/**
 * The link counters are written in the background (the answer does not wait): exact once settled, and a write
 * that fails because the database is unreachable keeps its increments and is retried. The database is the
 * test's own, reached through a TCP relay this file can cut (a real PostgreSQL connection failure).
 */
let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

/**
 * The test's database reached through a TCP relay that can refuse connections (and drop the open ones) on
 * demand: `db` runs on it; `close()` ends both.
 */
async function dbThroughRelay(): Promise<{ db: Db; cut(): void; restore(): void; close(): Promise<void> }> {
  const target = new URL(h.tdb.url);
  let up = true;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!up) return client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        open.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = new URL(h.tdb.url);
  url.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const db = createDb(createPool({ connectionString: url.toString(), max: 2, connectionTimeoutMillis: 2000 }));
  return {
    db,
    cut() {
      up = false;
      for (const s of open) s.destroy();
    },
    restore() {
      up = true;
    },
    async close() {
      await db.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('LinkActivityRecorder', () => {
  it('should answer /me before its view is written, and count it', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const res = await h.app.inject(`/api/shared-links/me?key=${link.key}`);
    expect(res.statusCode).toBe(200);
    expect(await h.counters(link.id)).toEqual({ view: 1, download: 0, upload: 0 });
  });

  it('should add up views, downloads and uploads of several links exactly', async () => {
    const a = await h.createAsset();
    const links = await Promise.all([h.createLink({ assetIds: [a.id] }), h.createLink({ assetIds: [a.id] })]);
    const recorder = new LinkActivityRecorder(h.tdb.db);
    for (let i = 0; i < 25; i++) {
      recorder.count(links[0]!.id, 'view', 1, `req-${i}`);
      recorder.count(links[1]!.id, 'view');
      if (i % 5 === 0) recorder.count(links[0]!.id, 'download');
    }
    recorder.count(links[1]!.id, 'upload', 3);
    await recorder.settled();
    expect(await h.counters(links[0]!.id)).toEqual({ view: 25, download: 5, upload: 0 });
    expect(await h.counters(links[1]!.id)).toEqual({ view: 25, download: 0, upload: 3 });
    // coalesced: fewer events than views, adding up to the views
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', links[0]!.id)
      .where('type', '=', 'shared-link.viewed')
      .execute();
    const views = events.map((e) => (e.payload as { data: { views: number } }).data.views);
    expect(views.length).toBeLessThan(25);
    expect(views.reduce((s, v) => s + v, 0)).toBe(25);
  });

  it('should write a quiet link at once, then add up what arrives within the interval into one write', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const recorder = new LinkActivityRecorder(h.tdb.db, undefined, 60_000);
    recorder.count(link.id, 'view', 1, 'first');
    await eventually(async () => (await h.counters(link.id)).view === 1, 'the first view written at once');
    for (let i = 0; i < 10; i++) recorder.count(link.id, 'view', 1, `later-${i}`);
    // within the (60 s) interval nothing more is written…
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.counters(link.id)).view).toBe(1);
    // …until it ends (settled() ends it early): one write, one event for the ten
    await recorder.settled();
    expect((await h.counters(link.id)).view).toBe(11);
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select('payload')
      .where('aggregate_id', '=', link.id)
      .where('type', '=', 'shared-link.viewed')
      .orderBy('id')
      .execute();
    expect(events.map((e) => e.payload as { correlationId: string; data: { views: number } })).toMatchObject([
      { correlationId: 'first', data: { views: 1 } },
      { correlationId: 'later-0', data: { views: 10 } },
    ]);
    await recorder.drain();
  });

  it('should keep the increments of a failed write and write them once the database is reachable', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const relay = await dbThroughRelay();
    const failures: string[] = [];
    const recorder = new LinkActivityRecorder(relay.db, (_err, linkId, counts) =>
      failures.push(`${linkId}:${counts.view}/${counts.download}`),
    );
    try {
      relay.cut();
      recorder.count(link.id, 'view');
      recorder.count(link.id, 'view');
      recorder.count(link.id, 'download');
      await eventually(async () => failures.length > 0, 'a failed counter write');
      expect(failures[0]).toMatch(new RegExp(`^${link.id}:[12]/[01]$`));
      recorder.count(link.id, 'view'); // while the retry waits: added to it
      expect(await h.counters(link.id)).toEqual({ view: 0, download: 0, upload: 0 });
      relay.restore();
      await eventually(
        async () => (await h.counters(link.id)).view === 3,
        'the kept increments written by a retry',
        10_000,
      );
      await recorder.settled();
      expect(await h.counters(link.id)).toEqual({ view: 3, download: 1, upload: 0 });
    } finally {
      await recorder.drain();
      await relay.close();
    }
  });

  it('should write what is pending at drain() without waiting for the retry timer', async () => {
    const a = await h.createAsset();
    const link = await h.createLink({ assetIds: [a.id] });
    const relay = await dbThroughRelay();
    let failed = 0;
    const recorder = new LinkActivityRecorder(relay.db, () => failed++);
    try {
      relay.cut();
      recorder.count(link.id, 'upload', 2);
      await eventually(async () => failed > 0, 'a failed counter write');
      relay.restore();
      await recorder.drain(); // the retry timer (1 s) has not fired: drain writes it now
      expect(await h.counters(link.id)).toEqual({ view: 0, download: 0, upload: 2 });
    } finally {
      await relay.close();
    }
  });
});
