import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// docs/spec.md §12: configuration is validated at start-up; a bad variable stops the service with a message naming it.
const services = {
  'links-api': 'apps/links-api/src/main.ts',
  'share-gateway': 'apps/share-gateway/src/main.ts',
  'export-worker': 'apps/export-worker/src/main.ts',
  'ingest-worker': 'apps/ingest-worker/src/main.ts',
};

describe('service start-up with a bad configuration', () => {
  for (const [name, entry] of Object.entries(services)) {
    it(`should make ${name} exit 1 naming each bad variable`, () => {
      const res = spawnSync(process.execPath, [entry], {
        cwd: `${import.meta.dirname}/..`,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: 'mysql://nope',
          REDIS_URL: 'redis://127.0.0.1:1',
          STORAGE_DRIVER: 'ftp',
          LOG_LEVEL: 'loud',
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(res.status).toBe(1);
      for (const variable of ['DATABASE_URL', 'STORAGE_DRIVER', 'LOG_LEVEL']) expect(res.stderr).toContain(variable);
    });
  }

  // issue 20 item 1: exactly one Redis topology; a mix is refused by every service, naming the variables
  for (const [name, entry] of Object.entries(services)) {
    it(`should make ${name} exit 1 when two Redis modes are configured`, () => {
      const res = spawnSync(process.execPath, [entry], {
        cwd: `${import.meta.dirname}/..`,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x',
          REDIS_URL: 'redis://127.0.0.1:1',
          REDIS_SENTINELS: '127.0.0.1:2,127.0.0.1:3',
          REDIS_SENTINEL_NAME: 'immish',
          UNLOCK_SECRET: 'x'.repeat(32),
        },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain('REDIS_URL and REDIS_SENTINELS are both set');
    });
  }
});
