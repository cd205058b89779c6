import { isNonPublicAddress, resolveWebhookTarget } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi } from '../../links-api/test/harness.ts';
import { sendWebhook } from '../src/send.ts';
import {
  type Receiver,
  register,
  SECRET_KEY,
  startReceiver,
  startWebhookHarness,
  until,
  type WebhookHarness,
} from './kit.ts';

/**
 * Issue 18 item 4: webhook URLs must be https and reach only public addresses — checked at registration AND at
 * every delivery, against the address actually connected to — unless WEBHOOK_ALLOW_PRIVATE=true.
 */
describe('the address rule', () => {
  it('should call loopback, private, link-local, metadata, ULA and mapped forms non-public, and public ones public', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      'fc00::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a00:1',
      '2002:a00:1::1',
    ]) {
      expect(isNonPublicAddress(ip), ip).toBe(true);
    }
    for (const ip of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1']) {
      expect(isNonPublicAddress(ip), ip).toBe(false);
    }
  });

  it('should refuse a name that resolves to a public and a private address (a rebinding setup)', async () => {
    const resolve = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ];
    await expect(resolveWebhookTarget('https://rebind.example/', { allowPrivate: false, resolve })).rejects.toThrow(
      /loopback, private/,
    );
  });
});

describe('registration without WEBHOOK_ALLOW_PRIVATE', () => {
  let api: LinksApiHarness;
  beforeAll(async () => {
    api = await startLinksApi({ WEBHOOK_SECRET_KEY: SECRET_KEY });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('should refuse 127.0.0.1, 10.x, 169.254.169.254, [::1], localhost and plain http with a 400 naming the rule', async () => {
    const owner = await api.newUser('owner');
    const post = (url: string) =>
      api.app.inject({
        method: 'POST',
        url: '/api/webhooks',
        headers: owner.headers,
        payload: { url, events: ['album.created'] },
      });
    for (const url of [
      'https://127.0.0.1/hook',
      'https://10.0.0.5/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://localhost:8443/hook',
    ]) {
      const res = await post(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message, url).toMatch(/loopback, private, link-local or metadata/);
    }
    const http = await post('http://93.184.216.34/hook');
    expect(http.statusCode).toBe(400);
    expect(http.json().message).toBe('url must use https');
    expect(await api.tdb.db.selectFrom('webhook_endpoints').select('id').execute()).toEqual([]);
  });

  it('should answer 503 when webhooks are not configured (no WEBHOOK_SECRET_KEY)', async () => {
    const bare = await startLinksApi();
    try {
      const u = await bare.newUser('owner');
      const res = await bare.app.inject({
        method: 'POST',
        url: '/api/webhooks',
        headers: u.headers,
        payload: { url: 'https://93.184.216.34/hook', events: ['album.created'] },
      });
      expect(res.statusCode).toBe(503);
    } finally {
      await bare.close();
    }
  });
});

describe('delivery', () => {
  let h: WebhookHarness;
  const receivers: Receiver[] = [];
  beforeAll(async () => {
    h = await startWebhookHarness();
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await h?.close();
  });

  it('should check the address again at delivery: an endpoint registered while allowed is refused by a worker without the flag', async () => {
    const r = await startReceiver();
    receivers.push(r);
    const hook = await register(h, r.url, ['album.created']);
    const w = await h.startWorker({ WEBHOOK_ALLOW_PRIVATE: false, WEBHOOK_RETRY_WINDOW_MS: 60_000 });
    await h.call('POST', '/api/albums', h.owner, { albumName: 'refused' });
    await until('a refused attempt', async () => {
      const [d] = (await h.call('GET', `/api/webhooks/${hook.id}/deliveries`, h.owner)).json().items;
      return (d?.attempts?.length ?? 0) >= 1;
    });
    const [d] = (await h.call('GET', `/api/webhooks/${hook.id}/deliveries`, h.owner)).json().items;
    expect(d.attempts[0]).toMatchObject({
      statusCode: null,
      error: expect.stringMatching(/^refused: url must use https/),
    });
    expect(r.received).toHaveLength(0);
    await w.close();
    await h.call('DELETE', `/api/webhooks/${hook.id}`, h.owner);
  });

  it('should connect to the checked address, never to what the name resolves to later (no second lookup)', async () => {
    const r = await startReceiver();
    receivers.push(r);
    const port = new URL(r.url).port;
    // a name no resolver knows: the request can only arrive through the pinned address
    const target = { url: new URL(`http://hooks.invalid:${port}/hook`), address: '127.0.0.1', family: 4 as const };
    const outcome = await sendWebhook(target, { 'webhook-id': 'x' }, '{}', 2000);
    expect(outcome.statusCode).toBe(200);
    expect(r.received[0]!.headers.host).toBe(`hooks.invalid:${port}`);
  });

  it('should not follow a redirect (a 3xx is a failed attempt)', async () => {
    const elsewhere = await startReceiver();
    const r = await startReceiver((_, res) => {
      res.statusCode = 307;
      res.setHeader('location', elsewhere.url);
      res.end();
      return undefined;
    });
    receivers.push(r, elsewhere);
    const outcome = await sendWebhook({ url: new URL(r.url), address: '127.0.0.1', family: 4 }, {}, '{}', 2000);
    expect(outcome.statusCode).toBe(307);
    expect(elsewhere.received).toHaveLength(0);
  });
});
