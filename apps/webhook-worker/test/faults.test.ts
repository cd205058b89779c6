import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { appendEvent, BullEventPublisher, OutboxRelay } from '@immish/db';
import { freePort } from '@immish/devstack';
import { createUser, createWebhook } from '@immish/domain';
import { createRedis } from '@immish/runtime';
import { createTestDatabase, serviceEnv, type TestDatabase } from '@immish/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PrivateServers, startPrivateServers } from '../../../test/support/private-servers.ts';
import { type Receiver, SECRET_KEY, startReceiver, until, verifyAll } from './kit.ts';

/**
 * Issue 18 item 5: the delivery worker as a real process. Killed with SIGKILL mid-delivery → the delivery is made
 * by another worker process (its job lock, WEBHOOK_LOCK_DURATION_MS=2000 here, runs out); Redis down while events
 * happen → they wait in the outbox and are delivered after Redis is back. A private Redis, so stopping it touches
 * no other test file.
 */
const repoRoot = resolve(import.meta.dirname, '../../..');
let tdb: TestDatabase;
let servers: PrivateServers;
let relay: OutboxRelay;
let publisher: BullEventPublisher;
let receiver: Receiver;
let ownerId: string;
let secret: string;
const children: ChildProcess[] = [];
let hang = true;

beforeAll(async () => {
  tdb = await createTestDatabase();
  servers = await startPrivateServers({ redis: true });
  publisher = new BullEventPublisher({
    connection: createRedis({ REDIS_URL: servers.redis!.url }, 'producer'),
    prefix: 'wf',
    waitReplicas: 0,
  });
  relay = new OutboxRelay({ db: tdb.db, databaseUrl: tdb.url, publisher, pollIntervalMs: 100 });
  relay.start();
  // the first request of the file hangs (the worker handling it is killed); every other one is answered
  receiver = await startReceiver((i, res) => {
    if (i === 0 && hang) return 'hang';
    res.end('ok');
    return undefined;
  });
  const owner = await createUser(tdb.db, { email: 'hooks@immish.test', name: 'hooks', password: 'pw' });
  ownerId = owner.id;
  const created = await createWebhook(tdb.db, { allowPrivate: true, secretKey: SECRET_KEY }, ownerId, {
    url: receiver.url,
    events: ['album.created' as const],
  });
  secret = created.secret;
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await relay?.stop();
  await publisher?.close();
  await receiver?.close();
  await servers?.close();
  await tdb?.drop();
});

async function startWorkerProcess(): Promise<ChildProcess> {
  const env = serviceEnv(
    { databaseUrl: tdb.url, redisUrl: servers.redis!.url, queuePrefix: 'wf', storageRoot: '/tmp' },
    {
      WEBHOOK_METRICS_PORT: String(await freePort()),
      WEBHOOK_SECRET_KEY: SECRET_KEY,
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_LOCK_DURATION_MS: '2000',
      WEBHOOK_TIMEOUT_MS: '30000',
      WEBHOOK_RETRY_DELAYS_MS: '200',
    },
  );
  const child = spawn(process.execPath, ['apps/webhook-worker/src/main.ts'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

const albumCreated = (albumId: string) =>
  appendEvent(tdb.db, {
    type: 'album.created',
    actor: { type: 'user', id: ownerId },
    subject: { type: 'album', id: albumId },
    data: { albumId, ownerId },
  });

const deliveryOf = (eventId: string) =>
  tdb.db.selectFrom('webhook_deliveries').selectAll().where('event_id', '=', eventId).executeTakeFirst();

describe('the webhook worker process', () => {
  it('should hand a delivery in flight to another worker when killed with SIGKILL, with the same webhook-id', async () => {
    const first = await startWorkerProcess();
    const [event] = await albumCreated(randomUUID());
    await until('the first worker to reach the receiver', () => receiver.received.length >= 1, 30_000);
    first.kill('SIGKILL');
    await new Promise((done) => first.once('exit', done));
    hang = false;
    await startWorkerProcess();
    await until('the second worker to deliver', () => receiver.received.length >= 2, 30_000);
    await until('the delivery to be recorded', async () => (await deliveryOf(event!.id))?.status === 'succeeded');
    const bodies = verifyAll(secret, receiver.received);
    expect(bodies.map((b) => b.type)).toEqual(['album.created', 'album.created']);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([event!.id, event!.id]);
  });

  it('should deliver events written while Redis was down once it is back', async () => {
    const before = receiver.received.length;
    await servers.redis!.stop();
    const events = [];
    for (let i = 0; i < 3; i++) events.push(...(await albumCreated(randomUUID())));
    await new Promise((done) => setTimeout(done, 1000));
    expect(receiver.received.length).toBe(before);
    await servers.redis!.start();
    await until('the three deliveries', () => receiver.received.length >= before + 3, 45_000);
    const ids = receiver.received.slice(before).map((r) => r.headers['webhook-id']);
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
    verifyAll(secret, receiver.received.slice(before));
  });
});
