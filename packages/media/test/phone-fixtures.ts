import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';

/**
 * Phone-format fixtures made by real encoders (libheif's heif-enc, ffmpeg with x264/x265) and exiftool, the way a
 * phone's files look where it matters: an iPhone HEIC stores the sensor's landscape pixels with an `irot` property
 * AND EXIF orientation 6, GPS, make/model, a MakerNote with the Live Photo content identifier; its MOV carries
 * Apple's QuickTime keys (ISO 6709 location, content identifier).
 */

export const SECRET = { make: 'PhoneMakeSecret', model: 'PhoneModelSecret', description: 'PhoneDescriptionSecret' };
export const PLACE = { latitude: 52.5, longitude: -13.4 };

export const run = (cmd: string, args: string[]): Buffer =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * A two-colour landscape picture: left half `left`, right half `right`. Displayed with orientation 6 (a quarter
 * turn clockwise) the left half ends up on top.
 */
export async function twoColourJpeg(
  width: number,
  height: number,
  left: [number, number, number],
  right: [number, number, number],
  exif?: Buffer,
): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) pixels.set(x < width / 2 ? left : right, (y * width + x) * 3);
  const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 95 })
    .toBuffer();
  if (!exif) return jpeg;
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, 0, 0]), Buffer.from('Exif\0\0', 'latin1'), exif]);
  app1.writeUInt16BE(app1.length - 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

/**
 * A TIFF EXIF block as an iPhone writes the parts that matter here: Make "Apple", Orientation, and an Apple
 * MakerNote whose tag 0x0011 is the Live Photo content identifier.
 */
export function appleExif(contentIdentifier: string | null, orientation = 1): Buffer {
  const cid = Buffer.from(`${contentIdentifier ?? ''}\0`, 'latin1');
  const note = Buffer.alloc(32 + cid.length);
  note.write('Apple iOS\0', 0, 'latin1');
  note.writeUInt16BE(1, 10);
  note.write('MM', 12, 'latin1');
  note.writeUInt16BE(contentIdentifier ? 1 : 0, 14);
  note.writeUInt16BE(0x0011, 16);
  note.writeUInt16BE(2, 18);
  note.writeUInt32BE(cid.length, 20);
  note.writeUInt32BE(32, 24);
  cid.copy(note, 32);
  const make = Buffer.from('Apple\0', 'latin1');
  const ifd0 = 8;
  const makeAt = ifd0 + 2 + 3 * 12 + 4;
  const exifAt = makeAt + make.length;
  const noteAt = exifAt + 2 + 12 + 4;
  const tiff = Buffer.alloc(noteAt + note.length);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(ifd0, 4);
  tiff.writeUInt16BE(3, ifd0);
  const entry = (at: number, tag: number, type: number, count: number, value: number) => {
    tiff.writeUInt16BE(tag, at);
    tiff.writeUInt16BE(type, at + 2);
    tiff.writeUInt32BE(count, at + 4);
    if (type === 3) tiff.writeUInt16BE(value, at + 8);
    else tiff.writeUInt32BE(value, at + 8);
  };
  entry(ifd0 + 2, 0x010f, 2, make.length, makeAt);
  entry(ifd0 + 14, 0x0112, 3, 1, orientation);
  entry(ifd0 + 26, 0x8769, 4, 1, exifAt);
  make.copy(tiff, makeAt);
  tiff.writeUInt16BE(1, exifAt);
  entry(exifAt + 2, 0x927c, 7, note.length, noteAt);
  note.copy(tiff, noteAt);
  return tiff;
}

/** Adds the secrets (GPS, make, model, description, date, XMP creator) to a file with exiftool, in place. */
export function addSecrets(path: string, extra: string[] = []): void {
  run('exiftool', [
    '-overwrite_original',
    '-q',
    '-m',
    `-Make=${SECRET.make}`,
    `-Model=${SECRET.model}`,
    `-ImageDescription=${SECRET.description}`,
    `-GPSLatitude=${Math.abs(PLACE.latitude)}`,
    `-GPSLatitudeRef=${PLACE.latitude >= 0 ? 'N' : 'S'}`,
    `-GPSLongitude=${Math.abs(PLACE.longitude)}`,
    `-GPSLongitudeRef=${PLACE.longitude >= 0 ? 'E' : 'W'}`,
    '-DateTimeOriginal=2024:05:06 07:08:09',
    '-OffsetTimeOriginal=+02:00',
    `-XMP-dc:Creator=${SECRET.description}`,
    ...extra,
    path,
  ]);
}

/** heif-enc (x265) of one or more JPEGs; the first is the primary image. */
export function heifEnc(out: string, inputs: string[]): void {
  run('heif-enc', ['-q', '85', ...inputs, '-o', out]);
}

/**
 * Gives the primary image of a HEIF an `irot` property (quarter turns anticlockwise, as iPhones write 3 for a
 * portrait shot: 270° anticlockwise = 90° clockwise), fixing box sizes and the `iloc` offsets it shifts. heif-enc
 * 1.15 has no option for it.
 */
export function addIrot(path: string, quarterTurnsAnticlockwise: number): void {
  const file = readFileSync(path);
  const top = boxesOf(file, 0, file.length);
  const meta = top.find((b) => b.type === 'meta');
  if (!meta) throw new Error('no meta');
  const parts = boxesOf(file, meta.start + 12, meta.end);
  const iprp = parts.find((b) => b.type === 'iprp')!;
  const pitm = parts.find((b) => b.type === 'pitm')!;
  const primary = file.readUInt16BE(pitm.start + 12);
  const iprpParts = boxesOf(file, iprp.start + 8, iprp.end);
  const ipco = iprpParts.find((b) => b.type === 'ipco')!;
  const ipma = iprpParts.find((b) => b.type === 'ipma')!;
  const properties = boxesOf(file, ipco.start + 8, ipco.end);
  const irot = Buffer.from([0, 0, 0, 9, 0x69, 0x72, 0x6f, 0x74, quarterTurnsAnticlockwise & 3]);
  const newIpco = withSize(Buffer.concat([file.subarray(ipco.start, ipco.end), irot]));
  const index = properties.length + 1;
  // ipma (version 0, 7-bit indices): add the association to the primary's entry
  const flags = file.readUIntBE(ipma.start + 9, 3);
  if (file[ipma.start + 8] !== 0 || flags & 1) throw new Error('unexpected ipma layout');
  const out: Buffer[] = [file.subarray(ipma.start, ipma.start + 16)];
  let p = ipma.start + 16;
  const count = file.readUInt32BE(ipma.start + 12);
  for (let e = 0; e < count; e++) {
    const id = file.readUInt16BE(p);
    const n = file[p + 2] as number;
    const entry = Buffer.from(file.subarray(p, p + 3 + n));
    if (id === primary) {
      entry[2] = n + 1;
      out.push(entry, Buffer.from([0x80 | index]));
    } else out.push(entry);
    p += 3 + n;
  }
  const newIpma = withSize(Buffer.concat(out));
  const newIprp = withSize(
    Buffer.concat([
      file.subarray(iprp.start, iprp.start + 8),
      ...iprpParts.map((b) => (b === ipco ? newIpco : b === ipma ? newIpma : file.subarray(b.start, b.end))),
    ]),
  );
  const delta = newIprp.length - (iprp.end - iprp.start);
  const newParts = parts.map((b) => {
    if (b === iprp) return newIprp;
    const bytes = Buffer.from(file.subarray(b.start, b.end));
    if (b.type === 'iloc') shiftIloc(bytes, delta);
    return bytes;
  });
  const newMeta = withSize(Buffer.concat([file.subarray(meta.start, meta.start + 12), ...newParts]));
  writeFileSync(path, Buffer.concat([file.subarray(0, meta.start), newMeta, file.subarray(meta.end)]));
}

function shiftIloc(iloc: Buffer, delta: number): void {
  const version = iloc[8] as number;
  const offsetSize = (iloc[12] as number) >> 4;
  const lengthSize = (iloc[12] as number) & 15;
  const baseSize = (iloc[13] as number) >> 4;
  const indexSize = version === 0 ? 0 : (iloc[13] as number) & 15;
  let p = 14;
  const count = version < 2 ? iloc.readUInt16BE(p) : iloc.readUInt32BE(p);
  p += version < 2 ? 2 : 4;
  const bump = (size: number) => {
    if (size === 4) iloc.writeUInt32BE(iloc.readUInt32BE(p) + delta, p);
    if (size === 8) iloc.writeBigUInt64BE(iloc.readBigUInt64BE(p) + BigInt(delta), p);
  };
  for (let i = 0; i < count; i++) {
    p += version < 2 ? 2 : 4;
    const construction = version >= 1 ? iloc.readUInt16BE(p) & 15 : 0;
    if (version >= 1) p += 2;
    p += 2;
    const shiftBase = construction === 0 && baseSize > 0;
    if (shiftBase) bump(baseSize);
    p += baseSize;
    const extents = iloc.readUInt16BE(p);
    p += 2;
    for (let e = 0; e < extents; e++) {
      p += indexSize;
      if (construction === 0 && !shiftBase) bump(offsetSize);
      p += offsetSize + lengthSize;
    }
  }
}

function withSize(box: Buffer): Buffer {
  box.writeUInt32BE(box.length, 0);
  return box;
}

export function boxesOf(file: Buffer, start: number, end: number): Array<{ type: string; start: number; end: number }> {
  const out: Array<{ type: string; start: number; end: number }> = [];
  let at = start;
  while (at + 8 <= end) {
    const size = file.readUInt32BE(at);
    out.push({ type: file.toString('latin1', at + 4, at + 8), start: at, end: at + size });
    if (size < 8) break;
    at += size;
  }
  return out;
}

/**
 * A short clip of one colour with a tone: `codec` libx265 (tagged hvc1, as iPhones) or libx264, in MOV or MP4, with
 * Apple's QuickTime keys (ISO 6709 location, make, model, content identifier, creation date) and a display matrix
 * turning it `rotate` degrees.
 */
export function makeVideo(
  out: string,
  options: {
    codec: 'libx265' | 'libx264';
    colour: string;
    seconds?: number;
    width?: number;
    height?: number;
    contentIdentifier?: string;
    rotate?: number;
    location?: boolean;
  },
): void {
  const { codec, colour, seconds = 2, width = 320, height = 240 } = options;
  const tmp = `${out}.tmp.${out.endsWith('.mp4') ? 'mp4' : 'mov'}`;
  const keys = [
    ...(options.location === false
      ? []
      : ['-metadata', `com.apple.quicktime.location.ISO6709=${iso6709(PLACE.latitude, PLACE.longitude)}`]),
    '-metadata',
    `com.apple.quicktime.make=${SECRET.make}`,
    '-metadata',
    `com.apple.quicktime.model=${SECRET.model}`,
    '-metadata',
    'com.apple.quicktime.creationdate=2024-05-06T07:08:09+0200',
    ...(options.contentIdentifier
      ? ['-metadata', `com.apple.quicktime.content.identifier=${options.contentIdentifier}`]
      : []),
  ];
  run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    `color=c=${colour}:size=${width}x${height}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=44100',
    '-t',
    String(seconds),
    '-c:v',
    codec,
    ...(codec === 'libx265' ? ['-tag:v', 'hvc1', '-x265-params', 'log-level=error'] : []),
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-movflags',
    'use_metadata_tags',
    ...keys,
    // the ©xyz user-data location most Android phones and older iOS write
    ...(options.location === false ? [] : ['-metadata', `location=${iso6709(PLACE.latitude, PLACE.longitude)}`]),
    '-metadata',
    `description=${SECRET.description}`,
    '-y',
    tmp,
  ]);
  // the display matrix is set on a stream copy (ffmpeg 5 ignores `rotate` while encoding)
  run('ffmpeg', [
    '-v',
    'error',
    '-i',
    tmp,
    '-map',
    '0',
    '-c',
    'copy',
    '-movflags',
    'use_metadata_tags',
    '-map_metadata',
    '0',
    ...(options.rotate ? ['-metadata:s:v:0', `rotate=${options.rotate}`] : []),
    '-y',
    out,
  ]);
  run('rm', ['-f', tmp]);
}

function iso6709(latitude: number, longitude: number): string {
  const f = (v: number, w: number) =>
    `${v < 0 ? '-' : '+'}${Math.abs(v)
      .toFixed(4)
      .padStart(w + 5, '0')}`;
  return `${f(latitude, 2)}${f(longitude, 3)}+010.000/`;
}

/** Tags exiftool finds (`-G1 -a`, all groups, embedded streams too): "Group:Tag" → value. */
export function exiftoolTags(path: string): Record<string, unknown> {
  const json = run('exiftool', ['-j', '-G1', '-a', '-ee', '-n', path]).toString('utf8');
  return (JSON.parse(json) as Array<Record<string, unknown>>)[0] ?? {};
}

/** The secrets exiftool still finds: any GPS tag, the make/model/description values, anywhere. */
export function leakedSecrets(path: string): string[] {
  const tags = exiftoolTags(path);
  const leaks: string[] = [];
  for (const [key, value] of Object.entries(tags)) {
    const text = String(value);
    if (/gps|location/i.test(key)) leaks.push(`${key}=${text}`);
    else if (Object.values(SECRET).some((secret) => text.includes(secret))) leaks.push(`${key}=${text}`);
  }
  const bytes = readFileSync(path);
  for (const secret of Object.values(SECRET)) if (bytes.includes(secret)) leaks.push(`bytes contain ${secret}`);
  return leaks;
}

/** The mean colour of an image's region (fractions of its size), as [r, g, b]. */
export async function meanColour(
  image: Buffer,
  region: { left: number; top: number; width: number; height: number } = { left: 0, top: 0, width: 1, height: 1 },
): Promise<[number, number, number]> {
  const { width = 0, height = 0 } = await sharp(image).metadata();
  const cut = {
    left: Math.floor(region.left * width),
    top: Math.floor(region.top * height),
    width: Math.max(1, Math.floor(region.width * width)),
    height: Math.max(1, Math.floor(region.height * height)),
  };
  // stats() describes a pipeline's input, not its output: cut first, then measure the cut
  const region_ = await sharp(image).extract(cut).removeAlpha().png().toBuffer();
  const stats = await sharp(region_).stats();
  return stats.channels.slice(0, 3).map((c) => Math.round(c.mean)) as [number, number, number];
}

/**
 * A grid HEIF, as iPhones write every photo: the primary image is a `grid` item whose pixels are rows×cols HEVC
 * tiles (hidden items it references with `dimg`), with an `ispe` of its own and its 8-byte description as item data.
 * heif-enc 1.15 cannot write grids, so the tiles are encoded by heif-enc as one multi-image file, and the grid item,
 * its reference, property and data (in a trailing `mdat`) are added here, with the `iloc` offsets the larger `meta`
 * shifts. Tiles are given row by row; `width`×`height` may crop the last row/column, as the format allows.
 */
export function makeGridHeif(
  out: string,
  tiles: string[],
  grid: { rows: number; cols: number; width: number; height: number },
): void {
  if (tiles.length !== grid.rows * grid.cols) throw new Error('one tile per cell');
  heifEnc(out, tiles);
  const file = readFileSync(out);
  const meta = boxesOf(file, 0, file.length).find((b) => b.type === 'meta');
  if (!meta) throw new Error('no meta');
  const parts = boxesOf(file, meta.start + 12, meta.end);
  const part = (type: string) => {
    const found = parts.find((b) => b.type === type);
    if (!found) throw new Error(`no ${type}`);
    return found;
  };
  const [pitm, iinf, iloc, iprp] = [part('pitm'), part('iinf'), part('iloc'), part('iprp')];
  if (parts.some((b) => b.type === 'iref')) throw new Error('unexpected iref');

  // items: heif-enc writes one hvc1 item per input, in input order; the grid takes the next id
  const iinfVersion = file[iinf.start + 8] as number;
  const infes = boxesOf(file, iinf.start + 12 + (iinfVersion === 0 ? 2 : 4), iinf.end);
  const tileIds: number[] = [];
  let gridId = 0;
  const hiddenInfes = infes.map((b) => {
    const bytes = Buffer.from(file.subarray(b.start, b.end));
    const id = bytes.readUInt16BE(12);
    gridId = Math.max(gridId, id + 1);
    if (bytes.toString('latin1', 16, 20) === 'hvc1') {
      tileIds.push(id);
      bytes[11] = (bytes[11] as number) | 1; // hidden: a tile is not an image of its own
    }
    return bytes;
  });
  if (tileIds.length !== tiles.length) throw new Error('unexpected items');
  const gridInfe = Buffer.alloc(21);
  gridInfe.write('infe', 4, 'latin1');
  gridInfe[8] = 2;
  gridInfe.writeUInt16BE(gridId, 12);
  gridInfe.write('grid', 16, 'latin1');
  withSize(gridInfe);
  const iinfHead = Buffer.from(file.subarray(iinf.start, iinf.start + 12 + (iinfVersion === 0 ? 2 : 4)));
  if (iinfVersion === 0) iinfHead.writeUInt16BE(infes.length + 1, 12);
  else iinfHead.writeUInt32BE(infes.length + 1, 12);
  const newIinf = withSize(Buffer.concat([iinfHead, ...hiddenInfes, gridInfe]));

  const newPitm = Buffer.from(file.subarray(pitm.start, pitm.end));
  newPitm.writeUInt16BE(gridId, 12);

  const iref = Buffer.alloc(12 + 12 + 2 * tileIds.length);
  iref.write('iref', 4, 'latin1');
  iref.writeUInt32BE(12 + 2 * tileIds.length, 12);
  iref.write('dimg', 16, 'latin1');
  iref.writeUInt16BE(gridId, 20);
  iref.writeUInt16BE(tileIds.length, 22);
  for (const [i, id] of tileIds.entries()) iref.writeUInt16BE(id, 24 + 2 * i);
  withSize(iref);

  // properties: the grid's own ispe, associated in ipma (version 0, 7-bit indices, as heif-enc writes)
  const iprpParts = boxesOf(file, iprp.start + 8, iprp.end);
  const ipco = iprpParts.find((b) => b.type === 'ipco');
  const ipma = iprpParts.find((b) => b.type === 'ipma');
  if (!ipco || !ipma || file[ipma.start + 8] !== 0 || file.readUIntBE(ipma.start + 9, 3) & 1) {
    throw new Error('unexpected iprp layout');
  }
  const ispe = Buffer.alloc(20);
  ispe.write('ispe', 4, 'latin1');
  ispe.writeUInt32BE(grid.width, 12);
  ispe.writeUInt32BE(grid.height, 16);
  const newIpco = withSize(Buffer.concat([file.subarray(ipco.start, ipco.end), withSize(ispe)]));
  const ispeIndex = boxesOf(file, ipco.start + 8, ipco.end).length + 1;
  const newIpma = withSize(
    Buffer.concat([file.subarray(ipma.start, ipma.end), Buffer.from([gridId >> 8, gridId & 255, 1, ispeIndex])]),
  );
  newIpma.writeUInt32BE(file.readUInt32BE(ipma.start + 12) + 1, 12);
  const newIprp = withSize(
    Buffer.concat([
      file.subarray(iprp.start, iprp.start + 8),
      ...iprpParts.map((b) => (b === ipco ? newIpco : b === ipma ? newIpma : file.subarray(b.start, b.end))),
    ]),
  );

  // iloc: the existing items move by the growth of meta; the grid's data is 8 bytes in a trailing mdat
  const ilocVersion = file[iloc.start + 8] as number;
  const offsetSize = (file[iloc.start + 12] as number) >> 4;
  const lengthSize = (file[iloc.start + 12] as number) & 15;
  const baseSize = (file[iloc.start + 13] as number) >> 4;
  const indexSize = ilocVersion === 0 ? 0 : (file[iloc.start + 13] as number) & 15;
  if (ilocVersion > 1 || ![4, 8].includes(offsetSize) || ![4, 8].includes(lengthSize)) {
    throw new Error('unexpected iloc layout');
  }
  const entry = Buffer.alloc(2 + (ilocVersion === 1 ? 2 : 0) + 2 + baseSize + 2 + indexSize + offsetSize + lengthSize);
  entry.writeUInt16BE(gridId, 0);
  const extentAt = entry.length - offsetSize - lengthSize;
  entry.writeUInt16BE(1, extentAt - indexSize - 2);
  const writeSized = (value: number, at: number, size: number) =>
    size === 4 ? entry.writeUInt32BE(value, at) : entry.writeBigUInt64BE(BigInt(value), at);
  writeSized(8, extentAt + offsetSize, lengthSize);
  const buildMeta = (gridDataOffset: number, delta: number): Buffer => {
    const oldIloc = Buffer.from(file.subarray(iloc.start, iloc.end));
    shiftIloc(oldIloc, delta);
    oldIloc.writeUInt16BE(oldIloc.readUInt16BE(14) + 1, 14);
    writeSized(gridDataOffset, extentAt, offsetSize);
    const newIloc = withSize(Buffer.concat([oldIloc, entry]));
    const body = parts.flatMap((b) => {
      if (b === pitm) return [newPitm];
      if (b === iloc) return [newIloc];
      if (b === iinf) return [newIinf, iref];
      if (b === iprp) return [newIprp];
      return [file.subarray(b.start, b.end)];
    });
    return withSize(Buffer.concat([file.subarray(meta.start, meta.start + 12), ...body]));
  };
  const delta = buildMeta(0, 0).length - (meta.end - meta.start);
  const gridData = Buffer.from([0, 0, grid.rows - 1, grid.cols - 1, 0, 0, 0, 0]);
  gridData.writeUInt16BE(grid.width, 4);
  gridData.writeUInt16BE(grid.height, 6);
  const trailing = withSize(Buffer.concat([Buffer.from([0, 0, 0, 0, 0x6d, 0x64, 0x61, 0x74]), gridData]));
  const newMeta = buildMeta(file.length + delta + 8, delta);
  writeFileSync(out, Buffer.concat([file.subarray(0, meta.start), newMeta, file.subarray(meta.end), trailing]));
}
