/**
 * docs/spec.md §14 "What a link hides stays hidden in every byte", for zip exports: an export made through a
 * showMetadata=false link carries no EXIF/XMP/GPS/camera/description in any entry. Driven end to end:
 * the recipient's POST on the gateway, the export worker's job, the recipient's download; every entry
 * is checked with exiftool (a reader independent of the project's own), a raw byte search for the
 * secret values, a decode with sharp, and three zip readers (unzip -t, 7z t, Python's zipfile).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import type { ExportJobData } from '@immish/contracts';
import { requestExport } from '@immish/domain';
import { processExportJob } from '@immish/export-worker';
import { createMetadataStripper } from '@immish/media';
import pino from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FULL_EXIF, isoBmff, photo, SECRETS, XMP } from '../../../packages/media/test/helpers.ts';
import { expectValidZip } from '../../export-worker/test/export-helpers.ts';
import { type GatewayHarness, startGateway } from './harness.ts';

const run = promisify(execFile);
const logger = pino({ level: 'silent' });

let h: GatewayHarness;
let scratch: string;
beforeAll(async () => {
  // No link cache: a link flipped in the database is seen by the next request (the flip is what is tested).
  h = await startGateway({ LINK_CACHE_TTL_MS: '0' });
  scratch = mkdtempSync(join(tmpdir(), 'immish-hidden-export-'));
});
afterAll(async () => {
  await h?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The secrets planted in every test photo (FULL_EXIF + XMP): none may appear in a hidden export. */
const PLANTED = [SECRETS.make, SECRETS.model, SECRETS.lens, SECRETS.description, SECRETS.xmp];
/** FULL_EXIF's GPS latitude (52/1 31/1 1234/100) as the TIFF rationals it is stored as, in both byte orders. */
const GPS_RATIONALS = ['be', 'le'].map((order) => {
  const bytes = Buffer.alloc(24);
  [52, 1, 31, 1, 1234, 100].forEach((v, i) => {
    if (order === 'be') bytes.writeUInt32BE(v, i * 4);
    else bytes.writeUInt32LE(v, i * 4);
  });
  return bytes;
});

function expectNoPlantedBytes(bytes: Buffer, what: string) {
  for (const secret of PLANTED) expect(bytes.includes(Buffer.from(secret)), `${secret} in ${what}`).toBe(false);
  for (const gps of GPS_RATIONALS) expect(bytes.includes(gps), `GPS latitude rationals in ${what}`).toBe(false);
}

/** exiftool's view of a file: every tag, grouped, numeric values. */
async function exiftool(bytes: Buffer): Promise<Record<string, unknown>> {
  const path = join(scratch, `probe-${crypto.randomUUID()}`);
  writeFileSync(path, bytes);
  const { stdout } = await run('exiftool', ['-j', '-G', '-a', '-n', path]);
  return (JSON.parse(stdout) as Record<string, unknown>[])[0]!;
}

/**
 * Tags that would tell where, with what, or by whom a photo was taken. The colour profile (ICC_Profile
 * group: its own "creator", "model", "description" describe the profile, e.g. sRGB) is kept for display.
 */
const REVEALING = /GPS|Make|Model|Lens|Description|Creator|Artist|Copyright|DateTimeOriginal|^XMP|^IPTC/;
const revealingTags = (tags: Record<string, unknown>) =>
  Object.keys(tags).filter((tag) => !tag.startsWith('ICC_Profile:') && REVEALING.test(tag));

async function stripped(mime: string, bytes: Buffer): Promise<Buffer> {
  const stripper = createMetadataStripper(mime);
  if (!stripper) throw new Error(`no stripper for ${mime}`);
  return buffer(Readable.from([bytes]).pipe(stripper));
}

async function runExportJob(exportId: string) {
  const row = await h.tdb.db
    .selectFrom('outbox_events')
    .select('payload')
    .where('aggregate_id', '=', exportId)
    .where('type', '=', 'export.requested')
    .executeTakeFirstOrThrow();
  return processExportJob(row.payload as ExportJobData, { db: h.tdb.db, storage: h.storage, logger, ttlHours: 24 });
}

async function requestThroughLink(key: string, body: object = {}) {
  const res = await h.app.inject({ method: 'POST', url: `/share/${key}/exports`, payload: body });
  expect(res.statusCode, res.body).toBe(202);
  return res.json() as { id: string };
}

/** Builds the export and downloads its single part as the recipient does; returns the zip and its entries. */
async function buildAndDownload(key: string, exportId: string) {
  await runExportJob(exportId);
  const dto = (await h.app.inject(`/share/${key}/exports/${exportId}`)).json();
  expect(dto.status).toBe('ready');
  expect(dto.parts).toHaveLength(1);
  const res = await h.app.inject(dto.parts[0].downloadUrl);
  expect(res.statusCode).toBe(200);
  return { dto, ...(await unpack(res.rawPayload)) };
}

async function unpack(zip: Buffer) {
  const dir = mkdtempSync(join(scratch, 'zip-'));
  const path = join(dir, 'archive.zip');
  writeFileSync(path, zip);
  await run('unzip', ['-qq', path, '-d', join(dir, 'out')]);
  const entries = new Map<string, Buffer>();
  for (const name of readdirSync(join(dir, 'out'))) entries.set(name, readFileSync(join(dir, 'out', name)));
  return { zip, path, entries };
}

async function seedPhotos() {
  const jpeg = await photo('jpeg', { width: 64, height: 48, exif: FULL_EXIF, xmp: XMP, orientation: 6 });
  const png = await photo('png', { width: 64, height: 48, exif: FULL_EXIF, xmp: XMP });
  const webp = await photo('webp', { width: 64, height: 48, exif: FULL_EXIF, xmp: XMP });
  for (const original of [jpeg, png, webp]) {
    // the fixtures really carry what must disappear
    expect(revealingTags(await exiftool(original))).toEqual(expect.arrayContaining(['EXIF:Make', 'EXIF:GPSLatitude']));
  }
  return [
    { bytes: jpeg, mime: 'image/jpeg', asset: await h.createAsset({ bytes: jpeg, fileName: 'Home by the lake.jpg' }) },
    {
      bytes: png,
      mime: 'image/png',
      asset: await h.createAsset({ bytes: png, mime: 'image/png', fileName: 'Garden.png' }),
    },
    {
      bytes: webp,
      mime: 'image/webp',
      asset: await h.createAsset({ bytes: webp, mime: 'image/webp', fileName: 'Street.webp' }),
    },
  ];
}

const ext = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' } as Record<string, string>;

describe('POST /share/:key/exports with showMetadata=false', () => {
  it('should strip every entry (JPEG, PNG, WebP): no GPS, camera or description in any byte, orientation kept', async () => {
    const photos = await seedPhotos();
    const link = await h.createLink({ assetIds: photos.map((p) => p.asset.id), showMetadata: false });
    const { id } = await requestThroughLink(link.key);
    const { dto, zip, path, entries } = await buildAndDownload(link.key, id);

    expectNoPlantedBytes(zip, 'the archive');
    const expected = [];
    for (const { asset, bytes, mime } of photos) {
      const name = `${asset.id}.${ext[mime]}`;
      const entry = entries.get(name);
      if (!entry) throw new Error(`no entry ${name} in ${[...entries.keys()].join(', ')}`);
      expectNoPlantedBytes(entry, name);
      const tags = await exiftool(entry);
      expect(revealingTags(tags), name).toEqual([]);
      // exactly what the gateway's /original sends for this asset: the media package's lossless stripping
      const want = await stripped(mime, bytes);
      expect(entry.equals(want), `${name} is the stripped original`).toBe(true);
      expected.push({ name, size: want.length, crc: crc32(want) });
      // still the same picture, decodable, pixel for pixel
      const [before, after] = await Promise.all([sharp(bytes).raw().toBuffer(), sharp(entry).raw().toBuffer()]);
      expect(after.equals(before), `${name} decodes to the original pixels`).toBe(true);
      if (mime === 'image/jpeg') expect(tags['EXIF:Orientation']).toBe(6);
    }
    await expectValidZip(path, expected);
    expect([...entries.keys()].some((n) => /lake|Garden|Street/.test(n))).toBe(false);
    expect(dto.substitutions).toEqual([]);
  });

  it('should replace what cannot be stripped (TIFF, WebM) by its preview <id>.jpg, leave out what has none, and list both', async () => {
    const jpeg = await photo('jpeg', { width: 40, height: 30, exif: FULL_EXIF, xmp: XMP });
    const photoAsset = await h.createAsset({ bytes: jpeg, fileName: 'plain.jpg' });
    const heicBytes = Buffer.concat([isoBmff('heic', ['mif1', 'heic']), Buffer.from(SECRETS.description)]);
    // HEIC and MP4/MOV are stripped since issue 16 (phone-formats.test.ts); TIFF and WebM still are not
    const heic = await h.createAsset({ bytes: heicBytes, mime: 'image/tiff', fileName: 'Secret.TIF' });
    // a preview that (against the rules) carries metadata: it is stripped like an original
    const heicPreview = await photo('jpeg', { width: 32, height: 24, exif: FULL_EXIF, xmp: XMP });
    await h.storage.put(heic.preview_key!, heicPreview);
    const videoBytes = Buffer.concat([isoBmff('isom', ['isom', 'mp41']), Buffer.from(SECRETS.make)]);
    const video = await h.createAsset({ bytes: videoBytes, mime: 'video/webm', fileName: 'Clip.webm' });
    const bare = await h.createAsset({
      bytes: Buffer.concat([heicBytes, Buffer.from('another one')]),
      mime: 'image/tiff',
      fileName: 'No preview.tif',
      derivatives: false,
    });
    // claims to be a JPEG but is not one: the stripper cannot parse it, its preview stands in
    const broken = await h.createAsset({
      bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe1, 0x00]), Buffer.from(SECRETS.lens)]),
      fileName: 'Broken.jpg',
    });
    const ids = [photoAsset.id, heic.id, video.id, bare.id, broken.id];
    const link = await h.createLink({ assetIds: ids, showMetadata: false });
    const { id } = await requestThroughLink(link.key);
    const { dto, zip, path, entries } = await buildAndDownload(link.key, id);

    expectNoPlantedBytes(zip, 'the archive');
    expect([...entries.keys()].sort()).toEqual(
      [`${photoAsset.id}.jpg`, `${heic.id}.jpg`, `${video.id}.jpg`, `${broken.id}.jpg`].sort(),
    );
    expect(dto.substitutions).toEqual([
      { assetId: heic.id, reason: 'not-strippable', substitute: 'preview' },
      { assetId: video.id, reason: 'not-strippable', substitute: 'preview' },
      { assetId: bare.id, reason: 'not-strippable', substitute: 'omitted' },
      { assetId: broken.id, reason: 'unreadable', substitute: 'preview' },
    ]);
    const preview = (asset: { preview_key: string | null }) => h.storage.get(asset.preview_key!).then(buffer);
    const want = [
      { name: `${photoAsset.id}.jpg`, bytes: await stripped('image/jpeg', jpeg) },
      { name: `${heic.id}.jpg`, bytes: await stripped('image/jpeg', heicPreview) },
      { name: `${video.id}.jpg`, bytes: await stripped('image/jpeg', await preview(video)) },
      { name: `${broken.id}.jpg`, bytes: await stripped('image/jpeg', await preview(broken)) },
    ];
    for (const { name, bytes } of want) {
      const entry = entries.get(name)!;
      expect(entry.equals(bytes), name).toBe(true);
      expect(revealingTags(await exiftool(entry)), name).toEqual([]);
      expect((await sharp(entry).metadata()).format).toBe('jpeg');
    }
    const order = new Map(ids.map((assetId, i) => [assetId, i]));
    const sorted = want.sort((a, b) => order.get(a.name.slice(0, 36))! - order.get(b.name.slice(0, 36))!);
    await expectValidZip(
      path,
      sorted.map(({ name, bytes }) => ({ name, size: bytes.length, crc: crc32(bytes) })),
    );
  });

  it('should split a stripped export by maxPartSize into valid parts sized exactly from the stripped entries', async () => {
    const photos = [];
    for (let i = 0; i < 4; i++) {
      const bytes = await photo('jpeg', { width: 1000, height: 800, exif: FULL_EXIF, xmp: XMP }); // ~370 KB
      photos.push({ bytes, asset: await h.createAsset({ bytes, fileName: `Big ${i}.jpg` }) });
    }
    const maxPartSize = 1024 * 1024; // two photos per part
    const link = await h.createLink({ assetIds: photos.map((p) => p.asset.id), showMetadata: false });
    const { id } = await requestThroughLink(link.key, { maxPartSize });
    await runExportJob(id);
    const dto = (await h.app.inject(`/share/${link.key}/exports/${id}`)).json();
    expect(dto.status).toBe('ready');
    expect(dto.parts).toHaveLength(2);
    const row = await h.tdb.db.selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    let next = 0;
    for (const part of dto.parts) {
      expect(part.size).toBeLessThanOrEqual(maxPartSize);
      const res = await h.app.inject(part.downloadUrl);
      expect(res.rawPayload.length).toBe(part.size);
      const { zip, path } = await unpack(res.rawPayload);
      expectNoPlantedBytes(zip, part.fileName);
      const count = row.parts.find((p) => p.index === part.index)!.entryCount;
      const expected = [];
      for (const { asset, bytes } of photos.slice(next, next + count)) {
        const want = await stripped('image/jpeg', bytes);
        expected.push({ name: `${asset.id}.jpg`, size: want.length, crc: crc32(want) });
      }
      next += count;
      await expectValidZip(path, expected);
    }
    expect(next).toBe(photos.length);
  });

  it("should keep metadata in the owner's export of the same assets, and never reuse one archive for the other", async () => {
    const photos = await seedPhotos();
    const assetIds = photos.map((p) => p.asset.id);
    const link = await h.createLink({ assetIds, showMetadata: false });
    const hidden = await requestThroughLink(link.key, { assetIds });
    await runExportJob(hidden.id);

    const owner = await requestExport(h.tdb.db, { requester: { userId: h.owner.id }, assetIds });
    expect(owner.reused).toBe(false);
    expect(owner.export.id).not.toBe(hidden.id);
    await runExportJob(owner.export.id);
    const row = await h.tdb.db
      .selectFrom('exports')
      .selectAll()
      .where('id', '=', owner.export.id)
      .executeTakeFirstOrThrow();
    const { entries } = await unpack(await h.storage.get(row.parts[0]!.storageKey).then(buffer));
    for (const { asset, bytes } of photos) {
      const entry = entries.get(asset.original_file_name);
      expect(entry?.equals(bytes), `${asset.original_file_name} is the original, byte for byte`).toBe(true);
      expect(revealingTags(await exiftool(entry!))).toEqual(expect.arrayContaining(['EXIF:Make', 'EXIF:GPSLatitude']));
    }
    // each requester keeps finding its own archive
    expect((await requestThroughLink(link.key, { assetIds })).id).toBe(hidden.id);
    const again = await requestExport(h.tdb.db, { requester: { userId: h.owner.id }, assetIds });
    expect(again).toMatchObject({ reused: true, export: { id: owner.export.id } });
  });

  it('should strip an export requested before the link started hiding metadata (decided again when built)', async () => {
    const photos = await seedPhotos();
    const link = await h.createLink({ assetIds: photos.map((p) => p.asset.id), showMetadata: true });
    const { id } = await requestThroughLink(link.key);
    await h.tdb.db.updateTable('shared_links').set({ show_metadata: false }).where('id', '=', link.id).execute();
    const { dto, zip, entries } = await buildAndDownload(link.key, id);
    expectNoPlantedBytes(zip, 'the archive');
    expect([...entries.keys()].sort()).toEqual(photos.map((p) => `${p.asset.id}.${ext[p.mime]}`).sort());
    expect(dto.substitutions).toEqual([]);
  });

  it('should stop serving an archive built with metadata once the link hides it, and build a stripped one', async () => {
    const photos = await seedPhotos();
    const link = await h.createLink({ assetIds: photos.map((p) => p.asset.id), showMetadata: true });
    const shown = await requestThroughLink(link.key);
    const built = await buildAndDownload(link.key, shown.id);
    expect(built.entries.has('Home by the lake.jpg')).toBe(true);
    expect(built.dto.substitutions).toBeUndefined();

    await h.tdb.db.updateTable('shared_links').set({ show_metadata: false }).where('id', '=', link.id).execute();
    const stale = (await h.app.inject(`/share/${link.key}/exports/${shown.id}`)).json();
    expect(stale).toMatchObject({ id: shown.id, status: 'expired', parts: [] });
    const refused = await h.app.inject(`/share/${link.key}/exports/${shown.id}/parts/1/download`);
    expect(refused.statusCode).toBe(410);
    expectNoPlantedBytes(refused.rawPayload, 'the refusal');

    const fresh = await requestThroughLink(link.key);
    expect(fresh.id).not.toBe(shown.id);
    const { zip } = await buildAndDownload(link.key, fresh.id);
    expectNoPlantedBytes(zip, 'the new archive');
  });
});
