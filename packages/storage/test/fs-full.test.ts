import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { mountSmallDisk, type SmallDisk, smallDiskUnavailable } from '@immish/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBlobStore, InsufficientStorageError, isInsufficientStorage, S3BlobStore } from '../src/index.ts';
import { MiB, readAll, snapshotTree } from './helpers.ts';

/**
 * Issue 12 item 14: a full disk is one error type, InsufficientStorageError (507), and leaves nothing partial.
 * The fs driver on a real small file system (a 4 MiB tmpfs this file mounts: the kernel's own ENOSPC).
 */
const unavailable = smallDiskUnavailable();
if (unavailable) {
  console.warn(
    `\n!!!!!!!! SKIPPED: the disk-full tests of the fs driver did NOT run: ${unavailable}. !!!!!!!!\n` +
      '!!!!!!!! A full disk is not covered by this run. !!!!!!!!\n',
  );
}

describe.skipIf(unavailable !== null)('fs driver on a full disk', () => {
  let disk: SmallDisk;
  const root = () => path.join(disk.dir, 'store');
  const store = () => createBlobStore({ driver: 'fs', root: root() });
  const leftovers = async () => (await snapshotTree(root())).filter((p) => p.includes('~tmp~'));

  beforeAll(() => {
    disk = mountSmallDisk(4);
  });
  afterAll(() => {
    disk?.unmount();
  });
  beforeEach(async () => {
    await disk.unfill();
    await store().deletePrefix('a/');
    await disk.fill(256 * 1024); // 256 KiB left
  });

  it('should refuse a buffer that does not fit with InsufficientStorageError and keep no temp file', async () => {
    const err = await store()
      .put('a/big.bin', randomBytes(MiB))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientStorageError);
    expect(err).toMatchObject({ code: 'STORAGE_FULL', status: 507, key: 'a/big.bin' });
    expect(isInsufficientStorage(err)).toBe(true);
    expect((err as Error).message).toMatch(/No space to store "a\/big\.bin": the disk is full/);
    expect(await leftovers()).toEqual([]);
    expect(await store().head('a/big.bin')).toBeNull();
  });

  it('should refuse a stream that does not fit the same way', async () => {
    const err = await store()
      .put('a/stream.bin', Readable.from([randomBytes(MiB / 2), randomBytes(MiB / 2)]))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientStorageError);
    expect(await leftovers()).toEqual([]);
  });

  it('should fail the commit of a writer that ran out of space and remove its temp file', async () => {
    const writer = await store().openWriter('a/archive.zip');
    const wrote = new Promise<unknown>((resolve) => {
      writer.stream.on('error', resolve);
      writer.stream.write(randomBytes(MiB), () => {});
    });
    // the stream reports the file system's own error; commit() reports it as the store's
    expect(isInsufficientStorage(await wrote)).toBe(true);
    await expect(writer.commit()).rejects.toBeInstanceOf(InsufficientStorageError);
    expect(await leftovers()).toEqual([]);
  });

  it('should store what fits, and everything again once space is freed', async () => {
    await store().put('a/small.bin', Buffer.alloc(64 * 1024, 1));
    await disk.unfill();
    const data = randomBytes(MiB);
    await store().put('a/big.bin', data);
    expect(await readAll(await store().get('a/big.bin'))).toEqual(data);
    expect((await readdir(path.join(root(), 'a'))).sort()).toEqual(['big.bin', 'small.bin']);
  });

  it('should still pass its readiness check while full (reads work; writes answer 507)', async () => {
    await disk.fill(0);
    await expect(store().check()).resolves.toBeUndefined();
  });
});

describe('s3 driver: "no space" answers of a store', () => {
  // s3rver cannot run out of space; these are the error objects the SDK raises for such answers (a fake of the
  // store's reply, as no store here can give it), through the driver's one translation.
  const s3 = new S3BlobStore({
    driver: 's3',
    bucket: 'b',
    region: 'us-east-1',
    forcePathStyle: true,
    checksumMode: 'WHEN_REQUIRED',
  });
  it.each([
    ['MinIO drives full', { name: 'XMinioStorageFull', $metadata: { httpStatusCode: 507 } }],
    ['HTTP 507', { name: 'Unknown', $metadata: { httpStatusCode: 507 } }],
    ['EntityTooLarge', { name: 'EntityTooLarge', $metadata: { httpStatusCode: 400 } }],
  ])('should report %s as InsufficientStorageError', (_what, answer) => {
    const err = s3.translate(Object.assign(new Error('refused'), answer), 'PutObject', 'assets/x/original.jpg');
    expect(err).toBeInstanceOf(InsufficientStorageError);
    expect(err).toMatchObject({ status: 507, key: 'assets/x/original.jpg' });
  });
});
