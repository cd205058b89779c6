import { BullEventPublisher, OutboxRelay } from '@immish/db';
import { createWebhook } from '@immish/domain';
import { createLogger, createRedis } from '@immish/runtime';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebhookWorker } from '../../webhook-worker/src/worker.ts';
import { type Receiver, SECRET_KEY, startReceiver, until, verifyAll } from '../../webhook-worker/test/kit.ts';
import { type ConsoleStack, consoleScreenshot, seriousViolations, signIn, startConsoleStack } from './console-kit.ts';
import type { TestUser } from './harness.ts';

/**
 * Issue 18 item 6 in Debian's Chromium at 390 px: the Webhooks screen adds an endpoint that points at a real
 * receiver on loopback (WEBHOOK_ALLOW_PRIVATE=true), shows its secret once (gone after a reload), sends a test
 * that the receiver gets and verifies with the `standardwebhooks` package, lists the delivery; a failing
 * receiver's delivery shows its status and answer, and Retry delivers it again; disable and delete. The outbox
 * relay and the webhook worker run in this process. axe-core on each page, screenshots under test-results/.
 */
const VIEWPORT = { width: 390, height: 844 };
let stack: ConsoleStack;
let owner: TestUser;
let relay: OutboxRelay;
let publisher: BullEventPublisher;
let worker: { close(): Promise<void> };
const receivers: Receiver[] = [];

beforeAll(async () => {
  stack = await startConsoleStack({ WEBHOOK_SECRET_KEY: SECRET_KEY, WEBHOOK_ALLOW_PRIVATE: 'true' });
  const h = stack.h;
  owner = await stack.signInUser('webhook-owner');
  publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: h.redisUrl }, 'producer'),
    prefix: h.prefix,
  });
  relay = new OutboxRelay({ db: h.tdb.db, databaseUrl: h.tdb.url, publisher, pollIntervalMs: 100 });
  relay.start();
  worker = await startWebhookWorker({
    db: h.tdb.db,
    logger: createLogger({ service: 'webhook-test', level: 'silent' }),
    config: {
      REDIS_URL: h.redisUrl,
      QUEUE_PREFIX: h.prefix,
      WEBHOOK_CONCURRENCY: 4,
      WEBHOOK_TIMEOUT_MS: 5000,
      // one attempt, then "failed" (the next wait falls past the window): the log shows Retry at once
      WEBHOOK_RETRY_DELAYS_MS: '600000',
      WEBHOOK_RETRY_WINDOW_MS: 300_000,
      WEBHOOK_LOCK_DURATION_MS: 30_000,
      WEBHOOK_ALLOW_PRIVATE: true,
      WEBHOOK_SECRET_KEY: SECRET_KEY,
    },
  });
});

afterAll(async () => {
  await worker?.close();
  await relay?.stop();
  await publisher?.close();
  await Promise.all(receivers.map((r) => r.close()));
  await stack?.close();
});

async function receiver(answer?: Receiver['answer']) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

const text = async (l: Locator) => (await l.textContent())?.trim() ?? null;

async function noHorizontalScroll(page: Page) {
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(VIEWPORT.width);
}

/** Adds an endpoint through the form; returns its id and the secret the answer page shows. */
async function addEndpoint(page: Page, url: string, description: string): Promise<{ id: string; secret: string }> {
  await page.goto(`${stack.consoleUrl}/webhooks`);
  await page.waitForSelector('body.page-webhooks[data-ready="true"]');
  await page.getByLabel('Endpoint URL').fill(url);
  await page.getByLabel('Description').fill(description);
  await page.getByLabel('album.created').check();
  await page.getByLabel('export.completed').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.waitForSelector('body.page-webhook-created[data-ready="true"]');
  const secret = await page.getByLabel('Signing secret').inputValue();
  const id = (await page.locator('#webhook-created').getAttribute('data-webhook-id')) ?? '';
  return { id, secret };
}

/** Reloads the endpoint page until `probe` holds (the delivery log is a server-rendered page). */
async function reloadUntil(page: Page, what: string, probe: () => Promise<boolean>) {
  await until(
    what,
    async () => {
      await page.reload();
      await page.waitForSelector('body.page-webhook[data-ready="true"]');
      return probe();
    },
    30_000,
  );
}

describe('console Webhooks screen', () => {
  it('should add an endpoint, show its secret once, send a verified test, retry a failed delivery, disable and delete', async () => {
    const ok = await receiver();
    let failNext = true;
    const flaky = await receiver((_, res) => {
      if (failNext) {
        failNext = false;
        res.statusCode = 500;
        res.end('receiver says no');
      } else res.end('fine now');
      return undefined;
    });

    const { context, page, problems } = await stack.newPage(VIEWPORT);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.consoleUrl });
    await signIn(page, stack.consoleUrl, owner.email);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.waitForSelector('body.page-webhooks[data-ready="true"]');
    expect(await text(page.locator('.empty'))).toBe('No endpoints yet.');
    expect(await seriousViolations(page)).toEqual([]);

    // nothing ticked: the form again with the reason and the typed values
    await page.getByLabel('Endpoint URL').fill(ok.url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.waitForSelector('body.page-webhooks[data-ready="true"] #notice.error');
    expect(await page.locator('#notice').textContent()).toContain('Choose at least one event');
    expect(await page.getByLabel('Endpoint URL').inputValue()).toBe(ok.url);

    // added: the secret, once, with Copy
    const first = await addEndpoint(page, ok.url, 'Home automation');
    expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    await page.getByRole('button', { name: 'Copy secret' }).click();
    await page.waitForSelector('#wh-copy:has-text("Copied")');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(first.secret);
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'webhooks-created-390');
    await noHorizontalScroll(page);
    // a reload is the endpoint's own page: no secret anywhere
    await page.reload();
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    expect(page.url()).toBe(`${stack.consoleUrl}/webhooks/${first.id}`);
    expect(await page.locator('#wh-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(first.secret.slice(6));
    expect(await page.locator('.delivery').count()).toBe(0);

    // Send test: the receiver gets a ping it can verify; the log shows it delivered
    await Promise.all([page.waitForURL(/notice=testSent/), page.getByRole('button', { name: 'Send test' }).click()]);
    await until('the ping at the receiver', () => ok.received.length === 1);
    const [ping] = verifyAll(first.secret, ok.received);
    expect(ping).toMatchObject({ type: 'webhook.ping', data: { webhookId: first.id } });
    await reloadUntil(
      page,
      'the ping in the log',
      async () => (await page.locator('.delivery-succeeded').count()) === 1,
    );
    const delivered = page.locator('.delivery').first();
    expect(await text(delivered.locator('.delivery-type'))).toBe('webhook.ping');
    expect(await text(delivered.locator('.delivery-status'))).toBe('Delivered');
    expect(await text(delivered.locator('.delivery-answer'))).toBe('HTTP 200');
    expect(await delivered.locator('.delivery-latency').textContent()).toMatch(/^\d+ ms$/);
    expect(await text(delivered.locator('.delivery-snippet'))).toBe('ok');
    expect(await delivered.getAttribute('data-event-id')).toBe(String(ok.received[0]!.headers['webhook-id']));
    expect(await delivered.getByRole('button', { name: /^Retry/ }).count()).toBe(0);

    // a real event of a subscribed type reaches it too
    const album = await stack.h.app.inject({
      method: 'POST',
      url: '/api/albums',
      headers: owner.headers,
      payload: { albumName: 'Hooked' },
    });
    expect(album.statusCode).toBe(201);
    await until('the album.created delivery', () => ok.received.length === 2);
    expect(verifyAll(first.secret, ok.received)[1]).toMatchObject({
      type: 'album.created',
      data: { albumId: album.json().id },
    });

    // a failing receiver: the delivery shows its status and answer; Retry delivers it again with the same id
    const second = await addEndpoint(page, flaky.url, 'Flaky');
    await page.getByRole('link', { name: 'Deliveries and settings' }).click();
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    await Promise.all([page.waitForURL(/notice=testSent/), page.getByRole('button', { name: 'Send test' }).click()]);
    await until('the failing attempt', () => flaky.received.length === 1);
    await reloadUntil(page, 'the failed delivery', async () => (await page.locator('.delivery-failed').count()) === 1);
    const failed = page.locator('.delivery-failed');
    expect(await text(failed.locator('.delivery-status'))).toBe('Failed');
    expect(await text(failed.locator('.delivery-answer'))).toBe('HTTP 500');
    expect(await text(failed.locator('.delivery-snippet'))).toBe('receiver says no');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'webhooks-failed-delivery-390');
    await noHorizontalScroll(page);
    await Promise.all([
      page.waitForURL(/notice=retried/),
      failed.getByRole('button', { name: /^Retry webhook\.ping/ }).click(),
    ]);
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    expect(await page.locator('#notice').textContent()).toBe('Delivery queued again');
    await until('the retried delivery', () => flaky.received.length === 2);
    const bodies = verifyAll(second.secret, flaky.received);
    expect(bodies.map((b) => b.type)).toEqual(['webhook.ping', 'webhook.ping']);
    expect(flaky.received[1]!.headers['webhook-id']).toBe(flaky.received[0]!.headers['webhook-id']);
    await reloadUntil(
      page,
      'the retry in the log',
      async () => (await page.locator('.delivery-succeeded').count()) === 1,
    );
    expect(await text(page.locator('.delivery-attempts'))).toBe('2');
    // the label names the figure ("Attempts 2"), it does not repeat it ("2 attempts 2")
    expect(await text(page.locator('.delivery-attempts').locator('xpath=preceding-sibling::dt'))).toBe('Attempts');

    // disable: the state and the button change, and events no longer reach it
    await Promise.all([page.waitForURL(/notice=disabled/), page.getByRole('button', { name: 'Disable' }).click()]);
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    expect(await text(page.locator('#notice'))).toBe('Endpoint disabled');
    expect(await text(page.locator('section.webhook .webhook-state'))).toBe('Disabled');
    expect(await page.getByRole('button', { name: 'Enable' }).isVisible()).toBe(true);
    const row = await stack.h.tdb.db
      .selectFrom('webhook_endpoints')
      .select('enabled')
      .where('id', '=', second.id)
      .executeTakeFirstOrThrow();
    expect(row.enabled).toBe(false);

    // the list: both endpoints, their state
    await page.getByRole('link', { name: 'All endpoints' }).click();
    await page.waitForSelector('body.page-webhooks[data-ready="true"]');
    expect(await page.locator('li.webhook').count()).toBe(2);
    expect(await text(page.locator(`#webhook-${second.id} .webhook-state`))).toBe('Disabled');
    expect(await text(page.locator(`#webhook-${first.id} .webhook-state`))).toBe('Enabled');
    expect(await seriousViolations(page)).toEqual([]);
    await consoleScreenshot(page, 'webhooks-list-390');
    await noHorizontalScroll(page);

    // delete, after a confirmation page
    await page.getByRole('link', { name: `Deliveries and settings of ${ok.url}` }).click();
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForSelector('#delete-webhook-page');
    expect(await page.locator('#delete-text').textContent()).toContain(ok.url);
    expect(await seriousViolations(page)).toEqual([]);
    await Promise.all([
      page.waitForURL(`${stack.consoleUrl}/webhooks?notice=deleted`),
      page.getByRole('button', { name: 'Delete endpoint' }).click(),
    ]);
    expect(await text(page.locator('#notice'))).toBe('Endpoint deleted');
    expect(await page.locator('li.webhook').count()).toBe(1);
    const left = await stack.h.tdb.db.selectFrom('webhook_endpoints').select('id').execute();
    expect(left.map((r) => r.id)).toEqual([second.id]);
    expect(problems).toEqual([]);
  });

  it('should page the delivery log with a plain Older link (50 a page, newest first), and go back to the newest', async () => {
    const { endpoint } = await createWebhook(stack.h.tdb.db, { allowPrivate: true, secretKey: SECRET_KEY }, owner.id, {
      url: 'http://127.0.0.1:9/paged',
      events: ['album.created'],
    });
    const newest = Date.now() - 60_000;
    await stack.h.tdb.db
      .insertInto('webhook_deliveries')
      .values(
        Array.from({ length: 60 }, (_, i) => ({
          endpoint_id: endpoint.id,
          event_id: crypto.randomUUID(),
          event_type: 'album.created',
          body: '{}',
          status: 'succeeded' as const,
          created_at: new Date(newest - i * 1000),
        })),
      )
      .execute();
    const order = (
      await stack.h.tdb.db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('endpoint_id', '=', endpoint.id)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute()
    ).map((r) => r.id);

    const { page, problems } = await stack.newPage(VIEWPORT);
    await signIn(page, stack.consoleUrl, owner.email);
    await page.goto(`${stack.consoleUrl}/webhooks/${endpoint.id}`);
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    const shown = () =>
      page.locator('.delivery').evaluateAll((els) => els.map((e) => e.getAttribute('data-delivery-id')));
    expect(await shown()).toEqual(order.slice(0, 50));
    const older = page.getByRole('link', { name: 'Older' });
    expect(await older.getAttribute('href')).toMatch(new RegExp(`^/webhooks/${endpoint.id}\\?cursor=[A-Za-z0-9_-]+$`));
    await Promise.all([page.waitForURL(/\?cursor=/), older.click()]);
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    expect(await shown()).toEqual(order.slice(50));
    expect(await page.getByRole('link', { name: 'Older' }).count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await noHorizontalScroll(page);
    await Promise.all([
      page.waitForURL(`${stack.consoleUrl}/webhooks/${endpoint.id}`),
      page.getByRole('link', { name: 'Newest' }).click(),
    ]);
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    expect(await shown()).toEqual(order.slice(0, 50));
    // a cursor that is not one of ours shows the newest page rather than an error
    await page.goto(`${stack.consoleUrl}/webhooks/${endpoint.id}?cursor=nonsense`);
    await page.waitForSelector('body.page-webhook[data-ready="true"]');
    expect(await shown()).toEqual(order.slice(0, 50));
    expect(problems).toEqual([]);
  });
});
