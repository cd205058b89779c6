/// <reference lib="webworker" />
import { INBOX_CACHE, putShared, SHARE_FILES_FIELD, SHARE_TARGET_PATH, SHELL_CACHE_PREFIX } from './inbox.ts';

/**
 * The console's service worker (issue 15; docs/architecture.md "plus a service worker for the PWA"). Two jobs:
 * 1. the Web Share Target: a phone's "Share → immish" POSTs the files to /share-target; the worker keeps them in
 *    the inbox cache and answers with a redirect to the "Upload to immish" screen, which reads them from there;
 * 2. the app shell: the versioned static files are cached on install and served from the cache. Nothing else is
 *    ever cached: no page (they are per-owner and `no-store`), no /api answer, no photo.
 * A new version (the bundle hashes are in this script, so any change makes a new worker) installs its own cache,
 * takes over at once (skipWaiting + clients.claim) and deletes the caches of older versions.
 */
declare const self: ServiceWorkerGlobalScope;
declare const __SHELL_VERSION__: string;
declare const __SHELL_URLS__: string[];

const shellCache = `${SHELL_CACHE_PREFIX}${__SHELL_VERSION__}`;
const shellUrls = new Set(__SHELL_URLS__);

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(shellCache);
      try {
        await cache.addAll([...shellUrls]);
      } catch (err) {
        // a failed install (the server restarting, a dropped connection) leaves no half-filled cache behind: the
        // browser tries the update again on a later navigation, from an empty cache
        await caches.delete(shellCache);
        throw err;
      }
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys())
        if (name !== shellCache && name !== INBOX_CACHE && name.startsWith(SHELL_CACHE_PREFIX))
          await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

async function receiveShare(request: Request): Promise<Response> {
  try {
    const form = await request.formData();
    const files = form.getAll(SHARE_FILES_FIELD).filter((f): f is File => f instanceof File && f.size > 0);
    await putShared(files);
    return Response.redirect(`${SHARE_TARGET_PATH}?shared=${files.length}`, 303);
  } catch {
    return Response.redirect(`${SHARE_TARGET_PATH}?lost=1`, 303);
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === 'POST' && url.pathname === SHARE_TARGET_PATH) {
    event.respondWith(receiveShare(request));
    return;
  }
  if (request.method === 'GET' && shellUrls.has(url.pathname + url.search)) {
    // `caches.match` with the cache's name, not `caches.open(...).match`: an old worker still answering a late fetch
    // after a newer version deleted its cache must not create that cache again (it would linger, empty, until the
    // version after)
    event.respondWith((async () => (await caches.match(request, { cacheName: shellCache })) ?? fetch(request))());
  }
  // everything else (pages, /api, photos) goes to the network untouched and is never cached
});
