import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assertSafeKey,
  BlobNotFoundError,
  type BlobStore,
  contentDisposition,
  IncompleteAbortError,
  InvalidBlobKeyError,
  RangeNotSatisfiableError,
  StorageUnavailableError,
  UnsupportedByStoreError,
} from '../src/index.ts';
import {
  collect,
  eventually,
  MiB,
  randomStream,
  readAll,
  sha256,
  sha256OfStream,
  writeWithBackpressure,
} from './helpers.ts';

/** One store on a fresh backend area (temp dir / bucket), plus ways to look at the backend directly. */
export interface StoreUnderTest {
  store: BlobStore;
  /** In-flight writes as the backend itself records them: fs temp files, S3 multipart uploads. */
  incompleteWrites(): Promise<string[]>;
  /** What the backend holds outside this store's area (fs: next to the root; s3: other buckets). */
  outside(): Promise<string[]>;
  /** The same driver pointed at something unusable (missing bucket, root below a regular file). */
  unusable(): BlobStore;
  dispose(): Promise<void>;
}

export interface BackendTraits {
  presigns: boolean;
  /** Part size for writers, so that ≥ 30 MB objects really go through several parts on S3. */
  partSize: number;
  /**
   * What the backend (an emulator) cannot do, with the reason that goes into the test names; absent =
   * supported. Real S3 and MinIO support all of these.
   */
  cannot?: {
    abortMultipartUpload?: string;
    listMultipartUploads?: string;
    /** list in S3's byte order ("a1.json" before "a1/x") */
    sortListing?: string;
    /** report when a multipart upload was initiated */
    reportUploadInitiated?: string;
    /** honour response-content-disposition / response-content-type on a presigned GET */
    overrideResponseHeaders?: string;
  };
}

type Limitation = keyof NonNullable<BackendTraits['cannot']>;

const BAD_KEYS: [string, string][] = [
  ['parent segment', '../x'],
  ['escaping traversal', 'a/../../etc/passwd'],
  ['absolute path', '/abs'],
  ['empty segment', 'a//b'],
  ['backslash', 'a\\b'],
  ['dot segment', 'a/./b'],
  ['lone dot', '.'],
  ['lone dot-dot', '..'],
  ['NUL byte', 'a\u0000b'],
  ['newline', 'a\nb'],
  ['empty', ''],
  ['trailing slash', 'assets/'],
  ['space', 'a b.jpg'],
  ['non-ASCII', 'été.jpg'],
  ['1025 bytes', `k/${'x'.repeat(1023)}`],
  ['201-byte segment', `a/${'b'.repeat(201)}`],
];
const BAD_PREFIXES = ['../x', 'a/../../etc', '/abs', 'a//b', 'a\\b', 'a/./', 'a/..', 'a\u0000', 'x'.repeat(1025)];

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));

export function describeBlobStore(name: string, traits: BackendTraits, create: () => Promise<StoreUnderTest>): void {
  /**
   * Why a skip here: s3rver 3.7.1 (the S3 emulator) answers AbortMultipartUpload with 405 and
   * ListMultipartUploads with 501, and lists keys in folder order. Those few contract tests cannot be shown
   * on it, so they are skipped there only, with the reason in the test name; they run on fs (and on moto
   * when installed), and s3.test.ts asserts what s3rver does instead (the refusal, the leftover upload).
   */
  const itUnless = (limitation: Limitation, title: string, fn: () => Promise<void>) => {
    const reason = traits.cannot?.[limitation];
    if (reason)
      it.skip(`${title} — not shown here: ${reason}`, fn); // skip: this backend (s3rver) cannot show it; the case runs on fs and moto
    else it(title, fn);
  };

  describe(`BlobStore contract: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: BlobStore;
    beforeEach(async () => {
      sut = await create();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.dispose();
    });

    describe('put and get', () => {
      it('should put a stream and get back identical bytes (sha256)', async () => {
        const source = randomStream(3 * MiB + 17);
        const info = await store.put('assets/0b5e/original.jpg', source.stream);
        expect(info).toMatchObject({ key: 'assets/0b5e/original.jpg', size: 3 * MiB + 17 });
        const back = await sha256OfStream(await store.get('assets/0b5e/original.jpg'));
        expect(back).toEqual({ digest: source.digest(), size: 3 * MiB + 17 });
      });

      it('should put a Buffer and a Uint8Array and get them back', async () => {
        const buffer = bytes(4096);
        await store.put('a/buffer.bin', buffer);
        await store.put('a/uint8.bin', new Uint8Array(buffer.buffer, buffer.byteOffset + 96, 1000));
        expect(sha256(await readAll(await store.get('a/buffer.bin')))).toBe(sha256(buffer));
        expect(await readAll(await store.get('a/uint8.bin'))).toEqual(buffer.subarray(96, 1096));
      });

      it('should store an empty object', async () => {
        expect((await store.put('a/empty.txt', Buffer.alloc(0))).size).toBe(0);
        expect((await store.put('a/empty-stream.txt', Readable.from([]))).size).toBe(0);
        expect((await readAll(await store.get('a/empty.txt'))).length).toBe(0);
        expect((await store.head('a/empty-stream.txt'))?.size).toBe(0);
      });

      it('should replace an object when putting the same key again', async () => {
        await store.put('a/k.bin', bytes(100));
        await store.put('a/k.bin', Buffer.from('second'));
        expect((await readAll(await store.get('a/k.bin'))).toString()).toBe('second');
      });

      it('should throw BlobNotFoundError when getting a missing key', async () => {
        await expect(store.get('a/missing.jpg')).rejects.toBeInstanceOf(BlobNotFoundError);
        await expect(store.get('a/missing.jpg', { start: 0 })).rejects.toMatchObject({ code: 'BLOB_NOT_FOUND' });
      });

      it('should not expose an object before put() from a stream completes', async () => {
        const body = new PassThrough();
        const putting = store.put('a/slow.bin', body);
        body.write(bytes(64 * 1024));
        await new Promise((r) => setTimeout(r, 150));
        expect(await store.head('a/slow.bin')).toBeNull();
        expect(await collect(store.list('a/'))).toEqual([]);
        body.end(bytes(10));
        expect((await putting).size).toBe(64 * 1024 + 10);
      });

      it('should reject put() and publish nothing when the source stream fails', async () => {
        const body = new Readable({ read() {} });
        const putting = store.put('a/broken.bin', body);
        body.push(bytes(1000));
        setTimeout(() => body.destroy(new Error('source failed')), 50);
        await expect(putting).rejects.toThrow('source failed');
        expect(await store.head('a/broken.bin')).toBeNull();
        expect(await sut.incompleteWrites()).toEqual([]);
      });
    });

    describe('ranges', () => {
      const data = bytes(1000);
      beforeEach(async () => {
        await store.put('r/data.bin', data);
      });
      const read = async (start: number, end?: number) =>
        readAll(await store.get('r/data.bin', end === undefined ? { start } : { start, end }));

      it('should read from a start offset to the end', async () => {
        expect(await read(990)).toEqual(data.subarray(990));
        expect(await read(0)).toEqual(data);
      });

      it('should read a range with an inclusive end', async () => {
        expect(await read(10, 19)).toEqual(data.subarray(10, 20));
      });

      it('should read a single byte', async () => {
        expect(await read(500, 500)).toEqual(data.subarray(500, 501));
      });

      it('should read the last byte', async () => {
        expect(await read(999)).toEqual(data.subarray(999));
        expect(await read(999, 999)).toEqual(data.subarray(999));
      });

      it('should clamp an end past the last byte, like HTTP', async () => {
        expect(await read(995, 5000)).toEqual(data.subarray(995));
      });

      it('should throw RangeNotSatisfiableError for a range starting at or past the end', async () => {
        await expect(store.get('r/data.bin', { start: 1000 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
        await expect(store.get('r/data.bin', { start: 5000, end: 6000 })).rejects.toMatchObject({
          code: 'RANGE_NOT_SATISFIABLE',
          status: 416,
        });
        await store.put('r/empty.bin', Buffer.alloc(0));
        await expect(store.get('r/empty.bin', { start: 0 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
      });

      it('should reject malformed ranges before reading', async () => {
        await expect(store.get('r/data.bin', { start: -1 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
        await expect(store.get('r/data.bin', { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
        await expect(store.get('r/data.bin', { start: 1.5 })).rejects.toBeInstanceOf(RangeNotSatisfiableError);
      });
    });

    describe('head', () => {
      it('should report size, etag, lastModified and content type', async () => {
        const before = Date.now();
        const put = await store.put('assets/a1/original.jpg', bytes(1234), { contentType: 'image/jpeg' });
        const info = await store.head('assets/a1/original.jpg');
        expect(info).toMatchObject({ key: 'assets/a1/original.jpg', size: 1234, contentType: 'image/jpeg' });
        expect(info?.etag).toMatch(/^".+"$/);
        expect(info?.etag).toBe(put.etag);
        // S3 keeps whole seconds.
        expect(info?.lastModified.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
        expect(info?.lastModified.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      });

      it('should derive the content type from the extension when none is given', async () => {
        await store.put('exports/e1/part-1.zip', bytes(10));
        expect((await store.head('exports/e1/part-1.zip'))?.contentType).toBe('application/zip');
      });

      it('should return null for a missing key', async () => {
        expect(await store.head('assets/none/original.jpg')).toBeNull();
      });

      it('should keep the etag stable and change it when the object is replaced', async () => {
        await store.put('a/e.bin', bytes(10));
        const first = (await store.head('a/e.bin'))?.etag;
        expect((await store.head('a/e.bin'))?.etag).toBe(first);
        await store.put('a/e.bin', bytes(11));
        const second = (await store.head('a/e.bin'))?.etag;
        expect(second).toBeTruthy();
        expect(second).not.toBe(first);
      });
    });

    describe('delete', () => {
      it('should delete an object', async () => {
        await store.put('d/x.jpg', bytes(10));
        await store.delete('d/x.jpg');
        expect(await store.head('d/x.jpg')).toBeNull();
        await expect(store.get('d/x.jpg')).rejects.toBeInstanceOf(BlobNotFoundError);
        expect(await collect(store.list(''))).toEqual([]);
      });

      it('should accept deleting a missing key', async () => {
        await expect(store.delete('d/never.jpg')).resolves.toBeUndefined();
        await store.put('d/once.jpg', bytes(1));
        await store.delete('d/once.jpg');
        await expect(store.delete('d/once.jpg')).resolves.toBeUndefined();
      });
    });

    describe('list and deletePrefix', () => {
      const keys = [
        'albums/a1/x.jpg',
        'albums/a1/y=1.bin',
        'albums/a1/sub/z_2.jpg',
        'albums/a10/w-3.jpg',
        'albums/a1.json',
        'other/a1/x.jpg',
      ];
      beforeEach(async () => {
        for (const [i, key] of keys.entries()) await store.put(key, bytes(i + 1));
      });

      const keysOf = async (prefix: string) => (await collect(store.list(prefix))).map((i) => i.key).sort();

      it('should list only keys under the prefix, nested ones included', async () => {
        const listed = (await collect(store.list('albums/a1/'))).sort((a, b) => (a.key < b.key ? -1 : 1));
        expect(listed.map((i) => i.key)).toEqual(['albums/a1/sub/z_2.jpg', 'albums/a1/x.jpg', 'albums/a1/y=1.bin']);
        expect(listed.map((i) => i.size)).toEqual([3, 1, 2]);
        for (const info of listed) {
          expect(info.etag).toMatch(/^".+"$/);
          expect(info.lastModified).toBeInstanceOf(Date);
        }
      });

      it('should list by a prefix ending inside a segment, like S3', async () => {
        expect(await keysOf('albums/a1')).toEqual([
          'albums/a1.json',
          'albums/a1/sub/z_2.jpg',
          'albums/a1/x.jpg',
          'albums/a1/y=1.bin',
          'albums/a10/w-3.jpg',
        ]);
      });

      it('should list everything with an empty prefix and nothing for an unknown one', async () => {
        expect(await keysOf('')).toEqual([...keys].sort());
        expect(await collect(store.list('nope/'))).toEqual([]);
      });

      itUnless('sortListing', 'should list in S3 key order (byte order: "a1.json" before "a1/…")', async () => {
        expect((await collect(store.list(''))).map((i) => i.key)).toEqual([...keys].sort());
        expect((await collect(store.list('albums/a1'))).map((i) => i.key)).toEqual([
          'albums/a1.json',
          'albums/a1/sub/z_2.jpg',
          'albums/a1/x.jpg',
          'albums/a1/y=1.bin',
          'albums/a10/w-3.jpg',
        ]);
      });

      it('should not list in-flight writes', async () => {
        const writer = await store.openWriter('albums/a1/pending.zip', { partSize: traits.partSize });
        await writeWithBackpressure(writer.stream, traits.partSize + 1024);
        // The backend really holds an in-flight write (temp file / multipart upload) by now.
        await eventually(async () => (await sut.incompleteWrites()).length === 1);
        expect(await keysOf('')).toEqual([...keys].sort());
        expect(await store.head('albums/a1/pending.zip')).toBeNull();
        await writer.abort().catch((error) => {
          if (!traits.cannot?.abortMultipartUpload) throw error;
        });
      });

      it('should delete every object under a prefix and nothing else', async () => {
        expect(await store.deletePrefix('albums/a1/')).toBe(3);
        expect(await keysOf('')).toEqual(['albums/a1.json', 'albums/a10/w-3.jpg', 'other/a1/x.jpg']);
        expect(await store.deletePrefix('albums/a1/')).toBe(0);
        expect(await store.deletePrefix('albums/')).toBe(2);
        expect(await keysOf('')).toEqual(['other/a1/x.jpg']);
      });

      it('should refuse deletePrefix with an empty prefix', async () => {
        await expect(store.deletePrefix('')).rejects.toBeInstanceOf(InvalidBlobKeyError);
        expect(await collect(store.list(''))).toHaveLength(keys.length);
      });
    });

    describe('openWriter', () => {
      it('should stream a 30 MB object in chunks with backpressure, identical by sha256', async () => {
        const size = 30 * MiB + 123;
        const writer = await store.openWriter('exports/e2/part-1.zip', { partSize: traits.partSize });
        const written = await writeWithBackpressure(writer.stream, size);
        expect(written.drains).toBeGreaterThan(0);
        expect(written.maxBuffered).toBeLessThanOrEqual(writer.stream.writableHighWaterMark + 256 * 1024);
        const info = await writer.commit();
        expect(info).toMatchObject({ key: 'exports/e2/part-1.zip', size, contentType: 'application/zip' });
        expect(await sha256OfStream(await store.get('exports/e2/part-1.zip'))).toEqual({
          digest: written.digest,
          size,
        });
        expect(await sut.incompleteWrites()).toEqual([]);
      });

      it('should put a 30 MB object from a stream, identical by sha256', async () => {
        const size = 30 * MiB + 7;
        const source = randomStream(size, 64 * 1024);
        expect((await store.put('exports/e3/part-1.zip', source.stream)).size).toBe(size);
        expect(await sha256OfStream(await store.get('exports/e3/part-1.zip'))).toEqual({
          digest: source.digest(),
          size,
        });
      });

      it('should keep an uncommitted object invisible until commit', async () => {
        const writer = await store.openWriter('exports/e4/a.zip');
        await new Promise<void>((resolve, reject) =>
          writer.stream.write(bytes(1024), (e) => (e ? reject(e) : resolve())),
        );
        expect(await store.head('exports/e4/a.zip')).toBeNull();
        await expect(store.get('exports/e4/a.zip')).rejects.toBeInstanceOf(BlobNotFoundError);
        expect(await collect(store.list('exports/'))).toEqual([]);
        expect((await writer.commit()).size).toBe(1024);
        expect((await store.head('exports/e4/a.zip'))?.size).toBe(1024);
      });

      it('should publish only on commit even after the caller ended the stream', async () => {
        const writer = await store.openWriter('exports/e5/a.zip');
        await pipeline(Readable.from([bytes(2048)]), writer.stream);
        await new Promise((r) => setTimeout(r, 150));
        expect(await store.head('exports/e5/a.zip')).toBeNull();
        expect((await writer.commit()).size).toBe(2048);
        expect(await readAll(await store.get('exports/e5/a.zip'))).toEqual(bytes(2048));
      });

      it('should leave nothing behind when a writer is aborted before any part was sent', async () => {
        const writer = await store.openWriter('exports/e6/a.zip');
        writer.stream.write(bytes(1024));
        await writer.abort();
        await writer.abort(); // idempotent
        expect(await store.head('exports/e6/a.zip')).toBeNull();
        expect(await collect(store.list(''))).toEqual([]);
        expect(await sut.incompleteWrites()).toEqual([]);
        await expect(writer.commit()).rejects.toThrow(/aborted/);
      });

      if (traits.cannot?.abortMultipartUpload) {
        it(`should report IncompleteAbortError and keep the object invisible when aborting after parts were sent — ${traits.cannot.abortMultipartUpload}`, async () => {
          const writer = await store.openWriter('exports/e7/a.zip', { partSize: traits.partSize });
          await writeWithBackpressure(writer.stream, traits.partSize + 1024);
          await eventually(async () => (await sut.incompleteWrites()).length === 1);
          await expect(writer.abort()).rejects.toBeInstanceOf(IncompleteAbortError);
          expect(await store.head('exports/e7/a.zip')).toBeNull();
          expect(await collect(store.list(''))).toEqual([]);
          // What the emulator cannot show: that no multipart upload remains. It keeps this one.
          expect(await sut.incompleteWrites()).toHaveLength(1);
        });
      } else {
        it('should leave no incomplete write behind when a writer is aborted after parts were sent', async () => {
          const writer = await store.openWriter('exports/e7/a.zip', { partSize: traits.partSize });
          await writeWithBackpressure(writer.stream, traits.partSize + 1024);
          await eventually(async () => (await sut.incompleteWrites()).length === 1);
          await writer.abort();
          expect(await store.head('exports/e7/a.zip')).toBeNull();
          expect(await collect(store.list(''))).toEqual([]);
          expect(await sut.incompleteWrites()).toEqual([]);
        });
      }

      it('should not publish when the writer stream is destroyed before commit', async () => {
        const writer = await store.openWriter('exports/e8/a.zip');
        writer.stream.write(bytes(100));
        writer.stream.destroy(new Error('producer failed'));
        await expect(writer.commit()).rejects.toThrow('producer failed');
        await writer.abort();
        expect(await store.head('exports/e8/a.zip')).toBeNull();
        expect(await sut.incompleteWrites()).toEqual([]);
      });
    });

    describe('abortIncompleteWrites', () => {
      /** A writer that sent data and was then dropped, as if its process had been killed. */
      async function abandonWriter(key: string) {
        const writer = await store.openWriter(key, { partSize: traits.partSize });
        await writeWithBackpressure(writer.stream, traits.partSize + 1024);
        return writer;
      }

      if (traits.cannot?.listMultipartUploads) {
        it(`should report UnsupportedByStoreError rather than a count — ${traits.cannot.listMultipartUploads}`, async () => {
          const crashed = await abandonWriter('exports/crashed/a.zip');
          await eventually(async () => (await sut.incompleteWrites()).length === 1);
          await expect(store.abortIncompleteWrites('exports/crashed/', 0)).rejects.toBeInstanceOf(
            UnsupportedByStoreError,
          );
          expect(await store.head('exports/crashed/a.zip')).toBeNull();
          // What the emulator cannot show: the cleanup itself. The abandoned upload is still there.
          expect(await sut.incompleteWrites()).toHaveLength(1);
          crashed.stream.destroy(); // release this process's side of the "crashed" writer
        });
      } else {
        it('should clean up a writer that was abandoned without commit or abort', async () => {
          const crashed = await abandonWriter('exports/crashed/a.zip');
          const bystander = await abandonWriter('exports/other/b.zip');
          await eventually(async () => (await sut.incompleteWrites()).length === 2);
          expect(await store.abortIncompleteWrites('exports/crashed/', 0)).toBe(1);
          expect(await sut.incompleteWrites()).toHaveLength(1);
          expect(await store.head('exports/crashed/a.zip')).toBeNull();
          expect(await store.abortIncompleteWrites('', 0)).toBe(1);
          expect(await sut.incompleteWrites()).toEqual([]);
          expect(await collect(store.list(''))).toEqual([]);
          crashed.stream.destroy(); // release this process's side of the "crashed" writers
          bystander.stream.destroy();
        });

        itUnless('reportUploadInitiated', 'should keep in-flight writes younger than olderThanMs', async () => {
          const live = await abandonWriter('exports/live/a.zip');
          await eventually(async () => (await sut.incompleteWrites()).length === 1);
          // It may belong to a process that is still writing.
          expect(await store.abortIncompleteWrites('exports/', 60 * 60 * 1000)).toBe(0);
          expect(await store.abortIncompleteWrites('exports/')).toBe(0); // default: 24 h
          expect(await sut.incompleteWrites()).toHaveLength(1);
          expect(await store.abortIncompleteWrites('exports/', 0)).toBe(1);
          live.stream.destroy();
        });
      }
    });

    describe('presignGet', () => {
      if (traits.presigns) {
        it('should presign a GET URL that serves the bytes', async () => {
          const data = bytes(5000);
          await store.put('shares/s1/photo.jpg', data, { contentType: 'image/jpeg' });
          const url = await store.presignGet('shares/s1/photo.jpg', { expiresInSeconds: 60, fileName: 'a.jpg' });
          expect(url).toMatch(/^https?:\/\//);
          const response = await fetch(url as string);
          expect(response.status).toBe(200);
          expect(Buffer.from(await response.arrayBuffer())).toEqual(data);
        });

        itUnless(
          'overrideResponseHeaders',
          'should make the presigned URL answer with an RFC 6266 Content-Disposition and the given content type',
          async () => {
            await store.put('shares/s1/photo.bin', bytes(100));
            const fileName = 'Été à Paris "1" (copy).jpg';
            const url = await store.presignGet('shares/s1/photo.bin', {
              expiresInSeconds: 60,
              fileName,
              contentType: 'image/jpeg',
            });
            const response = await fetch(url as string);
            expect(response.status).toBe(200);
            expect(response.headers.get('content-disposition')).toBe(contentDisposition(fileName));
            expect(response.headers.get('content-type')).toBe('image/jpeg');
            await response.arrayBuffer();
          },
        );

        it('should presign a ranged-capable URL without a disposition when no file name is given', async () => {
          await store.put('shares/s1/clip.mp4', bytes(3000));
          const url = (await store.presignGet('shares/s1/clip.mp4', { expiresInSeconds: 60 })) as string;
          const response = await fetch(url, { headers: { Range: 'bytes=100-199' } });
          expect(response.status).toBe(206);
          expect(Buffer.from(await response.arrayBuffer())).toEqual(bytes(3000).subarray(100, 200));
          expect(response.headers.get('content-disposition')).toBeNull();
        });
      } else {
        it('should return null from presignGet (the caller streams the bytes itself)', async () => {
          await store.put('shares/s1/photo.jpg', bytes(10));
          expect(await store.presignGet('shares/s1/photo.jpg', { expiresInSeconds: 60, fileName: 'x.jpg' })).toBeNull();
        });
      }

      it('should reject an expiry outside 1 s … 7 days', async () => {
        await expect(store.presignGet('shares/s1/a.jpg', { expiresInSeconds: 0 })).rejects.toBeInstanceOf(RangeError);
        await expect(store.presignGet('shares/s1/a.jpg', { expiresInSeconds: 8 * 86400 })).rejects.toBeInstanceOf(
          RangeError,
        );
      });
    });

    describe('key safety', () => {
      it.each(BAD_KEYS)('should reject a key with %s from every method', async (_label, key) => {
        const before = await sut.outside();
        expect(() => assertSafeKey(key)).toThrow(InvalidBlobKeyError);
        const calls: [string, () => Promise<unknown>][] = [
          ['put(Buffer)', () => store.put(key, Buffer.from('x'))],
          ['put(stream)', () => store.put(key, Readable.from([Buffer.from('x')]))],
          ['get', () => store.get(key)],
          ['get(range)', () => store.get(key, { start: 0 })],
          ['head', () => store.head(key)],
          ['delete', () => store.delete(key)],
          ['openWriter', () => store.openWriter(key)],
          ['presignGet', () => store.presignGet(key, { expiresInSeconds: 60 })],
        ];
        for (const [method, call] of calls) {
          await expect(call(), method).rejects.toBeInstanceOf(InvalidBlobKeyError);
        }
        expect(await collect(store.list(''))).toEqual([]);
        expect(await sut.incompleteWrites()).toEqual([]);
        expect(await sut.outside()).toEqual(before);
      });

      it('should reject traversal prefixes from list, deletePrefix and abortIncompleteWrites', async () => {
        const before = await sut.outside();
        for (const prefix of BAD_PREFIXES) {
          await expect(collect(store.list(prefix)), prefix).rejects.toBeInstanceOf(InvalidBlobKeyError);
          await expect(store.deletePrefix(prefix), prefix).rejects.toBeInstanceOf(InvalidBlobKeyError);
          await expect(store.abortIncompleteWrites(prefix, 0), prefix).rejects.toBeInstanceOf(InvalidBlobKeyError);
        }
        expect(await sut.outside()).toEqual(before);
      });

      it('should accept the key shapes immish uses', async () => {
        for (const key of [
          'assets/7d0c2f0e-5b7a-4a53-9d55-2a8e0c6b1f3e/original.jpg',
          'assets/7d0c2f0e-5b7a-4a53-9d55-2a8e0c6b1f3e/thumbnail.webp',
          'exports/1f0e3c2a-0000-4000-8000-000000000001/part-1.zip',
          'uploads/u=1/..hidden-but-not-a-dot-segment',
        ]) {
          expect(assertSafeKey(key)).toBe(key);
          await store.put(key, Buffer.from(key));
          expect((await readAll(await store.get(key))).toString()).toBe(key);
        }
      });
    });

    describe('check', () => {
      it('should succeed on a usable store', async () => {
        await expect(store.check()).resolves.toBeUndefined();
      });

      it('should fail with StorageUnavailableError when the backend is unusable', async () => {
        const broken = sut.unusable();
        try {
          await expect(broken.check()).rejects.toBeInstanceOf(StorageUnavailableError);
        } finally {
          await broken.close();
        }
      });
    });
  });
}
