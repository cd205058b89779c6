import { createHash, randomUUID } from 'node:crypto';
import type { NewAsset } from '@immish/db';
import type { LightMyRequestResponse } from 'fastify';
import type { LinksApiHarness, TestUser } from './harness.ts';

/** Test fixtures for the album tests: direct asset rows, API calls, outbox reads. */

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export function client(h: LinksApiHarness) {
  return (method: Method, url: string, who: TestUser | null, payload?: unknown): Promise<LightMyRequestResponse> =>
    h.app.inject({
      method,
      url,
      ...(who ? { headers: who.headers } : {}),
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
}

let n = 0;
/** A `ready` asset row owned by `ownerId` (no file behind it: the album routes never read bytes). */
export async function insertAsset(h: LinksApiHarness, ownerId: string, overrides: Partial<NewAsset> = {}) {
  const id = randomUUID();
  n += 1;
  const row = await h.tdb.db
    .insertInto('assets')
    .values({
      id,
      owner_id: ownerId,
      type: 'IMAGE',
      original_file_name: `photo-${n}.jpg`,
      mime_type: 'image/jpeg',
      size: 1234,
      checksum: createHash('sha1').update(id).digest(),
      original_key: `originals/${ownerId}/${id}.jpg`,
      width: 640,
      height: 480,
      status: 'ready',
      file_created_at: new Date(Date.UTC(2024, 0, 1) + n * 60_000),
      ...overrides,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return row;
}

export interface OutboxRow {
  type: string;
  aggregateType: string;
  aggregateId: string;
  subject: { type: string; id: string };
  actor: { type: string; id: string | null };
  data: Record<string, unknown>;
}

/** The outbox events of one aggregate, oldest first. */
export async function eventsOf(h: LinksApiHarness, aggregateId: string): Promise<OutboxRow[]> {
  const rows = await h.tdb.db
    .selectFrom('outbox_events')
    .selectAll()
    .where('aggregate_id', '=', aggregateId)
    .orderBy('id')
    .execute();
  return rows.map((r) => {
    const p = r.payload as { subject: OutboxRow['subject']; actor: OutboxRow['actor']; data: OutboxRow['data'] };
    return {
      type: r.type,
      aggregateType: r.aggregate_type,
      aggregateId: r.aggregate_id,
      subject: p.subject,
      actor: p.actor,
      data: p.data,
    };
  });
}

export const eventTypesOf = async (h: LinksApiHarness, aggregateId: string) =>
  (await eventsOf(h, aggregateId)).map((e) => e.type);

/** An album owned by `owner` with members by role and optional assets (created through the API). */
export async function makeAlbum(
  h: LinksApiHarness,
  owner: TestUser,
  opts: { name?: string; editors?: TestUser[]; viewers?: TestUser[]; assetIds?: string[] } = {},
): Promise<{ id: string; albumName: string; [k: string]: unknown }> {
  const res = await client(h)('POST', '/api/albums', owner, {
    albumName: opts.name ?? `album-${++n}`,
    assetIds: opts.assetIds ?? [],
    albumUsers: [
      ...(opts.editors ?? []).map((u) => ({ userId: u.id, role: 'editor' })),
      ...(opts.viewers ?? []).map((u) => ({ userId: u.id, role: 'viewer' })),
    ],
  });
  if (res.statusCode !== 201) throw new Error(`makeAlbum: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Asserts an error body in the docs/spec.md §11 shape that does not leak `secret`. */
export function isErrorShape(body: unknown, status: number): boolean {
  const b = body as { statusCode?: unknown; message?: unknown; error?: unknown; correlationId?: unknown };
  return b.statusCode === status && typeof b.message === 'string' && typeof b.error === 'string';
}
