import { readFileSync } from 'node:fs';
import Value from 'typebox/value';
import { describe, expect, it } from 'vitest';
import {
  allEnvGroups,
  ErrorResponse,
  EventData,
  EventEnvelope,
  eventRoutes,
  eventTypes,
  IMMISH_ROUTE_PERMISSIONS,
  LinksApiConfig,
  PERMISSIONS,
  Queues,
  reasonPhrase,
} from '../src/index.ts';

describe('events', () => {
  it('should route every event type (docs/spec.md §6 routing table has no gaps)', () => {
    expect(Object.keys(eventRoutes).sort()).toEqual([...eventTypes].sort());
    const queues = new Set(Object.values(Queues));
    for (const route of Object.values(eventRoutes)) for (const q of route.queues) expect(queues).toContain(q);
  });

  it('should send uploads to ingest and export requests to the export queue', () => {
    expect(eventRoutes['asset.stored'].queues).toEqual(['ingest']);
    expect(eventRoutes['export.requested'].queues).toEqual(['exports', 'webhooks']);
    expect(eventRoutes['shared-link.deleted'].invalidateLinkCache).toBe(true);
  });

  it('should list at least the event types docs/spec.md §6 names', () => {
    for (const t of [
      'shared-link.created',
      'shared-link.updated',
      'shared-link.deleted',
      'shared-link.assets-added',
      'shared-link.assets-removed',
      'shared-link.viewed',
      'shared-link.unlocked',
      'shared-link.upload-received',
      'album.created',
      'album.updated',
      'album.deleted',
      'album.assets-added',
      'album.assets-removed',
      'album.member-added',
      'album.member-updated',
      'album.member-removed',
      'asset.stored',
      'asset.ingested',
      'asset.ingest-failed',
      'upload-batch.completed',
      'export.requested',
      'export.progress',
      'export.completed',
      'export.failed',
    ]) {
      expect(eventTypes).toContain(t);
    }
  });

  it('should accept a well-formed envelope and reject a malformed one', () => {
    const id = '0191e0a0-0000-7000-8000-000000000001';
    const exportId = '5b8e9f0e-8c1f-4f7e-9a51-0d1f2b3c4d5e';
    const good = {
      id,
      type: 'export.requested',
      version: 1,
      occurredAt: '2026-11-27T10:00:00.000Z',
      actor: { type: 'user', id: exportId },
      subject: { type: 'export', id: exportId },
      data: { exportId },
    };
    expect(Value.Check(EventEnvelope, good)).toBe(true);
    expect(Value.Check(EventData['export.requested'], good.data)).toBe(true);
    expect(Value.Check(EventEnvelope, { ...good, type: 'export.exploded' })).toBe(false);
    expect(Value.Check(EventEnvelope, { ...good, version: 2 })).toBe(false);
  });
});

describe('errors', () => {
  it('should describe the docs/spec.md §11 shape with Immich reason phrases', () => {
    expect(
      Value.Check(ErrorResponse, { message: 'x', error: 'Bad Request', statusCode: 400, correlationId: 'c' }),
    ).toBe(true);
    expect(Value.Check(ErrorResponse, { message: 'x', statusCode: 400 })).toBe(false);
    expect(reasonPhrase(404)).toBe('Not Found');
    expect(reasonPhrase(429)).toBe('Too Many Requests');
    expect(reasonPhrase(503)).toBe('Service Unavailable');
  });
});

describe('config', () => {
  it('should give every variable a description, and a default unless it is a secret or a connection', () => {
    for (const group of Object.values(allEnvGroups)) {
      for (const [name, prop] of Object.entries(
        group.properties as Record<string, { default?: unknown; description?: string }>,
      )) {
        expect(prop.description, name).toBeTruthy();
        if (!['DATABASE_URL', 'REDIS_URL', 'UNLOCK_SECRET'].includes(name))
          expect(prop.default, name).not.toBeUndefined();
      }
    }
  });

  it('should assemble each service config from its groups', () => {
    const names = Object.keys(LinksApiConfig.properties);
    for (const n of ['DATABASE_URL', 'STORAGE_DRIVER', 'PUBLIC_URL', 'LINKS_API_PORT', 'LINK_PASSWORD_REQUIRED'])
      expect(names).toContain(n);
    expect(names).not.toContain('UNLOCK_SECRET');
  });
});

describe('API key permissions', () => {
  it("should be Immich 3.1's Permission enum, name for name, and the immish-only table should use it", () => {
    const reference = JSON.parse(
      readFileSync(new URL('../reference/immich-openapi-3.1.0.json', import.meta.url), 'utf8'),
    ) as { components: { schemas: { Permission: { enum: string[] } } } };
    expect([...PERMISSIONS]).toEqual(reference.components.schemas.Permission.enum);
    for (const permission of Object.values(IMMISH_ROUTE_PERMISSIONS)) expect(PERMISSIONS).toContain(permission);
  });
});
