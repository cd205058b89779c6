import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleInMemory } from '@immish/runtime';

/**
 * The owner console's one client bundle (docs/architecture.md "The owner console follows the share page"):
 * `browser/console.ts` (with the strings module and the QR encoder) and `browser/console.css`, bundled and
 * minified by esbuild in memory when links-api starts (~100 ms; no build step to forget, nothing written to
 * disk, so a read-only image works; `bundleInMemory` stops esbuild's process afterwards). Served from memory
 * under content-hashed URLs.
 */
const here = dirname(fileURLToPath(import.meta.url));

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
  /** short content hash: the `?v=` of the URL and the ETag */
  hash: string;
}

export interface ConsoleBundle {
  js: ConsoleAsset;
  css: ConsoleAsset;
}

const asset = (body: Buffer, contentType: string): ConsoleAsset => ({
  body,
  contentType,
  hash: createHash('sha256').update(body).digest('base64url').slice(0, 12),
});

export async function buildConsoleBundle(): Promise<ConsoleBundle> {
  const outputFiles = await bundleInMemory({
    entryPoints: [join(here, 'browser', 'console.ts'), join(here, 'browser', 'console.css')],
    outdir: join(here, 'out'),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    logLevel: 'silent',
  });
  const out = (ext: string) => {
    const file = outputFiles.find((f) => f.path.endsWith(ext));
    if (!file) throw new Error(`console bundle: esbuild produced no ${ext}`);
    return Buffer.from(file.contents);
  };
  return {
    js: asset(out('.js'), 'text/javascript; charset=utf-8'),
    css: asset(out('.css'), 'text/css; charset=utf-8'),
  };
}
