import type { BuildOptions, OutputFile } from 'esbuild';

/**
 * The services' in-memory builds of their browser code at start-up: the console's and its PWA's scripts
 * (links-api), the share page's when no built bundle is there (share-gateway). esbuild runs them in a child process
 * of its own, which it keeps alive until told to stop: 19 MiB of private memory for the service's whole life
 * (links-api, measured; docs/benchmarks.md "Footprint"). Every build goes through here, and that child is stopped
 * once the last build in flight is done; a later build starts another. Never stopped while a build is in flight:
 * esbuild then leaves that build's promise pending forever.
 */
let inFlight = 0;

/** esbuild's `build` with `write: false`: the output files, in memory. */
export async function bundleInMemory(options: Omit<BuildOptions, 'write'>): Promise<OutputFile[]> {
  const esbuild = await import('esbuild');
  inFlight++;
  try {
    return (await esbuild.build({ ...options, write: false })).outputFiles;
  } finally {
    inFlight--;
    if (inFlight === 0) await esbuild.stop();
  }
}
