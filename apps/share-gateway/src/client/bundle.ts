import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleInMemory } from '@immish/runtime';

/**
 * The share page's one client bundle (docs/spec.md §5.4; docs/architecture.md "one small TypeScript client bundle built by the
 * package's own build"): `browser/share.ts` and `browser/share.css`, bundled and minified by esbuild into
 * `public/share.js` and `public/share.css`.
 *
 * Built by `npm run build` (the Docker image does that), and by the gateway itself at start-up whenever
 * `public/` is missing or older than the sources: CI runs the tests without a build step, and a developer
 * never sees a stale bundle. The gateway serves the bytes from memory under content-hashed URLs.
 */

const here = dirname(fileURLToPath(import.meta.url));
export const CLIENT_SOURCE_DIR = join(here, 'browser');
export const PUBLIC_DIR = join(here, '..', '..', 'public');

export interface ClientAsset {
  body: Buffer;
  contentType: string;
  /** short content hash: the `?v=` of the URL and the ETag */
  hash: string;
}

export interface ClientBundle {
  js: ClientAsset;
  css: ClientAsset;
}

const FILES = { js: 'share.js', css: 'share.css' } as const;

const asset = (body: Buffer, contentType: string): ClientAsset => ({
  body,
  contentType,
  hash: createHash('sha256').update(body).digest('base64url').slice(0, 12),
});

/**
 * Bundles the sources with esbuild, in memory (runtime's `bundleInMemory`, which loads esbuild only then): serving
 * a built bundle needs none.
 */
export async function buildClientBundle(): Promise<ClientBundle> {
  const outputFiles = await bundleInMemory({
    entryPoints: [join(CLIENT_SOURCE_DIR, 'share.ts'), join(CLIENT_SOURCE_DIR, 'share.css')],
    outdir: PUBLIC_DIR,
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    legalComments: 'none',
    logLevel: 'silent',
  });
  const out = (name: string) => {
    const file = outputFiles.find((f) => f.path.endsWith(`/${name}`) || f.path.endsWith(`\\${name}`));
    if (!file) throw new Error(`client bundle: esbuild produced no ${name}`);
    return Buffer.from(file.contents);
  };
  return {
    js: asset(out(FILES.js), 'text/javascript; charset=utf-8'),
    css: asset(out(FILES.css), 'text/css; charset=utf-8'),
  };
}

/** Writes the bundle into public/ atomically (temp file + rename), so concurrent starts never serve half a file. */
export async function writeClientBundle(bundle: ClientBundle): Promise<void> {
  await mkdir(PUBLIC_DIR, { recursive: true });
  for (const [kind, name] of Object.entries(FILES) as [keyof ClientBundle, string][]) {
    const target = join(PUBLIC_DIR, name);
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, bundle[kind].body);
    try {
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }
}

async function newestSourceMtime(): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(CLIENT_SOURCE_DIR, { withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(join(CLIENT_SOURCE_DIR, entry.name))).mtimeMs);
  }
  return newest;
}

/** The built files of public/, when both exist and are at least as new as every source file. */
async function readFreshBuild(): Promise<ClientBundle | null> {
  try {
    const [js, css] = await Promise.all([stat(join(PUBLIC_DIR, FILES.js)), stat(join(PUBLIC_DIR, FILES.css))]);
    const sources = await newestSourceMtime().catch(() => 0); // no sources (trimmed image): trust the build
    if (Math.min(js.mtimeMs, css.mtimeMs) < sources) return null;
    return {
      js: asset(await readFile(join(PUBLIC_DIR, FILES.js)), 'text/javascript; charset=utf-8'),
      css: asset(await readFile(join(PUBLIC_DIR, FILES.css)), 'text/css; charset=utf-8'),
    };
  } catch {
    return null;
  }
}

let loading: Promise<ClientBundle> | null = null;

/**
 * The bundle to serve: public/ when it is fresh, else a build (kept in memory, and written to public/ when the
 * directory is writable — a read-only image still works). Once per process.
 */
export function loadClientBundle(): Promise<ClientBundle> {
  loading ??= (async () => {
    const built = await readFreshBuild();
    if (built) return built;
    const bundle = await buildClientBundle();
    await writeClientBundle(bundle).catch(() => {});
    return bundle;
  })().catch((e) => {
    loading = null;
    throw e;
  });
  return loading;
}

// `npm run build`: node src/client/bundle.ts (compared by path: `import.meta.main` needs Node ≥ 24.2)
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bundle = await buildClientBundle();
  await writeClientBundle(bundle);
  console.log(
    `share page bundle: public/${FILES.js} ${bundle.js.body.length} B, public/${FILES.css} ${bundle.css.body.length} B`,
  );
}
