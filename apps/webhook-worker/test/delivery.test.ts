import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Receiver,
  register,
  startReceiver,
  startWebhookHarness,
  until,
  verifyAll,
  type WebhookHarness,
} from './kit.ts';

/**
 * Issue 18 items 2–3 and 5: real receivers on loopback (WEBHOOK_ALLOW_PRIVATE=true), every delivery checked with
 * the `standardwebhooks` package. Retry waits are shortened (WEBHOOK_RETRY_DELAYS_MS=100), the schedule is not.
 */
let h: WebhookHarness;
const receivers: Receiver[] = [];

beforeAll(async () => {
  h = await startWebhookHarness();
  await h.startWorker({ WEBHOOK_TIMEOUT_MS: 1000 });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await h?.close();
});

async function receiver(answer?: Receiver['answer']) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

const createAlbum = async (name: string, user = h.owner) => {
  const res = await h.call('POST', '/api/albums', user, { albumName: name });
  expect(res.statusCode).toBe(201);
  return res.json().id as string;
};

const outboxEventId = async (type: string, albumId: string) =>
  (
    await h.api.tdb.db
      .selectFrom('outbox_events')
      .select('id')
      .where('type', '=', type)
      .where('aggregate_id', '=', albumId)
      .executeTakeFirstOrThrow()
  ).id;

const deliveries = async (id: string) => {
  const res = await h.call('GET', `/api/webhooks/${id}/deliveries`, h.owner);
  expect(res.statusCode).toBe(200);
  return res.json().items as {
    id: string;
    eventId: string;
    status: string;
    attempts: { statusCode: number | null; error: string | null }[];
  }[];
};

describe('registration', () => {
  it('should show the secret once and never again, and refuse an unknown event name or a malformed URL with 400', async () => {
    const r = await receiver();
    const created = await register(h, r.url, ['album.created']);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const got = await h.call('GET', `/api/webhooks/${created.id}`, h.owner);
    expect(got.statusCode).toBe(200);
    expect(got.json()).not.toHaveProperty('secret');
    expect(JSON.stringify((await h.call('GET', '/api/webhooks', h.owner)).json())).not.toContain(
      created.secret.slice(6),
    );
    // the stored form is sealed, not the secret
    const row = await h.api.tdb.db
      .selectFrom('webhook_endpoints')
      .select('secret_sealed')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_sealed).not.toContain(created.secret.slice(6, 20));

    const badEvent = await h.call('POST', '/api/webhooks', h.owner, { url: r.url, events: ['asset.stored'] });
    expect(badEvent.statusCode).toBe(400);
    const badUrl = await h.call('POST', '/api/webhooks', h.owner, { url: 'not a url', events: ['album.created'] });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json().message).toMatch(/url/);
    await h.call('DELETE', `/api/webhooks/${created.id}`, h.owner);
  });

  it("should keep each owner's endpoints to themselves (another owner gets 400 on read, change, delete, test)", async () => {
    const r = await receiver();
    const mine = await register(h, r.url, ['album.created']);
    const other = await h.api.newUser('other');
    for (const [method, url, body] of [
      ['GET', `/api/webhooks/${mine.id}`],
      ['PATCH', `/api/webhooks/${mine.id}`, { enabled: false }],
      ['DELETE', `/api/webhooks/${mine.id}`],
      ['POST', `/api/webhooks/${mine.id}/test`],
      ['GET', `/api/webhooks/${mine.id}/deliveries`],
    ] as const) {
      const res = await h.call(method, url, other, body);
      expect(res.statusCode, `${method} ${url}`).toBe(400);
    }
    expect((await h.call('GET', '/api/webhooks', other)).json()).toEqual([]);
    await h.call('DELETE', `/api/webhooks/${mine.id}`, h.owner);
  });
});

describe('delivery', () => {
  it("should deliver the owner's subscribed event once, signed, with webhook-id = event id, and nothing of another owner's", async () => {
    const r = await receiver();
    const hook = await register(h, r.url, ['album.created']);
    const stranger = await h.api.newUser('stranger');
    await createAlbum('not mine', stranger);
    const albumId = await createAlbum('mine');
    await until('one delivery', () => r.received.length >= 1);
    await new Promise((ok) => setTimeout(ok, 500)); // room for a wrong extra delivery to arrive
    expect(r.received).toHaveLength(1);
    const [body] = verifyAll(hook.secret, r.received);
    expect(body).toEqual({
      type: 'album.created',
      timestamp: expect.any(String),
      data: { albumId, ownerId: h.owner.id },
    });
    expect(r.received[0]!.headers['webhook-id']).toBe(await outboxEventId('album.created', albumId));
    expect(r.received[0]!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // the event type filter: album.updated is not subscribed
    await h.call('PATCH', `/api/albums/${albumId}`, h.owner, { albumName: 'renamed' });
    await new Promise((ok) => setTimeout(ok, 500));
    expect(r.received).toHaveLength(1);
    await until('the delivery recorded', async () => (await deliveries(hook.id))[0]?.status === 'succeeded');
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
  });

  it('should retry a receiver that fails 3 times and deliver the same webhook-id each time until it succeeds', async () => {
    const r = await receiver((i, res) => {
      res.statusCode = i < 3 ? 500 : 204;
      res.end(i < 3 ? 'x'.repeat(5000) : '');
      return undefined;
    });
    const hook = await register(h, r.url, ['album.created']);
    const albumId = await createAlbum('retried');
    await until('four attempts', () => r.received.length >= 4);
    const bodies = verifyAll(hook.secret, r.received);
    expect(bodies.every((b) => b.type === 'album.created' && b.data.albumId === albumId)).toBe(true);
    const ids = new Set(r.received.map((x) => x.headers['webhook-id']));
    expect([...ids]).toEqual([await outboxEventId('album.created', albumId)]);
    await until('the delivery log', async () => (await deliveries(hook.id))[0]?.status === 'succeeded');
    const [log] = await deliveries(hook.id);
    expect(log!.attempts.map((a) => a.statusCode)).toEqual([500, 500, 500, 204]);
    // the response snippet is cut at 1 KB
    const full = (await h.call('GET', `/api/webhooks/${hook.id}/deliveries`, h.owner)).json();
    expect(full.items[0].attempts[0].responseSnippet).toBe('x'.repeat(1024));
    expect(r.received).toHaveLength(4);
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
  });

  it('should disable an endpoint that answers 410, and say why on GET', async () => {
    const r = await receiver((_, res) => {
      res.statusCode = 410;
      res.end('gone');
      return undefined;
    });
    const hook = await register(h, r.url, ['album.created']);
    await createAlbum('to a gone endpoint');
    await until(
      'disabled',
      async () => (await h.call('GET', `/api/webhooks/${hook.id}`, h.owner)).json().enabled === false,
    );
    const got = (await h.call('GET', `/api/webhooks/${hook.id}`, h.owner)).json();
    expect(got.disabledReason).toMatch(/410/);
    expect(r.received).toHaveLength(1);
    // disabled: the next event is not sent
    await createAlbum('after disabling');
    await new Promise((ok) => setTimeout(ok, 500));
    expect(r.received).toHaveLength(1);
    // enabling again clears the reason
    const again = await h.call('PATCH', `/api/webhooks/${hook.id}`, h.owner, { enabled: true });
    expect(again.json()).toMatchObject({ enabled: true, disabledReason: null });
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
  });

  it('should time out a hanging receiver (WEBHOOK_TIMEOUT_MS, 10 s by default, 1 s here) and retry it', async () => {
    const r = await receiver((i, res) => {
      if (i === 0) return 'hang';
      res.end('ok');
      return undefined;
    });
    const hook = await register(h, r.url, ['album.created']);
    await createAlbum('hanging');
    await until('the retry', () => r.received.length >= 2);
    verifyAll(hook.secret, r.received);
    expect(r.received[0]!.headers['webhook-id']).toBe(r.received[1]!.headers['webhook-id']);
    await until('the delivery log', async () => (await deliveries(hook.id))[0]?.status === 'succeeded');
    const [log] = await deliveries(hook.id);
    expect(log!.attempts[0]).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/no answer within 1000 ms/),
    });
    expect(log!.attempts[1]).toMatchObject({ statusCode: 200 });
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
  });

  it('should disable an endpoint that has failed for the whole retry window (24 h), with the reason on GET', async () => {
    const r = await receiver((_, res) => {
      res.statusCode = 503;
      res.end();
      return undefined;
    });
    const hook = await register(h, r.url, ['album.created']);
    // the endpoint has been failing for just over 24 h: its next failure is its last
    await h.api.tdb.db
      .updateTable('webhook_endpoints')
      .set({ failing_since: new Date(Date.now() - 24 * 3_600_000 - 60_000) })
      .where('id', '=', hook.id)
      .execute();
    await createAlbum('failing');
    await until(
      'disabled',
      async () => (await h.call('GET', `/api/webhooks/${hook.id}`, h.owner)).json().enabled === false,
    );
    const got = (await h.call('GET', `/api/webhooks/${hook.id}`, h.owner)).json();
    expect(got.disabledReason).toMatch(/every delivery failed for 24 h \(last: HTTP 503\)/);
    expect(r.received).toHaveLength(1);
    const [log] = await deliveries(hook.id);
    expect(log).toMatchObject({ status: 'failed' });
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
  });

  it("should keep at most the endpoint's concurrency in flight at once, and sign with that endpoint's secret only", async () => {
    let inFlight = 0;
    let most = 0;
    const r = await receiver((_, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 150);
      return undefined;
    });
    const hook = await register(h, r.url, ['album.created']);
    const other = await register(h, r.url, ['album.updated']);
    const one = await h.call('PATCH', `/api/webhooks/${hook.id}`, h.owner, { concurrency: 1 });
    expect(one.json().concurrency).toBe(1);
    for (let i = 0; i < 5; i++) await createAlbum(`burst ${i}`);
    await until('five deliveries', () => r.received.length >= 5);
    expect(most).toBe(1);
    verifyAll(hook.secret, r.received);
    expect(() => verifyAll(other.secret, r.received.slice(0, 1))).toThrow();
    const tooMany = await h.call('PATCH', `/api/webhooks/${hook.id}`, h.owner, { concurrency: 5 });
    expect(tooMany.statusCode).toBe(400);
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
    await h.call('DELETE', `/api/webhooks/${other.id}`, h.owner);
  });

  it('should send a signed webhook.ping on POST …/test, and attempt a delivery again on POST …/retry', async () => {
    let ok = false;
    const r = await receiver((_, res) => {
      res.statusCode = ok ? 200 : 400;
      res.end();
      return undefined;
    });
    const hook = await register(h, r.url, ['album.created']);
    // 400 is retried too; a window of 0.5 s ends the retries quickly so the manual retry is what delivers
    const ping = await h.call('POST', `/api/webhooks/${hook.id}/test`, h.owner);
    expect(ping.statusCode).toBe(202);
    await until('the ping', () => r.received.length >= 1);
    const [body] = verifyAll(hook.secret, r.received.slice(0, 1));
    expect(body).toMatchObject({ type: 'webhook.ping', data: { webhookId: hook.id } });
    expect(r.received[0]!.headers['webhook-id']).toBe(ping.json().eventId);
    ok = true;
    await until('the retry', async () => (await deliveries(hook.id))[0]?.status === 'succeeded');
    const [log] = await deliveries(hook.id);
    const retry = await h.call('POST', `/api/webhooks/${hook.id}/deliveries/${log!.id}/retry`, h.owner);
    expect(retry.statusCode).toBe(202);
    await until(
      'a manual attempt',
      async () => (await deliveries(hook.id))[0]!.attempts.length === log!.attempts.length + 1,
    );
    expect(new Set(r.received.map((x) => x.headers['webhook-id'])).size).toBe(1);
    const unknown = await h.call('POST', `/api/webhooks/${hook.id}/deliveries/${hook.id}/retry`, h.owner);
    expect(unknown.statusCode).toBe(400);
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
  });
});
