import { createRedis, type RedisConnection } from '@immish/runtime';
import { testRedis } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointSlots } from '../src/slots.ts';

/**
 * An endpoint's slots (issue 18 item 4: at most its 1–4 in flight across all workers), handed from one attempt to
 * the next within a process without a Redis round trip while the lease is young (README "Webhooks and link
 * activity", delivery speed).
 */
describe("an endpoint's slots", () => {
  const { url, prefix } = testRedis();
  let redis: RedisConnection;
  /** Redis calls the slots made (the real connection underneath, counted) */
  let calls = 0;
  const counted = () =>
    new Proxy(redis, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'eval' && name !== 'zrem') return value;
        return (...args: unknown[]) => {
          calls++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  beforeAll(() => {
    redis = createRedis({ REDIS_URL: url }, 'worker');
  });
  afterAll(() => redis.disconnect());

  /** `n` attempts to one endpoint in line in this process, each holding its slot `holdMs`; the most in flight */
  async function line(slots: EndpointSlots, endpoint: string, limit: number, n: number, holdMs: number) {
    let inFlight = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        expect(await slots.wait(endpoint, limit, `h${i}`, 5000)).toBe(true);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, holdMs));
        inFlight--;
        await slots.release(endpoint, `h${i}`);
      }),
    );
    return most;
  }

  it('should hand a released slot to the next waiter of this process without asking Redis, never over the limit', async () => {
    calls = 0;
    const slots = new EndpointSlots({ redis: counted(), prefix: `${prefix}a`, leaseMs: 15_000 });
    const most = await line(slots, 'e1', 2, 20, 5);
    expect(most).toBe(2);
    // two acquisitions, their final releases, and the newcomers' tries before the line formed: far below 2 per attempt
    expect(calls).toBeLessThan(10);
    expect(await redis.zcard(`${prefix}a:webhook-slots:{e1}`)).toBe(0);
  });

  it('should release a slot whose lease is too old to hand over, and take it again with a new lease', async () => {
    calls = 0;
    // every lease is "too old" at once: each turn goes through Redis (release, then acquire)
    const slots = new EndpointSlots({ redis: counted(), prefix: `${prefix}b`, leaseMs: 15_000, handOverMs: 16_000 });
    const most = await line(slots, 'e1', 1, 5, 5);
    expect(most).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(10);
    expect(await redis.zcard(`${prefix}b:webhook-slots:{e1}`)).toBe(0);
  });

  it('should keep a released slot idle for the next attempt here (no Redis call), and give it back after lingerMs', async () => {
    calls = 0;
    const slots = new EndpointSlots({ redis: counted(), prefix: `${prefix}d`, leaseMs: 15_000, lingerMs: 200 });
    const key = `${prefix}d:webhook-slots:{e1}`;
    // one attempt after another, none waiting for another: one acquisition for all of them
    for (let i = 0; i < 5; i++) {
      expect(await slots.wait('e1', 2, `s${i}`, 1000)).toBe(true);
      await slots.release('e1', `s${i}`);
    }
    expect(calls).toBe(1);
    expect(await redis.zcard(key)).toBe(1);
    // unused for lingerMs: released in Redis, another worker may have it
    await new Promise((r) => setTimeout(r, 400));
    expect(await redis.zcard(key)).toBe(0);
    // and close() gives an idle one back at once
    expect(await slots.wait('e1', 2, 'last', 1000)).toBe(true);
    await slots.release('e1', 'last');
    expect(await redis.zcard(key)).toBe(1);
    await slots.close();
    expect(await redis.zcard(key)).toBe(0);
  });

  it("should not hand over a slot beyond an endpoint's lowered concurrency", async () => {
    const slots = new EndpointSlots({ redis, prefix: `${prefix}e`, leaseMs: 15_000 });
    expect(await slots.wait('e1', 2, 'x', 1000)).toBe(true);
    expect(await slots.wait('e1', 2, 'y', 1000)).toBe(true);
    // the endpoint's concurrency is now 1: a waiter gets a slot only once both are released
    let got = false;
    const waiter = slots.wait('e1', 1, 'z', 5000).then((ok) => {
      got = ok;
    });
    await new Promise((r) => setTimeout(r, 30));
    await slots.release('e1', 'x');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toBe(false);
    await slots.release('e1', 'y');
    await waiter;
    expect(got).toBe(true);
    await slots.release('e1', 'z');
    expect(await redis.zcard(`${prefix}e:webhook-slots:{e1}`)).toBe(0);
  });

  it('should keep the limit across two workers while each hands slots over in its own line', async () => {
    const a = new EndpointSlots({ redis, prefix: `${prefix}c`, leaseMs: 15_000 });
    const b = new EndpointSlots({ redis, prefix: `${prefix}c`, leaseMs: 15_000 });
    let inFlight = 0;
    let most = 0;
    const run = (slots: EndpointSlots, who: string) =>
      Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          expect(await slots.wait('e1', 3, `${who}${i}`, 10_000)).toBe(true);
          most = Math.max(most, ++inFlight);
          await new Promise((r) => setTimeout(r, 5));
          inFlight--;
          await slots.release('e1', `${who}${i}`);
        }),
      );
    await Promise.all([run(a, 'a'), run(b, 'b')]);
    expect(most).toBeLessThanOrEqual(3);
    expect(await redis.zcard(`${prefix}c:webhook-slots:{e1}`)).toBe(0);
  });
});
