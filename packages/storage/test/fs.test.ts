import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BlobKeyConflictError,
  BlobNotFoundError,
  createBlobStore,
  FsBlobStore,
  StorageUnavailableError,
} from '../src/index.ts';
import { describeBlobStore, type StoreUnderTest } from './blob-store.suite.ts';
import { collect, MiB, readAll, snapshotTree } from './helpers.ts';

const TEMP = /~tmp~[0-9a-f]{16}$/;

async function createFsStore(): Promise<StoreUnderTest & { base: string; root: string }> {
  // The root is one folder inside a private temp dir, so "outside the root" can be checked.
  const base = await mkdtemp(path.join(tmpdir(), 'immish-storage-fs-'));
  const root = path.join(base, 'root');
  await writeFile(path.join(base, 'sentinel.txt'), 'outside the root');
  const store = createBlobStore({ driver: 'fs', root });
  return {
    base,
    root,
    store,
    incompleteWrites: async () => (await snapshotTree(root)).filter((p) => TEMP.test(p)),
    outside: () => snapshotTree(base, ['root']),
    unusable: () => createBlobStore({ driver: 'fs', root: path.join(base, 'sentinel.txt', 'root') }),
    dispose: async () => {
      await store.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}

describeBlobStore('fs', { presigns: false, partSize: 5 * MiB }, createFsStore);

describe('fs driver specifics', () => {
  let sut: Awaited<ReturnType<typeof createFsStore>>;
  beforeEach(async () => {
    sut = await createFsStore();
  });
  afterEach(async () => {
    await sut.dispose();
  });

  it('should store key a/b/c.jpg as the plain file <root>/a/b/c.jpg', async () => {
    await sut.store.put('a/b/c.jpg', Buffer.from('hello'));
    expect(await readFile(path.join(sut.root, 'a', 'b', 'c.jpg'), 'utf8')).toBe('hello');
  });

  it('should write in-flight data to a <name>~tmp~<hex> file next to the target', async () => {
    const writer = await sut.store.openWriter('exports/e1/a.zip');
    writer.stream.write(Buffer.from('partial'));
    const names = await readdir(path.join(sut.root, 'exports', 'e1'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^a\.zip~tmp~[0-9a-f]{16}$/);
    await writer.commit();
    expect(await readdir(path.join(sut.root, 'exports', 'e1'))).toEqual(['a.zip']);
  });

  it('should derive the etag from size and mtime in nanoseconds', async () => {
    await sut.store.put('a/e.bin', Buffer.alloc(300));
    const stats = await lstat(path.join(sut.root, 'a', 'e.bin'), { bigint: true });
    expect((await sut.store.head('a/e.bin'))?.etag).toBe(`"12c-${stats.mtimeNs.toString(16)}"`);
  });

  it('should remove folders left empty by delete, deletePrefix and abort', async () => {
    await sut.store.put('assets/x1/original.jpg', Buffer.from('a'));
    await sut.store.put('assets/x2/original.jpg', Buffer.from('b'));
    await sut.store.delete('assets/x1/original.jpg');
    expect(await readdir(path.join(sut.root, 'assets'))).toEqual(['x2']);
    await sut.store.deletePrefix('assets/');
    expect(await readdir(sut.root)).toEqual([]);
    const writer = await sut.store.openWriter('exports/e9/a.zip');
    await writer.abort();
    expect(await readdir(sut.root)).toEqual([]);
  });

  it('should reject a key that collides with a folder of other keys (fs cannot hold both a/b and a/b/c)', async () => {
    await sut.store.put('a/b/c.jpg', Buffer.from('x'));
    await expect(sut.store.put('a/b', Buffer.from('y'))).rejects.toBeInstanceOf(BlobKeyConflictError);
    await expect(sut.store.put('a/b/c.jpg/d', Buffer.from('z'))).rejects.toBeInstanceOf(BlobKeyConflictError);
    expect((await collect(sut.store.list(''))).map((i) => i.key)).toEqual(['a/b/c.jpg']);
    expect(await sut.store.head('a/b')).toBeNull();
    await expect(sut.store.get('a/b')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await sut.incompleteWrites()).toEqual([]);
  });

  it('should not follow a symlink planted inside the root', async () => {
    await mkdir(path.join(sut.root, 'a'), { recursive: true });
    await symlink(path.join(sut.base, 'sentinel.txt'), path.join(sut.root, 'a', 'link.txt'));
    await expect(sut.store.get('a/link.txt')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await sut.store.head('a/link.txt')).toBeNull();
    expect(await collect(sut.store.list(''))).toEqual([]);
  });

  it('should skip files whose names are not valid keys when listing', async () => {
    await mkdir(path.join(sut.root, 'a'), { recursive: true });
    await writeFile(path.join(sut.root, 'a', 'has space.jpg'), 'x');
    await sut.store.put('a/ok.jpg', Buffer.from('y'));
    expect((await collect(sut.store.list('a/'))).map((i) => i.key)).toEqual(['a/ok.jpg']);
  });

  it('should keep a reader on the version it opened while a put replaces the object', async () => {
    await sut.store.put('a/v.bin', Buffer.alloc(100_000, 1));
    const reading = await sut.store.get('a/v.bin');
    await sut.store.put('a/v.bin', Buffer.alloc(50, 2));
    expect(await readAll(reading)).toEqual(Buffer.alloc(100_000, 1));
    expect(await readAll(await sut.store.get('a/v.bin'))).toEqual(Buffer.alloc(50, 2));
  });

  it('should read in chunks of the size asked for (chunkBytes), delivering the same bytes, ranges included', async () => {
    const content = randomBytes(3 * MiB + 5);
    await sut.store.put('a/big.bin', content);
    const chunks: Buffer[] = [];
    for await (const chunk of await sut.store.get('a/big.bin', undefined, { chunkBytes: MiB })) chunks.push(chunk);
    expect(chunks.map((c) => c.length)).toEqual([MiB, MiB, MiB, 5]);
    expect(Buffer.concat(chunks)).toEqual(content);
    const ranged = await readAll(await sut.store.get('a/big.bin', { start: 10, end: MiB + 20 }, { chunkBytes: MiB }));
    expect(ranged).toEqual(content.subarray(10, MiB + 21));
    expect((await readAll(await sut.store.get('a/big.bin'))).equals(content)).toBe(true);
    await sut.store.put('a/empty.bin', Buffer.alloc(0));
    expect(await readAll(await sut.store.get('a/empty.bin', undefined, { chunkBytes: MiB }))).toEqual(Buffer.alloc(0));
    for (const chunkBytes of [0, 100, 1.5 * MiB + 0.5, 64 * MiB, Number.NaN]) {
      await expect(sut.store.get('a/big.bin', undefined, { chunkBytes })).rejects.toBeInstanceOf(RangeError);
    }
  });

  it('should open a key for positional reads of the version opened (openReader), never through a symlink', async () => {
    const content = randomBytes(100_000);
    await sut.store.put('a/r.bin', content);
    const reader = await sut.store.openReader!('a/r.bin');
    await sut.store.put('a/r.bin', Buffer.alloc(50, 2)); // replaced: the reader keeps its version
    expect(reader.size).toBe(100_000);
    const into = Buffer.alloc(1000);
    expect(await reader.read(into, 10, 500, 99_000)).toBe(500);
    expect(into.subarray(10, 510)).toEqual(content.subarray(99_000, 99_500));
    expect(await reader.read(into, 0, 1000, 99_500)).toBe(500);
    expect(await reader.read(into, 0, 1000, 100_000)).toBe(0);
    await reader.close();
    await expect(sut.store.openReader!('a/missing.bin')).rejects.toBeInstanceOf(BlobNotFoundError);
    await symlink(path.join(sut.base, 'sentinel.txt'), path.join(sut.root, 'a', 'link.txt'));
    await expect(sut.store.openReader!('a/link.txt')).rejects.toBeInstanceOf(BlobNotFoundError);
    expect((await sut.store.openWriter('a/w.bin')).releasesChunks).toBe(true);
  });

  it('should create a missing root on check() and fail it when the root is below a regular file', async () => {
    await expect(sut.store.check()).resolves.toBeUndefined();
    expect((await lstat(sut.root)).isDirectory()).toBe(true);
    expect(await readdir(sut.root)).toEqual([]); // the probe file is gone
    const broken = new FsBlobStore(path.join(sut.base, 'sentinel.txt', 'root'));
    await expect(broken.check()).rejects.toBeInstanceOf(StorageUnavailableError);
  });
});
