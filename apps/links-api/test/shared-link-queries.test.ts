import { randomUUID } from 'node:crypto';
import { createDb, createPool } from '@immish/db';
import {
  assetColumns,
  createSharedLink,
  createSharedLinkStore,
  findLinksWithAssets,
  type LinkContext,
  listSharedLinks,
  PREPARED_STATEMENTS,
  permissiveLinkPolicy,
} from '@immish/domain';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';
import { insertAsset } from './shared-links.fixtures.ts';

/** The fixed-SQL paths of the shared-link routes: link-with-assets rows, the create transaction, concurrent calls. */
let h: LinksApiHarness;
let owner: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('owner');
});
afterAll(async () => {
  await h?.close();
});

const context = (userId: string): LinkContext => ({
  userId,
  publicUrl: 'http://share.test',
  policy: permissiveLinkPolicy,
});

describe('link rows with their assets', () => {
  it('should give exactly the asset row a column-wise select gives', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    // values a row mapping could get wrong: sub-millisecond and pre-1970 timestamps,
    // float8 NaN and long fractions, bytes, a bigint beyond 32 bits, text with quotes and non-ASCII
    await sql`
      UPDATE assets SET
        file_created_at = '2026-01-01 00:00:00.123999+00', file_modified_at = '1969-12-31 23:59:59.998999+00',
        local_date_time = '1900-02-28 13:14:15.000001+00', exif_date_time_original = '2001-09-09 01:46:40+00',
        trashed_at = '2030-05-05 05:05:05.5+00', exif_f_number = 'NaN', exif_latitude = -33.868819723456789,
        exif_longitude = 151.20929, exif_iso = 3200, exif_orientation = 6, size = 9007199254740991,
        thumbhash = '\\x00ff10'::bytea, exif_make = 'Ca"non ✓', duration = '1234', exif_exposure_time = '1/250'
      WHERE id = ${assetId}`.execute(h.tdb.db);
    const linkId = randomUUID();
    await h.tdb.db
      .insertInto('shared_links')
      .values({ id: linkId, owner_id: owner.id, type: 'INDIVIDUAL', key: randomUUID() })
      .execute();
    await h.tdb.db.insertInto('shared_link_assets').values({ link_id: linkId, asset_id: assetId }).execute();

    const columnWise = await h.tdb.db
      .selectFrom('assets')
      .select(assetColumns)
      .where('id', '=', assetId)
      .executeTakeFirstOrThrow();
    const linkRow = await h.tdb.db
      .selectFrom('shared_links')
      .selectAll()
      .where('id', '=', linkId)
      .executeTakeFirstOrThrow();
    for (const db of [h.tdb.db]) {
      const [found] = await findLinksWithAssets(db, { ownerId: owner.id, id: linkId });
      expect(found?.link).toEqual(linkRow);
      expect(found?.assets).toEqual([columnWise]);
      expect(found?.assets[0]?.file_created_at.toISOString()).toBe('2026-01-01T00:00:00.123Z');
      expect(found?.assets[0]?.file_modified_at.toISOString()).toBe('1969-12-31T23:59:59.998Z');
    }
  });

  it('should list a link without assets with none, and several assets in the order added', async () => {
    const empty = randomUUID();
    await h.tdb.db
      .insertInto('shared_links')
      .values({ id: empty, owner_id: owner.id, type: 'INDIVIDUAL', key: randomUUID() })
      .execute();
    const [found] = await findLinksWithAssets(h.tdb.db, { ownerId: owner.id, id: empty });
    expect(found?.assets).toEqual([]);

    const ids = [await insertAsset(h.tdb.db, owner.id), await insertAsset(h.tdb.db, owner.id)];
    const link = await createSharedLink(h.tdb.db, context(owner.id), { type: 'INDIVIDUAL', assetIds: ids });
    expect(link.assets.map((a) => a.id)).toEqual([...ids].sort());
    const [listed] = await listSharedLinks(h.tdb.db, context(owner.id), { id: link.id });
    expect(listed).toEqual(link);
  });
});

describe('createSharedLink in one transaction', () => {
  it('should write nothing (no link, no event) when one asset is not the caller’s, naming it', async () => {
    const mine = await insertAsset(h.tdb.db, owner.id);
    const other = await h.newUser('other');
    const theirs = await insertAsset(h.tdb.db, other.id);
    const count = async () =>
      Promise.all([
        h.tdb.db
          .selectFrom('shared_links')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow(),
        h.tdb.db
          .selectFrom('outbox_events')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow(),
      ]);
    const before = await count();
    for (const db of [h.tdb.db]) {
      await expect(
        createSharedLink(db, context(owner.id), { type: 'INDIVIDUAL', assetIds: [mine, theirs.toUpperCase()] }),
      ).rejects.toThrow(`Assets not found or no access: ${theirs}`);
    }
    expect(await count()).toEqual(before);
  });

  it('should write the link, its assets and its event together', async () => {
    const assetId = await insertAsset(h.tdb.db, owner.id);
    const link = await createSharedLink(h.tdb.db, context(owner.id), {
      type: 'INDIVIDUAL',
      assetIds: [assetId.toUpperCase(), assetId],
    });
    const assets = await h.tdb.db
      .selectFrom('shared_link_assets')
      .select('asset_id')
      .where('link_id', '=', link.id)
      .execute();
    expect(assets).toEqual([{ asset_id: assetId }]);
    const events = await h.tdb.db
      .selectFrom('outbox_events')
      .select(['type', 'aggregate_id', 'payload'])
      .where('aggregate_id', '=', link.id)
      .execute();
    expect(events).toMatchObject([
      {
        type: 'shared-link.created',
        payload: { data: { linkId: link.id, ownerId: owner.id, linkType: 'INDIVIDUAL', albumId: null } },
      },
    ]);
  });
});

describe('concurrent calls', () => {
  it.each([
    ['the plain store', false],
    ['the batching store (main.ts)', true],
  ])(
    'should give each of many concurrent creates its own outcome, and write exactly the successful ones (%s)',
    async (_name, batching) => {
      const ctx = { ...context(owner.id), store: createSharedLinkStore(h.tdb.db, { batching }) };
      const other = await h.newUser('stranger');
      const foreign = await insertAsset(h.tdb.db, other.id);
      const mine = await Promise.all(Array.from({ length: 6 }, () => insertAsset(h.tdb.db, owner.id)));
      const slug = `batch-${randomUUID().slice(0, 8)}`;
      const requests = [
        ...mine.slice(0, 4).map((id) => ({ type: 'INDIVIDUAL' as const, assetIds: [id] })),
        { type: 'INDIVIDUAL' as const, assetIds: [mine[4] as string, foreign] }, // refused: one asset is not theirs
        { type: 'INDIVIDUAL' as const, assetIds: [mine[4] as string], slug }, // these two contest one slug
        { type: 'INDIVIDUAL' as const, assetIds: [mine[5] as string], slug: slug.toUpperCase() },
      ];
      const outcomes = await Promise.allSettled(requests.map((dto) => createSharedLink(h.tdb.db, ctx, dto)));
      const ok = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
      const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
      expect(ok).toHaveLength(5);
      expect(errors.sort()).toEqual([
        `Assets not found or no access: ${foreign}`,
        expect.stringMatching(/^Slug ".*" is already in use/),
      ]);
      for (const [i, o] of outcomes.slice(0, 4).entries()) {
        expect(o.status === 'fulfilled' && o.value.assets.map((a) => a.id)).toEqual([mine[i]]);
      }
      const ids = ok.map((l) => l.id);
      const events = await h.tdb.db
        .selectFrom('outbox_events')
        .select('aggregate_id')
        .where('aggregate_id', 'in', ids)
        .execute();
      expect(events.map((e) => e.aggregate_id).sort()).toEqual([...ids].sort());
      const written = await h.tdb.db
        .selectFrom('shared_link_assets')
        .select('asset_id')
        .where('asset_id', 'in', [...mine, foreign])
        .execute();
      expect(written.map((r) => r.asset_id).sort()).toEqual(ok.flatMap((l) => l.assets.map((a) => a.id)).sort());
    },
  );

  it('should answer concurrent look-ups by id each for its caller only', async () => {
    const other = await h.newUser('looker');
    const [a, b] = await Promise.all([
      createSharedLink(h.tdb.db, context(owner.id), {
        type: 'INDIVIDUAL',
        assetIds: [await insertAsset(h.tdb.db, owner.id)],
      }),
      createSharedLink(h.tdb.db, context(other.id), {
        type: 'INDIVIDUAL',
        assetIds: [await insertAsset(h.tdb.db, other.id)],
      }),
    ]);
    if (!a || !b) throw new Error('setup');
    const look = (ownerId: string, id: string) => findLinksWithAssets(h.tdb.db, { ownerId, id });
    const found = await Promise.all([
      look(owner.id, a.id),
      look(other.id, a.id), // someone else's link: not found
      look(other.id, b.id),
      look(owner.id, a.id.toUpperCase()),
      look(owner.id, randomUUID()),
      look(owner.id, `urn:uuid:${a.id}`), // a spelling PostgreSQL refuses: not found, and the others unharmed
    ]);
    expect(found.map((f) => f.map((l) => l.link.id))).toEqual([[a.id], [], [b.id], [a.id], [], []]);
    expect(found[0]?.[0]?.assets.map((x) => x.id)).toEqual(a.assets.map((x) => x.id));
  });
});

describe('named prepared statements (DATABASE_PREPARED_STATEMENTS)', () => {
  it('should run the link reads and the create as named statements, answering exactly what unnamed ones answer', async () => {
    const oneConnection = (preparedStatements: boolean) =>
      createDb(
        createPool({
          connectionString: h.tdb.url,
          max: 1,
          ...(preparedStatements ? { preparedStatements: PREPARED_STATEMENTS } : {}),
        }),
      );
    const named = oneConnection(true);
    const unnamed = oneConnection(false);
    try {
      const user = await h.newUser('prepared');
      // the links-api's way (batched statement) and the plain transaction's
      const batched = { ...context(user.id), store: createSharedLinkStore(named, { batching: true }) };
      const link = await createSharedLink(named, batched, {
        type: 'INDIVIDUAL',
        assetIds: [await insertAsset(h.tdb.db, user.id), await insertAsset(h.tdb.db, user.id)],
      });
      await createSharedLink(named, context(user.id), {
        type: 'INDIVIDUAL',
        assetIds: [await insertAsset(h.tdb.db, user.id)],
      });
      // a second time on the connection: bound and executed, no longer parsed
      for (let i = 0; i < 2; i++) {
        expect(await listSharedLinks(named, context(user.id))).toEqual(
          await listSharedLinks(unnamed, context(user.id)),
        );
        expect(await listSharedLinks(named, context(user.id), { id: link.id })).toEqual(
          await listSharedLinks(unnamed, context(user.id), { id: link.id }),
        );
      }
      expect(await listSharedLinks(named, context(user.id), { id: link.id })).toMatchObject([
        { id: link.id, assets: link.assets },
      ]);
      const prepared = async (db: typeof named) =>
        (await sql<{ name: string }>`SELECT name FROM pg_prepared_statements ORDER BY name`.execute(db)).rows.map(
          (r) => r.name,
        );
      expect(await prepared(named)).toEqual([
        'immish.assets.owned',
        'immish.links.by-id',
        'immish.links.by-owner',
        'immish.links.insert',
      ]);
      expect(await prepared(unnamed)).toEqual([]);
    } finally {
      await named.destroy();
      await unnamed.destroy();
    }
  });
});
