// Fills Node's compile cache (NODE_COMPILE_CACHE) with the services' modules, so that a service process
// starts from cached, already type-stripped code: it then never loads the TypeScript stripper (~25 MiB of
// memory per process, measured in bench/export-zip.bench.ts) and starts faster. Used by the Dockerfile at
// build time; `npm start` sets NODE_COMPILE_CACHE too, so its first start fills the cache instead.
// Imports only: nothing here connects to anything or starts a service.
import { getCompileCacheDir } from 'node:module';

if (!getCompileCacheDir()) {
  console.error('warm-compile-cache: set NODE_COMPILE_CACHE to the cache directory');
  process.exit(1);
}
await import('../apps/links-api/src/app.ts');
await import('../apps/share-gateway/src/app.ts');
await import('../apps/export-worker/src/index.ts');
await import('../apps/ingest-worker/src/index.ts');
await import('../apps/webhook-worker/src/index.ts');
await import('../packages/runtime/src/index.ts');
console.log(`warm-compile-cache: ${getCompileCacheDir()}`);
