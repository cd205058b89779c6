import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleInMemory } from '@immish/runtime';
import type { ConsoleAsset } from '../bundle.ts';

/**
 * The PWA's two scripts (issue 15), bundled by esbuild in memory like the console bundle (../bundle.ts): the
 * "Upload to immish" screen's script, and the service worker, into which the app-shell URLs and their version
 * are compiled — so a new console bundle is a new service worker, which replaces the old one.
 */
const here = dirname(fileURLToPath(import.meta.url));

const asset = (body: Buffer, contentType: string): ConsoleAsset => ({
  body,
  contentType,
  hash: createHash('sha256').update(body).digest('base64url').slice(0, 12),
});

async function bundleOne(entry: string, define: Record<string, string> = {}): Promise<Buffer> {
  const [file] = await bundleInMemory({
    entryPoints: [join(here, entry)],
    bundle: true,
    minify: true,
    ...(entry.endsWith('.ts') ? { format: 'iife' as const } : {}),
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    logLevel: 'silent',
    define,
  });
  if (!file) throw new Error(`pwa bundle: esbuild produced nothing for ${entry}`);
  return Buffer.from(file.contents);
}

export interface PwaBundle {
  shareScreen: ConsoleAsset;
  shareScreenCss: ConsoleAsset;
  serviceWorker: ConsoleAsset;
  /** the versioned URLs of the share screen's script and CSS */
  shareScreenUrl: string;
  shareScreenCssUrl: string;
}

/** `shellUrls`: the console's versioned static files, cached by the service worker as the app shell. */
export async function buildPwaBundle(shellUrls: string[]): Promise<PwaBundle> {
  const shareScreen = asset(await bundleOne('share-screen.ts'), 'text/javascript; charset=utf-8');
  const shareScreenCss = asset(await bundleOne('share-screen.css'), 'text/css; charset=utf-8');
  const shareScreenUrl = `/static/share-screen.js?v=${shareScreen.hash}`;
  const shareScreenCssUrl = `/static/share-screen.css?v=${shareScreenCss.hash}`;
  const shell = [...shellUrls, shareScreenUrl, shareScreenCssUrl];
  const version = createHash('sha256').update(shell.join('\n')).digest('base64url').slice(0, 12);
  const sw = await bundleOne('sw.ts', {
    __SHELL_VERSION__: JSON.stringify(version),
    __SHELL_URLS__: JSON.stringify(shell),
  });
  return {
    shareScreen,
    shareScreenCss,
    shareScreenUrl,
    shareScreenCssUrl,
    serviceWorker: asset(sw, 'text/javascript; charset=utf-8'),
  };
}
