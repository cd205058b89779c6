import {
  AlbumUserRole,
  AssetOrder,
  addAssetsToAlbum,
  addAssetsToAlbums,
  addSharedLinkAssets,
  addUsersToAlbum,
  createAlbum,
  createSharedLink,
  deleteAlbum,
  getAlbumInfo,
  getAlbumStatistics,
  getAllAlbums,
  getAllSharedLinks,
  getMyUser,
  getSharedLinkById,
  init,
  isHttpError,
  removeAssetFromAlbum,
  removeSharedLink,
  removeSharedLinkAssets,
  removeUserFromAlbum,
  SharedLinkType,
  setApiKey,
  updateAlbumInfo,
  updateAlbumUser,
  updateSharedLink,
} from '@immich/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAsset } from './albums-fixtures.ts';
import { type LinksApiHarness, startLinksApi, type TestUser } from './harness.ts';

/**
 * Immich's own TypeScript client (`@immich/sdk`) against a real links-api on a real port (issue 3 item 4):
 * if the SDK can drive it, Immich's clients can.
 */
let h: LinksApiHarness;
let owner: TestUser;
let friend: TestUser;

beforeAll(async () => {
  h = await startLinksApi();
  owner = await h.newUser('sdk-owner');
  friend = await h.newUser('sdk-friend');
  const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
  init({ baseUrl: `${address}/api`, apiKey: owner.key });
});
afterAll(async () => {
  await h?.close();
});

/** The SDK's key is process-global: switch it for calls made as another user. */
async function as<T>(user: TestUser, fn: () => Promise<T>): Promise<T> {
  setApiKey(user.key);
  try {
    return await fn();
  } finally {
    setApiKey(owner.key);
  }
}

async function httpStatusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (isHttpError(err)) return err.status;
    throw err;
  }
}

describe('@immich/sdk albums', () => {
  it('should create an album, add a member and assets, update, list, remove and delete it', async () => {
    const me = await getMyUser();
    expect(me.id).toBe(owner.id);

    const a1 = await insertAsset(h, owner.id);
    const a2 = await insertAsset(h, owner.id);
    const album = await createAlbum({
      createAlbumDto: { albumName: 'From the SDK', description: 'made by @immich/sdk', assetIds: [a1.id] },
    });
    expect(album).toMatchObject({ albumName: 'From the SDK', assetCount: 1, albumThumbnailAssetId: a1.id });
    expect(album.albumUsers).toEqual([expect.objectContaining({ role: 'owner' })]);

    const shared = await addUsersToAlbum({
      id: album.id,
      addUsersDto: { albumUsers: [{ userId: friend.id, role: AlbumUserRole.Viewer }] },
    });
    expect(shared.shared).toBe(true);
    expect(shared.albumUsers.map((u) => [u.role, u.user.id])).toEqual([
      ['owner', owner.id],
      ['viewer', friend.id],
    ]);

    const added = await addAssetsToAlbum({ id: album.id, bulkIdsDto: { ids: [a1.id, a2.id] } });
    expect(added).toEqual([
      { id: a1.id, success: false, error: 'duplicate' },
      { id: a2.id, success: true },
    ]);

    const updated = await updateAlbumInfo({
      id: album.id,
      updateAlbumDto: { albumName: 'Renamed', order: AssetOrder.Asc },
    });
    expect(updated).toMatchObject({ albumName: 'Renamed', order: 'asc', assetCount: 2 });

    // the friend sees it, shared with them, but may not change it
    const theirs = await as(friend, () => getAllAlbums({ isOwned: false }));
    expect(theirs.map((a) => a.id)).toEqual([album.id]);
    expect(await as(friend, () => getAlbumInfo({ id: album.id }))).toMatchObject({ albumName: 'Renamed' });
    expect(
      await httpStatusOf(as(friend, () => updateAlbumInfo({ id: album.id, updateAlbumDto: { albumName: 'x' } }))),
    ).toBe(400);

    await updateAlbumUser({ id: album.id, userId: friend.id, updateAlbumUserDto: { role: AlbumUserRole.Editor } });
    expect((await getAlbumInfo({ id: album.id })).albumUsers[1]).toMatchObject({ role: 'editor' });

    const removed = await removeAssetFromAlbum({ id: album.id, bulkIdsDto: { ids: [a2.id] } });
    expect(removed).toEqual([{ id: a2.id, success: true }]);

    await as(friend, () => removeUserFromAlbum({ id: album.id, userId: 'me' }));
    expect(await httpStatusOf(as(friend, () => getAlbumInfo({ id: album.id })))).toBe(400);

    const a3 = await insertAsset(h, owner.id);
    expect(await addAssetsToAlbums({ albumsAddAssetsDto: { albumIds: [album.id], assetIds: [a3.id] } })).toEqual({
      success: true,
    });
    expect(await getAlbumStatistics()).toEqual({ owned: 1, shared: 0, notShared: 1 });

    expect((await getAllAlbums({})).map((a) => a.id)).toContain(album.id);
    await deleteAlbum({ id: album.id });
    expect((await getAllAlbums({})).map((a) => a.id)).not.toContain(album.id);
    expect(await httpStatusOf(getAlbumInfo({ id: album.id }))).toBe(400);
  });
});

describe('@immich/sdk shared links', () => {
  it('should create album and individual links, list, update, add/remove assets and delete them', async () => {
    const a1 = await insertAsset(h, owner.id);
    const a2 = await insertAsset(h, owner.id);
    const album = await createAlbum({
      createAlbumDto: {
        albumName: 'Linked from the SDK',
        assetIds: [a1.id],
        albumUsers: [{ userId: friend.id, role: AlbumUserRole.Editor }],
      },
    });

    const albumLink = await createSharedLink({
      sharedLinkCreateDto: { type: SharedLinkType.Album, albumId: album.id, description: 'for the family' },
    });
    expect(albumLink).toMatchObject({
      type: 'ALBUM',
      description: 'for the family',
      album: { id: album.id, albumName: 'Linked from the SDK' },
    });
    expect(albumLink.key).toEqual(expect.any(String));
    expect((await getAlbumInfo({ id: album.id })).hasSharedLink).toBe(true);

    // an editor may share the album too; a link is its creator's
    const editorsLink = await as(friend, () =>
      createSharedLink({ sharedLinkCreateDto: { type: SharedLinkType.Album, albumId: album.id } }),
    );
    expect(editorsLink.album?.id).toBe(album.id);

    const single = await createSharedLink({
      sharedLinkCreateDto: { type: SharedLinkType.Individual, assetIds: [a1.id], allowDownload: false },
    });
    expect(single.assets.map((a) => a.id)).toEqual([a1.id]);

    const mine = await getAllSharedLinks({});
    expect(mine.map((l) => l.id).sort()).toEqual([albumLink.id, single.id].sort());
    expect((await getAllSharedLinks({ albumId: album.id })).map((l) => l.id)).toEqual([albumLink.id]);

    const expiresAt = new Date(Date.now() + 7 * 86_400_000).toISOString();
    const updated = await updateSharedLink({
      id: albumLink.id,
      sharedLinkEditDto: { description: 'renamed', expiresAt, password: 'letmein', allowUpload: true },
    });
    expect(updated).toMatchObject({ description: 'renamed', expiresAt, allowUpload: true });
    expect(JSON.stringify(updated)).not.toContain('letmein');
    expect((await getSharedLinkById({ id: albumLink.id })).description).toBe('renamed');

    const added = await addSharedLinkAssets({ id: single.id, assetIdsDto: { assetIds: [a1.id, a2.id] } });
    expect(added).toEqual([
      { assetId: a1.id, success: false, error: 'duplicate' },
      { assetId: a2.id, success: true },
    ]);
    const removed = await removeSharedLinkAssets({ id: single.id, assetIdsDto: { assetIds: [a1.id] } });
    expect(removed).toEqual([{ assetId: a1.id, success: true }]);

    await removeSharedLink({ id: albumLink.id });
    await removeSharedLink({ id: single.id });
    expect(await getAllSharedLinks({})).toEqual([]);
    expect(await httpStatusOf(getSharedLinkById({ id: albumLink.id }))).toBe(400);
    // the other user's link is not mine to delete
    expect(await httpStatusOf(removeSharedLink({ id: editorsLink.id }))).toBe(400);
  });
});
