import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GatewayConfig } from '@immish/contracts';
import type { AssetRow } from '@immish/db';
import { hashPassword } from '@immish/domain';
import { loadConfig } from '@immish/runtime';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { freePort } from '@immish/testkit';
import type { FastifyInstance } from 'fastify';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildApp as buildGateway } from '../../share-gateway/src/app.ts';
import { addPhoto, launchChromium, seriousViolations } from '../../share-gateway/test/browser-kit.ts';
import type { GatewayHarness } from '../../share-gateway/test/harness.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CONSOLE_SCREENSHOT_DIR = join(repoRoot, 'test-results', 'screenshots', 'console');

/** Saves a full-page screenshot of the console as a test artifact (test-results/ is gitignored). */
export async function consoleScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(CONSOLE_SCREENSHOT_DIR, { recursive: true });
  const path = join(CONSOLE_SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export const OWNER_PASSWORD = 'correct horse battery';
export const PHONE = { width: 360, height: 780 };

/** What a console browser test runs against: links-api and the real share gateway on one database and storage. */
export interface ConsoleStack {
  h: LinksApiHarness;
  browser: Browser;
  storage: BlobStore;
  consoleUrl: string;
  gatewayUrl: string;
  /** origins a page may talk to besides the console and the gateway */
  allowedOrigins: string[];
  /** a user who signs in with OWNER_PASSWORD */
  signInUser(name: string): Promise<TestUser>;
  /** `n` photos of `owner`, ready (derivatives rendered) */
  addPhotos(owner: TestUser, n: number): Promise<AssetRow[]>;
  /** A fresh browser profile whose problems list collects script errors and requests to anywhere else. */
  newPage(
    viewport?: { width: number; height: number },
    storageState?: BrowserContext['storageState'],
    /** a phone's touch screen (no mouse): `hasTouch` and `isMobile` */
    touch?: boolean,
  ): Promise<{ context: BrowserContext; page: Page; problems: string[] }>;
  close(): Promise<void>;
}

/** `env`: more links-api configuration (the Webhooks screen's test: WEBHOOK_SECRET_KEY, WEBHOOK_ALLOW_PRIVATE). */
export async function startConsoleStack(env: Record<string, string> = {}): Promise<ConsoleStack> {
  const browser = await launchChromium();
  // chosen before the gateway listens: its URL must be known before links-api builds link URLs
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const h = await startLinksApi({ PUBLIC_URL: gatewayUrl, ...env });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const consoleUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;

  // the real share gateway on the same database and storage, as `npm start` runs them
  const { Redis } = await import('ioredis');
  const redis = new Redis(h.redisUrl);
  const storage = createBlobStore({ driver: 'fs', root: h.storageRoot });
  const config = loadConfig(GatewayConfig, {
    DATABASE_URL: h.tdb.url,
    REDIS_URL: h.redisUrl,
    QUEUE_PREFIX: h.prefix,
    STORAGE_FS_ROOT: h.storageRoot,
    PUBLIC_URL: gatewayUrl,
    UNLOCK_SECRET: 'console-test-unlock-secret-0123456789abcdef',
  });
  const gateway: FastifyInstance = await buildGateway({ config, db: h.tdb.db, storage, redis, logger: false });
  gateway.addHook('onClose', async () => redis.disconnect());
  await gateway.listen({ host: '127.0.0.1', port: gatewayPort });

  const contexts: BrowserContext[] = [];
  let photoCount = 0;
  const stack: ConsoleStack = {
    h,
    browser,
    storage,
    consoleUrl,
    gatewayUrl,
    allowedOrigins: [],
    async signInUser(name) {
      const user = await h.newUser(name);
      await h.tdb.db
        .updateTable('users')
        .set({ password_hash: await hashPassword(OWNER_PASSWORD) })
        .where('id', '=', user.id)
        .execute();
      return user;
    },
    async addPhotos(owner, n) {
      const fake = { owner: { id: owner.id }, tdb: h.tdb } as unknown as GatewayHarness;
      const rows: AssetRow[] = [];
      for (let i = 0; i < n; i++) rows.push(await addPhoto(fake, storage, photoCount++));
      return rows;
    },
    async newPage(viewport = { width: 1280, height: 860 }, storageState, touch = false) {
      const context = await browser.newContext({
        viewport,
        ...(touch ? { hasTouch: true, isMobile: true } : {}),
        ...(storageState ? { storageState: await storageState() } : {}),
      });
      contexts.push(context);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
      page.on('request', (r) => {
        const url = r.url();
        if (![consoleUrl, gatewayUrl, ...stack.allowedOrigins, 'data:', 'blob:'].some((o) => url.startsWith(o)))
          problems.push(`third-party: ${url}`);
      });
      return { context, page, problems };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await gateway.close();
      await storage.close();
      await h.close();
    },
  };
  return stack;
}

/** axe-core in the page: the share gateway's check, one for every browser test. */
export { seriousViolations };

/** Signs in through the console's form; ends on the library. */
export async function signIn(page: Page, consoleUrl: string, email: string): Promise<void> {
  await page.goto(`${consoleUrl}/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(OWNER_PASSWORD);
  await Promise.all([page.waitForURL(`${consoleUrl}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.waitForSelector('body.page-library[data-ready="true"]');
}

/**
 * Until the console's service worker (registered by every console page) controls the page. A worker that
 * activates takes the pages open at that moment (`clients.claim()`), but a page still loading then is not among
 * them and stays uncontrolled until its next navigation: on a loaded machine, sign-in's redirect to the library
 * can land in that window while the worker installs (CI of 2026-12-08: `controller` still null after 30 s). So a
 * page the active worker has not claimed within a few seconds is reloaded once, as the browser's next navigation
 * would be, and that navigation goes through the worker.
 */
export async function untilControlled(page: Page): Promise<void> {
  await page.evaluate(() => navigator.serviceWorker.ready);
  const claimed = await page
    .waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 5_000 })
    .then(() => true)
    .catch(() => false);
  if (claimed) return;
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/** Waits until every thumbnail of the page has loaded. */
export async function thumbnailsLoaded(page: Page): Promise<void> {
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLImageElement>('img[data-placeholder]')].every(
      (i) => i.complete && i.naturalWidth > 0,
    ),
  );
}
