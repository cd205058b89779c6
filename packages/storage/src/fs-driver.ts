import { randomBytes } from 'node:crypto';
import { type BigIntStats, constants, createWriteStream, type WriteStream } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { finished, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentTypeFromKey } from './content-type.ts';
import {
  BlobKeyConflictError,
  BlobNotFoundError,
  InsufficientStorageError,
  InvalidBlobKeyError,
  isInsufficientStorage,
  StorageUnavailableError,
} from './errors.ts';
import { assertSafeKey, assertSafePrefix, isSafeKey } from './keys.ts';
import { assertAge, assertPresignOptions, assertReadOptions, DEFAULT_INCOMPLETE_WRITE_AGE_MS } from './options.ts';
import { assertWellFormedRange, resolveRange } from './range.ts';
import type {
  BlobInfo,
  BlobReader,
  BlobStore,
  BlobWriter,
  ByteRange,
  PresignGetOptions,
  ReadOptions,
} from './types.ts';

/**
 * In-flight writes are `<segment>~tmp~<16 hex>` files next to their target, so the final rename stays
 * on one filesystem (atomic). "~" is outside the key alphabet: no key can ever name a temp file, list()
 * never shows one, and abortIncompleteWrites() recognises them (and the key they were meant for).
 */
const TEMP_NAME = /^(.+)~tmp~[0-9a-f]{16}$/;
const tempNameFor = (segment: string) => `${segment}~tmp~${randomBytes(8).toString('hex')}`;

type Entry = { kind: 'object' | 'temp'; key: string; file: string };

const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;
const isMissing = (error: unknown) => ['ENOENT', 'ENOTDIR'].includes(errno(error) ?? '');

/** A full disk (ENOSPC) or quota (EDQUOT) as the store's InsufficientStorageError; anything else unchanged. */
function noSpace(error: unknown, key: string): unknown {
  if (error instanceof InsufficientStorageError || !isInsufficientStorage(error)) return error;
  const why = errno(error) === 'EDQUOT' ? 'the disk quota is exceeded' : 'the disk is full';
  return new InsufficientStorageError(key, why, { cause: error });
}

function toInfo(key: string, stats: BigIntStats, withContentType: boolean): BlobInfo {
  const info: BlobInfo = {
    key,
    size: Number(stats.size),
    // Every put/commit renames a new file into place, so (size, mtime in ns) changes with each version.
    etag: `"${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}"`,
    lastModified: new Date(Number(stats.mtimeMs)),
  };
  const contentType = withContentType ? contentTypeFromKey(key) : undefined;
  if (contentType) info.contentType = contentType;
  return info;
}

export class FsBlobStore implements BlobStore {
  readonly driver = 'fs' as const;
  readonly root: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root.length === 0) {
      throw new TypeError('The fs storage driver needs a root directory.');
    }
    this.root = path.resolve(root);
  }

  /** Key → absolute path, re-checked to stay below the root whatever the key rule says. */
  pathOf(key: string): string {
    assertSafeKey(key);
    return this.#inside(path.resolve(this.root, ...key.split('/')), key);
  }

  #inside(resolved: string, what: string): string {
    const rootWithSep = this.root.endsWith(path.sep) ? this.root : this.root + path.sep;
    if (resolved !== this.root && !resolved.startsWith(rootWithSep)) {
      throw new InvalidBlobKeyError(`Key ${JSON.stringify(what)} resolves outside the storage root.`);
    }
    return resolved;
  }

  /** The directory that holds every key starting with `prefix`, and that directory's key prefix. */
  #prefixDir(prefix: string): { dir: string; dirKey: string } {
    const dirKey = prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const segments = dirKey.split('/').filter(Boolean);
    return { dir: this.#inside(path.resolve(this.root, ...segments), prefix), dirKey };
  }

  async put(key: string, body: Readable | Buffer | Uint8Array, opts?: { contentType?: string }): Promise<BlobInfo> {
    // While the temp file opens nobody reads `body`: a source failing meanwhile must not be an uncaught
    // 'error' (it stays on `body.errored`, and the pipeline below rejects with it). After a failure the
    // listener stays: the source is done with, and its late errors are not news.
    const swallow = () => {};
    const source = body instanceof Uint8Array ? null : body.on('error', swallow);
    const writer = await this.openWriter(key, opts);
    try {
      if (source === null) writer.stream.end(body);
      else await pipeline(source, writer.stream);
      source?.off('error', swallow);
      return await writer.commit();
    } catch (error) {
      // the temp file goes (a full disk leaves nothing partial behind), then the caller hears why
      await writer.abort().catch(() => {});
      throw noSpace(error, key);
    }
  }

  async get(key: string, range?: ByteRange, opts?: ReadOptions): Promise<Readable> {
    const file = this.pathOf(key);
    if (range) assertWellFormedRange(range);
    assertReadOptions(opts);
    const { handle, stats } = await this.#openFile(key, file);
    try {
      // Without a range the read stops one byte past the pinned version's size (`end` is inclusive): the stream
      // then sizes its last read to what is left instead of allocating a whole chunk for the final empty read.
      const span = range ? resolveRange(range, stats.size) : { start: 0, end: stats.size };
      const chunk = opts?.chunkBytes === undefined ? {} : { highWaterMark: opts.chunkBytes };
      return handle.createReadStream({ start: span.start, end: span.end, ...chunk });
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async openReader(key: string): Promise<BlobReader> {
    const { handle, stats } = await this.#openFile(key, this.pathOf(key));
    return {
      size: stats.size,
      read: async (into, offset, length, position) => (await handle.read(into, offset, length, position)).bytesRead,
      close: () => handle.close(),
    };
  }

  /** Opens a key's file for reading: never through a symlink, never a folder. */
  async #openFile(key: string, file: string): Promise<{ handle: FileHandle; stats: import('node:fs').Stats }> {
    let handle: FileHandle;
    try {
      handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (isMissing(error) || errno(error) === 'ELOOP') throw new BlobNotFoundError(key, { cause: error });
      throw error;
    }
    try {
      // The open handle pins this version: a concurrent put renames a new file in, this read is unaffected.
      const stats = await handle.stat();
      if (!stats.isFile()) throw new BlobNotFoundError(key);
      return { handle, stats };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(key: string): Promise<BlobInfo | null> {
    const file = this.pathOf(key);
    try {
      const stats = await lstat(file, { bigint: true });
      return stats.isFile() ? toInfo(key, stats, true) : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathOf(key);
    try {
      await unlink(file);
    } catch (error) {
      // A "key" that is really a folder of other keys (EISDIR) is not an object either.
      if (isMissing(error) || errno(error) === 'EISDIR') return;
      throw error;
    }
    await this.#pruneEmptyDirs([path.dirname(file)]);
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertSafePrefix(prefix, { allowEmpty: false });
    let deleted = 0;
    const touched = new Set<string>();
    for await (const entry of this.#walk(prefix)) {
      if (entry.kind !== 'object') continue;
      try {
        await unlink(entry.file);
        deleted++;
        touched.add(path.dirname(entry.file));
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    await this.#pruneEmptyDirs([...touched]);
    return deleted;
  }

  async *list(prefix: string): AsyncGenerator<BlobInfo> {
    assertSafePrefix(prefix, { allowEmpty: true });
    for await (const entry of this.#walk(prefix)) {
      if (entry.kind !== 'object') continue;
      try {
        yield toInfo(entry.key, await lstat(entry.file, { bigint: true }), false);
      } catch (error) {
        if (!isMissing(error)) throw error; // deleted since the directory was read
      }
    }
  }

  async openWriter(key: string, opts?: { contentType?: string; partSize?: number }): Promise<BlobWriter> {
    const target = this.pathOf(key);
    void opts; // fs keeps no content type (see BlobInfo.contentType) and has no parts
    const dir = path.dirname(target);
    const temp = path.join(dir, tempNameFor(path.basename(target)));
    const existing = await lstat(target).catch(() => null);
    if (existing?.isDirectory()) throw new BlobKeyConflictError(key);
    const handle = await this.#createInDir(key, dir, () => open(temp, 'wx', 0o644)).catch((error: unknown) => {
      throw noSpace(error, key); // a full disk may refuse the folder or the file itself
    });
    return new FsBlobWriter(this, key, target, temp, handle);
  }

  async abortIncompleteWrites(prefix: string, olderThanMs = DEFAULT_INCOMPLETE_WRITE_AGE_MS): Promise<number> {
    assertSafePrefix(prefix, { allowEmpty: true });
    assertAge(olderThanMs);
    const cutoff = Date.now() - olderThanMs;
    let removed = 0;
    const touched = new Set<string>();
    for await (const entry of this.#walk(prefix)) {
      if (entry.kind !== 'temp') continue;
      try {
        const stats = await lstat(entry.file);
        if (stats.mtimeMs > cutoff) continue; // still being written, maybe by another process
        await unlink(entry.file);
        removed++;
        touched.add(path.dirname(entry.file));
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
    await this.#pruneEmptyDirs([...touched]);
    return removed;
  }

  async presignGet(key: string, opts: PresignGetOptions): Promise<null> {
    assertSafeKey(key);
    assertPresignOptions(opts);
    return null;
  }

  async check(): Promise<void> {
    const probe = path.join(this.root, tempNameFor('.check'));
    try {
      await mkdir(this.root, { recursive: true });
      const handle = await open(probe, 'wx');
      try {
        await handle.write('ok');
      } finally {
        await handle.close();
      }
      await unlink(probe);
    } catch (error) {
      // A full disk still serves every read: the store is usable, and writes answer InsufficientStorageError.
      if (isInsufficientStorage(error)) {
        await unlink(probe).catch(() => {});
        return;
      }
      throw new StorageUnavailableError(
        `The fs storage root "${this.root}" is not a writable directory (${errno(error) ?? String(error)}).`,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {}

  /**
   * Walks the directories that can hold keys starting with `prefix`, in S3's key order: a folder
   * `name` sorts as `name/`, so "a.jpg" comes before everything in "a/".
   */
  async *#walk(prefix: string): AsyncGenerator<Entry> {
    const { dir, dirKey } = this.#prefixDir(prefix);
    yield* this.#walkDir(dir, dirKey, prefix);
  }

  async *#walkDir(dir: string, dirKey: string, prefix: string): AsyncGenerator<Entry> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    const sortName = (e: import('node:fs').Dirent) => (e.isDirectory() ? `${e.name}/` : e.name);
    entries.sort((a, b) => (sortName(a) < sortName(b) ? -1 : sortName(a) > sortName(b) ? 1 : 0));
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        const childKey = `${dirKey}${entry.name}/`;
        if (!isSafeKey(childKey.slice(0, -1))) continue;
        if (childKey.startsWith(prefix) || prefix.startsWith(childKey)) yield* this.#walkDir(file, childKey, prefix);
      } else if (entry.isFile()) {
        const temp = TEMP_NAME.exec(entry.name);
        if (temp) {
          const key = dirKey + temp[1];
          if (key.startsWith(prefix)) yield { kind: 'temp', key, file };
        } else {
          const key = dirKey + entry.name;
          if (key.startsWith(prefix) && isSafeKey(key)) yield { kind: 'object', key, file };
        }
      }
      // Symlinks and other special files are never objects.
    }
  }

  /** mkdir -p, then create; retried because a concurrent delete may prune the empty folder in between. */
  async #createInDir<T>(key: string, dir: string, create: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(dir, { recursive: true });
        return await create();
      } catch (error) {
        const code = errno(error);
        if (code === 'ENOENT' && attempt < 5) continue;
        if (code === 'ENOTDIR' || code === 'EEXIST') throw new BlobKeyConflictError(key, { cause: error });
        throw error;
      }
    }
  }

  /** Removes folders left empty, deepest first, up to (never including) the root. */
  async #pruneEmptyDirs(dirs: string[]): Promise<void> {
    const pending = [...new Set(dirs)].sort((a, b) => b.length - a.length);
    const done = new Set<string>();
    for (let dir of pending) {
      while (dir !== this.root && dir.startsWith(this.root + path.sep) && !done.has(dir)) {
        done.add(dir);
        try {
          await rmdir(dir);
        } catch (error) {
          if (!isMissing(error)) break; // ENOTEMPTY/EEXIST: still in use
        }
        dir = path.dirname(dir);
      }
    }
  }

  /** Used by the writer after a failed or abandoned write. */
  async removeTemp(temp: string): Promise<void> {
    try {
      await unlink(temp);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    await this.#pruneEmptyDirs([path.dirname(temp)]);
  }
}

const WRITE_BUFFER_BYTES = 1024 * 1024;

class FsBlobWriter implements BlobWriter {
  readonly stream: WriteStream;
  /** A WriteStream calls a write back once the bytes are in the file (or the write failed). */
  readonly releasesChunks = true;
  readonly #store: FsBlobStore;
  readonly #key: string;
  readonly #target: string;
  readonly #temp: string;
  readonly #closed: Promise<void>;
  #state: 'open' | 'committing' | 'committed' | 'failed' | 'aborted' = 'open';
  #commit: Promise<BlobInfo> | undefined;

  constructor(store: FsBlobStore, key: string, target: string, temp: string, handle: FileHandle) {
    this.#store = store;
    this.#key = key;
    this.#target = target;
    this.#temp = temp;
    // flush: fsync before close, so a crash after the rename cannot publish an empty or torn file.
    // highWaterMark: while one write is in flight the next chunks gather (up to 1 MiB) and go out in one writev,
    // instead of one write per 64 KiB network chunk (an upload's file writes were ~13 ms of links-api CPU per
    // 3.5 MB photo, measured in bench/ingest.bench.ts).
    this.stream = createWriteStream(temp, { fd: handle, flush: true, highWaterMark: WRITE_BUFFER_BYTES });
    this.#closed = new Promise((resolve, reject) => {
      finished(this.stream, (error) => (error ? reject(error) : resolve()));
    });
    this.#closed.catch(() => {}); // observed by commit()/abort()
  }

  commit(): Promise<BlobInfo> {
    if (this.#state !== 'open') {
      return Promise.reject(new Error(`The writer for "${this.#key}" is already ${this.#state}.`));
    }
    this.#state = 'committing';
    this.#commit = this.#publish();
    return this.#commit;
  }

  async #publish(): Promise<BlobInfo> {
    try {
      if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.end();
      await this.#closed;
      await new Promise<void>((resolve) => (this.stream.closed ? resolve() : this.stream.once('close', resolve)));
      try {
        await rename(this.#temp, this.#target);
      } catch (error) {
        const code = errno(error);
        if (code === 'EISDIR' || code === 'ENOTDIR') throw new BlobKeyConflictError(this.#key, { cause: error });
        throw error;
      }
      this.#state = 'committed';
      const info = await this.#store.head(this.#key);
      if (!info) throw new BlobNotFoundError(this.#key); // deleted right after the rename
      return info;
    } catch (error) {
      if (this.#state !== 'committed') {
        this.#state = 'failed';
        await this.#store.removeTemp(this.#temp).catch(() => {});
      }
      // a write or the final fsync hit a full disk: the temp file is gone, the caller learns why
      throw noSpace(error, this.#key);
    }
  }

  async abort(): Promise<void> {
    if (this.#state === 'committing') await this.#commit?.catch(() => {});
    if (this.#state === 'committed' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    if (!this.stream.destroyed) this.stream.destroy();
    await this.#closed.catch(() => {});
    await new Promise<void>((resolve) => (this.stream.closed ? resolve() : this.stream.once('close', resolve)));
    await this.#store.removeTemp(this.#temp);
  }
}
