/**
 * Where shared files wait between the service worker (which receives the share POST) and the "Upload to immish"
 * screen: one Cache Storage cache of synthetic entries, one per file, kept until the owner uploads or cancels —
 * through a sign-in too. Not an app-shell cache: the worker's clean-up of old versions leaves it alone.
 */
import { INBOX_CACHE } from './paths.ts';

export { INBOX_CACHE, SHARE_FILES_FIELD, SHARE_TARGET_PATH, SHELL_CACHE_PREFIX } from './paths.ts';

const key = (i: number) => `/__share-inbox/${Date.now()}-${i}`;

export async function putShared(files: File[]): Promise<void> {
  const cache = await caches.open(INBOX_CACHE);
  await Promise.all(
    files.map((f, i) =>
      cache.put(
        key(i),
        new Response(f, {
          headers: {
            'content-type': f.type || 'application/octet-stream',
            'x-file-name': encodeURIComponent(f.name),
            'x-last-modified': String(f.lastModified || Date.now()),
          },
        }),
      ),
    ),
  );
}

export async function takeShared(): Promise<File[]> {
  if (!('caches' in self)) return [];
  const cache = await caches.open(INBOX_CACHE);
  const files: File[] = [];
  const keys = [...(await cache.keys())];
  keys.sort((a, b) => a.url.localeCompare(b.url, 'en', { numeric: true }));
  for (const req of keys) {
    const res = await cache.match(req);
    if (!res) continue;
    const name = decodeURIComponent(res.headers.get('x-file-name') ?? 'shared');
    const type = res.headers.get('content-type') ?? '';
    const lastModified = Number(res.headers.get('x-last-modified')) || Date.now();
    files.push(new File([await res.blob()], name, { type, lastModified }));
  }
  return files;
}

export async function clearShared(): Promise<void> {
  if ('caches' in self) await caches.delete(INBOX_CACHE);
}
