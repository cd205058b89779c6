/**
 * Test helpers for the export job: seeding ready assets (rows + originals in storage) and checking an
 * archive with three independent readers (Info-ZIP `unzip -t`, `7z t`, Python's `zipfile`).
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { Db } from '@immish/db';
import type { BlobStore } from '@immish/storage';
import { expect } from 'vitest';

export interface SeededAsset {
  id: string;
  fileName: string;
  size: number;
  crc: number;
}

/** Deterministic content: `size` bytes made of a 1 MiB random block, varied per file by its first bytes. */
export function contentStream(size: number, block: Buffer, salt: Buffer): { stream: Readable; crc: number } {
  let crc = 0;
  const chunks: Buffer[] = [];
  for (let done = 0; done < size; done += block.length) {
    const n = Math.min(block.length, size - done);
    const chunk =
      done === 0 ? Buffer.concat([salt, block.subarray(salt.length, n)]).subarray(0, n) : block.subarray(0, n);
    crc = crc32(chunk, crc);
    chunks.push(chunk);
  }
  return { stream: Readable.from(chunks), crc };
}

const BLOCK = randomBytes(1024 * 1024);

export async function seedAsset(
  db: Db,
  storage: BlobStore,
  opts: {
    ownerId: string;
    fileName: string;
    data?: Buffer;
    size?: number;
    status?: 'ready' | 'processing' | 'failed';
    trashed?: boolean;
    createdAt?: Date;
  },
): Promise<SeededAsset> {
  const salt = randomBytes(16);
  let body: Readable | Buffer;
  let size: number;
  let crc: number;
  if (opts.data) {
    body = opts.data;
    size = opts.data.length;
    crc = crc32(opts.data);
  } else {
    size = opts.size ?? 1000;
    const generated = contentStream(size, BLOCK, salt);
    body = generated.stream;
    crc = generated.crc;
  }
  const key = `originals/${opts.ownerId}/${randomBytes(8).toString('hex')}`;
  await storage.put(key, body);
  const row = await db
    .insertInto('assets')
    .values({
      owner_id: opts.ownerId,
      type: 'IMAGE',
      original_file_name: opts.fileName,
      mime_type: 'image/jpeg',
      size,
      checksum: createHash('sha1').update(salt).update(String(size)).digest(),
      original_key: key,
      status: opts.status ?? 'ready',
      trashed_at: opts.trashed ? new Date() : null,
      file_created_at: opts.createdAt ?? new Date(),
      file_modified_at: new Date('2024-05-06T07:08:09Z'),
      local_date_time: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, fileName: opts.fileName, size, crc };
}

export async function seedAlbum(db: Db, ownerId: string, name: string, assetIds: string[]): Promise<string> {
  const album = await db
    .insertInto('albums')
    .values({ owner_id: ownerId, name })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('album_users').values({ album_id: album.id, user_id: ownerId, role: 'owner' }).execute();
  if (assetIds.length > 0) {
    await db
      .insertInto('album_assets')
      .values(assetIds.map((asset_id) => ({ album_id: album.id, asset_id, added_by: ownerId })))
      .execute();
  }
  return album.id;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

const PY_CHECK = `
import json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    bad = z.testzip()
    entries = [{"name": i.filename, "size": i.file_size, "crc": i.CRC, "method": i.compress_type, "utf8": bool(i.flag_bits & 0x800)} for i in z.infolist()]
print(json.dumps({"bad": bad, "entries": entries}))
`;

export interface ExpectedEntry {
  name: string;
  size: number;
  crc: number;
}

/**
 * Every reader must accept the archive, and Python must list exactly the expected entries (names,
 * sizes, CRC-32 of the source bytes), STORED, with the UTF-8 flag.
 */
export async function expectValidZip(path: string, expected: readonly ExpectedEntry[]): Promise<void> {
  const unzip = await run('unzip', ['-tqq', path]);
  expect(unzip.code, `unzip -t: ${unzip.stdout}${unzip.stderr}`).toBe(0);
  const sevenZip = await run('7z', ['t', path]);
  expect(sevenZip.code, `7z t: ${sevenZip.stdout}${sevenZip.stderr}`).toBe(0);
  expect(sevenZip.stdout).toContain('Everything is Ok');
  const py = await run('python3', ['-c', PY_CHECK, path]);
  expect(py.code, `python zipfile: ${py.stderr}`).toBe(0);
  const report = JSON.parse(py.stdout) as {
    bad: string | null;
    entries: { name: string; size: number; crc: number; method: number; utf8: boolean }[];
  };
  expect(report.bad).toBeNull();
  expect(report.entries.map(({ name, size, crc }) => ({ name, size, crc }))).toEqual(
    expected.map(({ name, size, crc }) => ({ name, size, crc })),
  );
  for (const e of report.entries) {
    expect(e.method).toBe(0);
    expect(e.utf8 || /^[\x20-\x7e]*$/.test(e.name)).toBe(true);
  }
}

/** Every file under `dir` (relative paths), to prove no temp file stayed behind. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (sub: string): Promise<void> => {
    const entries = await readdir(join(dir, sub), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(rel);
      else out.push(rel);
    }
  };
  await walk('');
  return out.sort();
}
