import { setFlagsFromString } from 'node:v8';

/**
 * When V8 starts marking the old generation for a full garbage collection (docs/architecture.md "Garbage
 * collection: marking starts near the limit"): after 80% of the room between the heap's size and its limit is used,
 * through a task; at once after 95%.
 *
 * V8's own rule starts marking as soon as that room is smaller than the young generation. A service's heap is small
 * (~45 MB live) while its young generation grows to tens of MB under load, so after every full collection the room
 * left is already "too small" and the next marking starts at once: links-api ran a full collection every ~130 ms
 * while it received uploads (each brings 3.5 MB of body chunks outside the heap). With these triggers it runs half
 * as many, and spends ~5 of its ~26 ms of CPU per 3.5 MB upload less, with the same peak memory (bench/ingest.bench.ts,
 * docs/benchmarks.md "Ingest end to end"). The heap's limit is unchanged, so a collection still comes before it.
 */
export const MARKING_TRIGGERS: readonly string[] = [
  '--incremental-marking-soft-trigger=80',
  '--incremental-marking-hard-trigger=95',
];

/** A V8 flag's name as V8 reads it: `-` and `_` are the same character in flag names. */
const flagName = (arg: string) => arg.split('=')[0]?.replace(/_/g, '-') ?? '';

/**
 * Applies `MARKING_TRIGGERS` to this process's V8, except a trigger the operator set on node's command line
 * (`execArgv`), which wins. Called by every service once it has started (listening, its workers running: each
 * `main.ts`, `runWorkerProcess`); V8 reads the flags at every allocation-limit check, so they hold from then on.
 * Not before: the start (modules loading, bundles building) runs under V8's own rule as it always did. Memory at
 * rest is the same either way once V8's idle-time collection has run: 3 s after start the footprint bench read
 * links-api 6–10 MiB and share-gateway 8–16 MiB more private memory with the triggers (the start's garbage not yet
 * collected), after 20 s 152 and 114 MiB against 152 and 116 (bench/footprint.bench.ts, FOOTPRINT_IDLE_MS=20000).
 * Returns the flags it applied.
 */
export function tuneGarbageCollection(execArgv: readonly string[] = process.execArgv): string[] {
  const given = new Set(execArgv.map(flagName));
  const applied = MARKING_TRIGGERS.filter((flag) => !given.has(flagName(flag)));
  for (const flag of applied) setFlagsFromString(flag);
  return applied;
}
