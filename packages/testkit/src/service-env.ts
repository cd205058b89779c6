/**
 * The environment a test gives a service it starts as a child process (`node apps/<x>/src/main.ts`): only what the
 * service needs (no inherited variables that could change its configuration), quiet logs, this test file's own
 * database, Redis key prefix and storage directory. `extra` adds or overrides variables (ports, limits…).
 */
export function serviceEnv(
  backing: { databaseUrl: string; redisUrl: string; queuePrefix: string; storageRoot: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    // The suite's own processes run at nice 0 and keep both cores busy: a worker at the default WORKER_NICE=10
    // beside them gets a few percent of a core (the scheduling production asks for, docs/architecture.md "CPU
    // priority"), and every timeout of a test would measure the runner's load instead. The priority itself is
    // tested in packages/runtime/test/cpu-priority.test.ts (with its default) and apps/ingest-worker/test/main.test.ts.
    WORKER_NICE: '0',
    DATABASE_URL: backing.databaseUrl,
    REDIS_URL: backing.redisUrl,
    QUEUE_PREFIX: backing.queuePrefix,
    STORAGE_FS_ROOT: backing.storageRoot,
    ...extra,
  };
}
