import { createRequire } from 'node:module';
import type Sharp from 'sharp';

/**
 * sharp (libvips), loaded on first use, not when @immish/media is imported: every service imports this package
 * (the domain maps MIME types through it), but only the ingest worker decodes images, and the share-gateway renders
 * a link's preview card now and then. Loaded, it costs a process 8–9 MiB of private memory for its whole life
 * (docs/benchmarks.md "Footprint"). Synchronous (sharp's CommonJS build), so that a format's `decodable` can ask
 * it too; the price is one stall of ~0.1 s of the event loop, once per process, on the first image it handles (the
 * gateway's first preview card; the worker's first photo), not at start-up.
 * Every use of sharp in this package goes through here: one copy of it per process.
 */
const require = createRequire(import.meta.url);
let sharp: typeof Sharp | undefined;

export function loadSharp(): typeof Sharp {
  sharp ??= require('sharp') as typeof Sharp;
  return sharp;
}
