import { randomBytes } from 'node:crypto';
import type { AlbumRole, Db } from '@immish/db';

/** Test fixtures for the shared-link tests: rows written straight into the database (no upload pipeline). */
export async function insertAsset(db: Db, ownerId: string, fileName = 'photo.jpg'): Promise<string> {
  const id = crypto.randomUUID();
  await db
    .insertInto('assets')
    .values({
      id,
      owner_id: ownerId,
      type: 'IMAGE',
      original_file_name: fileName,
      mime_type: 'image/jpeg',
      size: 1234,
      checksum: randomBytes(20),
      original_key: `originals/${ownerId}/${id}.jpg`,
      width: 640,
      height: 480,
      status: 'ready',
    } as never)
    .execute();
  return id;
}

export async function insertAssets(db: Db, ownerId: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await insertAsset(db, ownerId, `photo-${i}.jpg`));
  return ids;
}

export async function insertAlbum(
  db: Db,
  ownerId: string,
  opts: { name?: string; members?: { userId: string; role: AlbumRole }[]; assetIds?: string[] } = {},
): Promise<string> {
  const album = await db
    .insertInto('albums')
    .values({ owner_id: ownerId, name: opts.name ?? 'Holiday' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('album_users')
    .values([
      { album_id: album.id, user_id: ownerId, role: 'owner' },
      ...(opts.members ?? []).map((m) => ({ album_id: album.id, user_id: m.userId, role: m.role })),
    ])
    .execute();
  if (opts.assetIds?.length) {
    await db
      .insertInto('album_assets')
      .values(opts.assetIds.map((asset_id) => ({ album_id: album.id, asset_id, added_by: ownerId })))
      .execute();
  }
  return album.id;
}

export const UNKNOWN_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
