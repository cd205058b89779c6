import { randomUUID } from 'node:crypto';
import type { DomainEvent } from '@immish/contracts';
import { createUser, createWebhook, planDeliveriesOf, recordSuccesses } from '@immish/domain';
import { createTestDatabase, type TestDatabase } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batcher } from '../src/batch.ts';
import { SECRET_KEY } from './kit.ts';

/**
 * The worker's writes gathered (README "Webhooks and link activity", delivery speed): the fan-outs and the
 * successful attempts of the moment in one statement each, every caller getting its own result.
 */
describe('writes gathered into one statement', () => {
  it('should write what arrives together in one batch, a lone item at once, each caller getting its own result', async () => {
    const writes: number[][] = [];
    const batcher = new Batcher(async (items: number[]) => {
      writes.push(items);
      await new Promise((r) => setTimeout(r, 5));
      return items.map((i) => i * 10);
    });
    expect(await Promise.all([1, 2, 3, 4].map((i) => batcher.add(i)))).toEqual([10, 20, 30, 40]);
    expect(await batcher.add(5)).toBe(50);
    expect(writes).toEqual([[1, 2, 3, 4], [5]]);
  });

  it('should gather items arriving within lingerMs of the first into its batch', async () => {
    const writes: number[][] = [];
    const batcher = new Batcher(
      async (items: number[]) => {
        writes.push(items);
        return items;
      },
      { lingerMs: 100 },
    );
    const first = batcher.add(1);
    await new Promise((r) => setTimeout(r, 20));
    await Promise.all([first, batcher.add(2)]);
    expect(writes).toEqual([[1, 2]]);
  });

  it('should fail only the caller whose item fails, writing the others one by one', async () => {
    const batcher = new Batcher(async (items: number[]) => {
      if (items.includes(2)) throw new Error('bad item');
      return items;
    });
    const results = await Promise.allSettled([1, 2, 3].map((i) => batcher.add(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  describe('in PostgreSQL', () => {
    let tdb: TestDatabase;
    beforeAll(async () => {
      tdb = await createTestDatabase();
    });
    afterAll(() => tdb?.drop());

    const event = (ownerId: string): DomainEvent => {
      const albumId = randomUUID();
      return {
        id: randomUUID(),
        type: 'album.created',
        version: 1,
        occurredAt: new Date().toISOString(),
        actor: { type: 'user', id: ownerId },
        subject: { type: 'album', id: albumId },
        data: { albumId, ownerId },
      } as DomainEvent;
    };

    it("should plan several events' deliveries in one go, each event to its own owner's subscribed endpoints only, once", async () => {
      const settings = { allowPrivate: true, secretKey: SECRET_KEY };
      const a = await createUser(tdb.db, { email: 'a@batch.test', name: 'a', password: 'pw' });
      const b = await createUser(tdb.db, { email: 'b@batch.test', name: 'b', password: 'pw' });
      const url = 'http://127.0.0.1:9/hook';
      const a1 = await createWebhook(tdb.db, settings, a.id, { url, events: ['album.created'] });
      const a2 = await createWebhook(tdb.db, settings, a.id, { url, events: ['album.created'] });
      await createWebhook(tdb.db, settings, a.id, { url, events: ['album.deleted'] });
      const b1 = await createWebhook(tdb.db, settings, b.id, { url, events: ['album.created'] });
      const events = [event(a.id), event(b.id), event(a.id)];

      const planned = await planDeliveriesOf(tdb.db, events);
      const endpointsOf = (i: number) => planned[i]!.map((d) => d.endpoint_id).sort();
      expect(endpointsOf(0)).toEqual([a1.endpoint.id, a2.endpoint.id].sort());
      expect(endpointsOf(1)).toEqual([b1.endpoint.id]);
      expect(endpointsOf(2)).toEqual([a1.endpoint.id, a2.endpoint.id].sort());
      for (const [i, ds] of planned.entries()) {
        for (const d of ds) expect(d).toMatchObject({ event_id: events[i]!.id, status: 'pending', attempt_count: 0 });
      }
      // a re-run returns the same deliveries, written once
      const again = await planDeliveriesOf(tdb.db, events);
      expect(
        again
          .flat()
          .map((d) => d.id)
          .sort(),
      ).toEqual(
        planned
          .flat()
          .map((d) => d.id)
          .sort(),
      );

      // a failing streak ended by a success
      await tdb.db
        .updateTable('webhook_endpoints')
        .set({ failing_since: new Date() })
        .where('id', '=', a1.endpoint.id)
        .execute();
      const outcome = { statusCode: 204, error: null, latencyMs: 3.4, snippet: 'ok' };
      await recordSuccesses(
        tdb.db,
        planned.flat().map((d) => ({ d, outcome })),
      );
      const rows = await tdb.db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_attempts as t', 't.delivery_id', 'd.id')
        .select(['d.status', 'd.attempt_count', 't.attempt', 't.status_code', 't.latency_ms', 't.response_snippet'])
        .execute();
      expect(rows).toHaveLength(5);
      for (const r of rows) {
        expect(r).toEqual({
          status: 'succeeded',
          attempt_count: 1,
          attempt: 1,
          status_code: 204,
          latency_ms: 3,
          response_snippet: 'ok',
        });
      }
      const ep = await tdb.db
        .selectFrom('webhook_endpoints')
        .select('failing_since')
        .where('id', '=', a1.endpoint.id)
        .executeTakeFirstOrThrow();
      expect(ep.failing_since).toBeNull();
    });
  });
});
