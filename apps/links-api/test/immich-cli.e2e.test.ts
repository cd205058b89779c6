import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type BlobStore, createBlobStore } from '@immish/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIF, photo } from '../../ingest-worker/test/fixtures.ts';
import { startInProcessIngest } from '../../ingest-worker/test/http-helpers.ts';
import { type LinksApiHarness, startLinksApi } from './harness.ts';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../../node_modules/@immich/cli/dist/index.js');

let h: LinksApiHarness;
let storage: BlobStore;
let ingest: { close(): Promise<void> };
let baseUrl: string;
let home: string;

beforeAll(async () => {
  h = await startLinksApi();
  storage = createBlobStore({ driver: 'fs', root: h.storageRoot });
  ingest = startInProcessIngest({
    db: h.tdb.db,
    databaseUrl: h.tdb.url,
    storage,
    redisUrl: h.redisUrl,
    prefix: h.prefix,
  });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  baseUrl = `http://127.0.0.1:${address.port}`;
  home = mkdtempSync(join(tmpdir(), 'immish-cli-'));
});
afterAll(async () => {
  await ingest?.close();
  await storage?.close();
  await h?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Runs the real `immich` CLI (the @immich/cli package) with its config (auth.yml) under a temp HOME. */
// Operands after `--`: a random API key may start with '-', which the CLI would otherwise read as an option.
async function immich(...args: string[]): Promise<string> {
  const configDir = join(home, '.config', 'immich');
  const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: home, IMMICH_CONFIG_DIR: configDir, NO_COLOR: '1' },
    timeout: 60_000,
  });
  return `${stdout}\n${stderr}`;
}

describe('@immich/cli', () => {
  it('should log in, upload a folder into a named album, and upload nothing new when run again', async () => {
    const user = await h.newUser('cli');
    const dir = join(home, 'photos');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 3; i++)
      writeFileSync(join(dir, `IMG_${i}.jpg`), await photo('jpeg', { seed: 900 + i, exif: EXIF }));
    writeFileSync(join(dir, 'screenshot.png'), await photo('png', { seed: 910 }));

    const login = await immich('login', '--', `${baseUrl}/api`, user.key);
    expect(login).toMatch(/Logged in as/);
    expect(existsSync(join(home, '.config', 'immich', 'auth.yml'))).toBe(true);

    const first = await immich('upload', '--album-name', 'Summer 2024', '--no-progress', dir);
    expect(first).toMatch(/Successfully uploaded 4 new assets/);

    const assets = await h.tdb.db.selectFrom('assets').selectAll().where('owner_id', '=', user.id).execute();
    expect(assets.map((a) => a.original_file_name).sort()).toEqual([
      'IMG_0.jpg',
      'IMG_1.jpg',
      'IMG_2.jpg',
      'screenshot.png',
    ]);
    const album = await h.tdb.db
      .selectFrom('albums')
      .selectAll()
      .where('owner_id', '=', user.id)
      .where('name', '=', 'Summer 2024')
      .executeTakeFirstOrThrow();
    const inAlbum = await h.tdb.db
      .selectFrom('album_assets')
      .select('asset_id')
      .where('album_id', '=', album.id)
      .execute();
    expect(inAlbum.map((r) => r.asset_id).sort()).toEqual(assets.map((a) => a.id).sort());

    await expect
      .poll(
        async () =>
          (await h.tdb.db.selectFrom('assets').select('status').where('owner_id', '=', user.id).execute()).map(
            (a) => a.status,
          ),
        { timeout: 30_000, interval: 200 },
      )
      .toEqual(['ready', 'ready', 'ready', 'ready']);

    const second = await immich('upload', '--album-name', 'Summer 2024', '--no-progress', dir);
    expect(second).toMatch(/Found 0 new files and 4 duplicates/);
    expect(second).not.toMatch(/Successfully uploaded [1-9]/);
    expect(await h.tdb.db.selectFrom('assets').select('id').where('owner_id', '=', user.id).execute()).toHaveLength(4);
    const albums = await h.tdb.db.selectFrom('albums').select('id').where('owner_id', '=', user.id).execute();
    expect(albums).toHaveLength(1);
  });

  it('should create an album per folder with --album (named after the folder)', async () => {
    const user = await h.newUser('cli-folders');
    const dir = join(home, 'Holiday Album');
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 2; i++) writeFileSync(join(dir, `P${i}.jpg`), await photo('jpeg', { seed: 950 + i }));
    await immich('login', '--', `${baseUrl}/api`, user.key);
    const out = await immich('upload', '--album', '--no-progress', dir);
    expect(out).toMatch(/Successfully uploaded 2 new assets/);
    const album = await h.tdb.db
      .selectFrom('albums')
      .selectAll()
      .where('owner_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(album.name).toBe('Holiday Album');
    const inAlbum = await h.tdb.db
      .selectFrom('album_assets')
      .select('asset_id')
      .where('album_id', '=', album.id)
      .execute();
    expect(inAlbum).toHaveLength(2);
  });
});
