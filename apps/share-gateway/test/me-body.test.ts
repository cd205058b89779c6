import { listLinkAssets } from '@immish/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toRecipientLinkDto } from '../src/link-dto.ts';
import { LinkResolver } from '../src/link-resolver.ts';
import { buildMeBody, meHead } from '../src/me-body.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

let h: GatewayHarness;
beforeAll(async () => {
  h = await startGateway();
});
afterAll(async () => {
  await h?.close();
});

const PUBLIC_URL = 'http://share.test';

describe('the /me body built a slice at a time (me-body.ts)', () => {
  it.each([true, false])('should be exactly the DTO serialized at once (showMetadata %s)', async (showMetadata) => {
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) ids.push((await h.createAsset({ derivatives: false })).id);
    const link = await h.createLink({ albumId: await h.createAlbum(ids), showMetadata });
    const active = await new LinkResolver({ db: h.tdb.db, ttlMs: 0 }).require({ kind: 'key', value: link.key });
    const rows = await listLinkAssets(h.tdb.db, active);
    const built = await buildMeBody(h.tdb.db, PUBLIC_URL, active, { slice: 5 });
    expect(built.body.identity.toString()).toBe(
      JSON.stringify(toRecipientLinkDto(PUBLIC_URL, active, rows, rows.length)),
    );
    expect(built.assetIds).toEqual(new Set(ids));
    expect(built.volatile).toBe(false);
  });

  it('should serialize a link without assets', async () => {
    const link = await h.createLink({ albumId: await h.createAlbum([]) });
    const active = await new LinkResolver({ db: h.tdb.db, ttlMs: 0 }).require({ kind: 'key', value: link.key });
    const built = await buildMeBody(h.tdb.db, PUBLIC_URL, active);
    expect(JSON.parse(built.body.identity.toString())).toEqual(toRecipientLinkDto(PUBLIC_URL, active, [], 0));
  });

  it('should keep its head when only the counters move, and change it when what it shows changes', async () => {
    const asset = await h.createAsset({ derivatives: false });
    const link = await h.createLink({ assetIds: [asset.id] });
    const active = await new LinkResolver({ db: h.tdb.db, ttlMs: 0 }).require({ kind: 'key', value: link.key });
    const head = meHead(PUBLIC_URL, active);
    const counted = {
      ...active,
      link: { ...active.link, view_count: '7', last_accessed_at: new Date(), visits_used: 3 },
    } as typeof active;
    expect(meHead(PUBLIC_URL, counted)).toBe(head);
    const hidden = { ...active, link: { ...active.link, show_metadata: false } };
    expect(meHead(PUBLIC_URL, hidden)).not.toBe(head);
    const described = { ...active, link: { ...active.link, description: 'new words' } };
    expect(meHead(PUBLIC_URL, described)).not.toBe(head);
  });
});
