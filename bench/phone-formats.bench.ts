/**
 * Phone-format benchmark (issue 16), not a test: figures are printed, never asserted.
 *
 *   node bench/phone-formats.bench.ts
 *   (PHONE_BENCH_HEIC: HEIC photos per round, default 6; PHONE_BENCH_VIDEOS: videos per round, default 6;
 *    PHONE_BENCH_ROUNDS: interleaved rounds, default 3)
 *
 * 1. HEIC decode path of ingest, 12 MP (4032×3024, as an iPhone): what the worker runs per HEIC
 *    (`probeMedia` → `renderHeifDerivatives`: heif-convert → sharp preview, thumbnail, thumbhash) against the bare
 *    decoder + sharp resize of the same files (heif-convert to JPEG, then sharp: 1440 px JPEG + 250 px WebP).
 *    Target ≥ 0.8× the baseline's photos/s.
 * 2. Video probe + poster, per file (1080p H.264, 5 s): `probeMedia` (ffprobe) → `renderVideoPoster` (ffmpeg
 *    frame 1 s in → sharp derivatives) against bare ffprobe + ffmpeg extracting the same frame to PNG. Target ≥ 0.8×.
 * 3. Stripping a 100 MB MOV (moov at the end, as iPhones write it) through `createMetadataStripper` from file to
 *    file, against a plain stream copy of the same file. Target ≥ 0.9× the copy's MB/s.
 *
 * Sequential, one file at a time: the ratios compare the same work on the same two cores.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  createMetadataStripper,
  detectMediaTools,
  probeMedia,
  renderHeifDerivatives,
  renderVideoPoster,
} from '@immish/media';
import sharp from 'sharp';

const HEICS = Number(process.env.PHONE_BENCH_HEIC ?? 6);
const VIDEOS = Number(process.env.PHONE_BENCH_VIDEOS ?? 6);
const ROUNDS = Number(process.env.PHONE_BENCH_ROUNDS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'immish-phone-bench-'));
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const tools = await detectMediaTools();

async function timed(fn: () => Promise<void>): Promise<number> {
  const started = performance.now();
  await fn();
  return (performance.now() - started) / 1000;
}

try {
  console.log(
    `machine: ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(2)}; tools ${JSON.stringify(tools)}`,
  );

  // ── fixtures (not timed) ─────────────────────────────────────────────────────────────────────────
  const heics: string[] = [];
  for (let i = 0; i < HEICS; i++) {
    // a photo-like 12 MP picture: gradients plus texture, different per file
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="4032" height="3024"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${i * 50},60%,40%)"/><stop offset="1" stop-color="hsl(${i * 50 + 120},60%,70%)"/></linearGradient></defs><rect width="4032" height="3024" fill="url(#g)"/><circle cx="${1000 + i * 300}" cy="1200" r="600" fill="#ffd166" opacity="0.8"/></svg>`;
    const jpeg = join(dir, `src-${i}.jpg`);
    await sharp(Buffer.from(svg))
      .composite([
        {
          input: {
            create: {
              width: 4032,
              height: 3024,
              channels: 3,
              background: '#808080',
              noise: { type: 'gaussian', mean: 0, sigma: 12 },
            },
          },
          blend: 'overlay',
        },
      ])
      .jpeg({ quality: 92 })
      .toFile(jpeg);
    const heic = join(dir, `photo-${i}.heic`);
    run('heif-enc', ['-q', '60', jpeg, '-o', heic]);
    run('exiftool', [
      '-q',
      '-overwrite_original',
      '-Make=Apple',
      '-Model=iPhone 15',
      '-GPSLatitude=48.1',
      '-GPSLatitudeRef=N',
      '-GPSLongitude=11.5',
      '-GPSLongitudeRef=E',
      heic,
    ]);
    heics.push(heic);
  }
  const videos: string[] = [];
  for (let i = 0; i < VIDEOS; i++) {
    const path = join(dir, `clip-${i}.mp4`);
    run('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=1920x1080:rate=30,hue=h=${i * 40}`,
      '-t',
      '5',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-metadata',
      'location=+48.1000+011.5000/',
      '-y',
      path,
    ]);
    videos.push(path);
  }
  const big = join(dir, 'big.mov');
  run('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=1280x720:rate=30',
    '-frames:v',
    '73',
    '-c:v',
    'rawvideo',
    '-pix_fmt',
    'yuv420p',
    '-movflags',
    'use_metadata_tags',
    '-metadata',
    'com.apple.quicktime.location.ISO6709=+48.1000+011.5000/',
    '-metadata',
    'location=+48.1000+011.5000/',
    '-y',
    big,
  ]);
  const bigBytes = statSync(big).size;
  console.log(
    `fixtures: ${HEICS} HEIC 4032×3024 (${heics[0] ? (statSync(heics[0]).size / 1e6).toFixed(1) : 0} MB each), ${VIDEOS} × 5 s 1080p H.264, MOV ${(bigBytes / 1e6).toFixed(0)} MB`,
  );

  // ── 1. HEIC ────────────────────────────────────────────────────────────────────────────────────────
  const heicOurs: number[] = [];
  const heicBare: number[] = [];
  for (let r = 0; r < (HEICS > 0 ? ROUNDS : 0); r++) {
    heicBare.push(
      HEICS /
        (await timed(async () => {
          for (const [i, heic] of heics.entries()) {
            const out = join(dir, `bare-${i}.jpg`);
            run('heif-convert', ['--quiet', '-q', '95', heic, out]);
            const preview = await sharp(out).resize(1440, 1440, { fit: 'inside' }).jpeg({ quality: 80 }).toBuffer();
            await sharp(preview).resize(250, 250, { fit: 'inside' }).webp({ quality: 80 }).toBuffer();
            rmSync(out);
          }
        })),
    );
    heicOurs.push(
      HEICS /
        (await timed(async () => {
          for (const heic of heics) {
            const probe = await probeMedia(heic, { tools });
            await renderHeifDerivatives(heic, probe.heif ?? null, { maxPixels: 100_000_000, tools, tempDir: dir });
          }
        })),
    );
  }
  const [hb, ho] = [median(heicBare), median(heicOurs)];
  if (HEICS > 0)
    console.log(
      `HEIC 12 MP: bare heif-convert + sharp ${hb.toFixed(2)} photos/s; immish probe + derivatives ${ho.toFixed(2)} photos/s (${(ho / hb).toFixed(2)}×; target ≥ 0.8×)`,
    );

  // ── 2. video probe + poster ───────────────────────────────────────────────────────────────────────
  const videoOurs: number[] = [];
  const videoBare: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    videoBare.push(
      (await timed(async () => {
        for (const video of videos) {
          run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', video]);
          run('ffmpeg', [
            '-nostdin',
            '-v',
            'error',
            '-ss',
            '1',
            '-i',
            video,
            '-frames:v',
            '1',
            '-c:v',
            'png',
            '-f',
            'image2pipe',
            '-',
          ]);
        }
      })) / VIDEOS,
    );
    videoOurs.push(
      (await timed(async () => {
        for (const video of videos) {
          const probe = await probeMedia(video, { tools });
          await renderVideoPoster(video, probe.video!, { maxPixels: 100_000_000, tools });
        }
      })) / VIDEOS,
    );
  }
  const [vb, vo] = [median(videoBare), median(videoOurs)];
  console.log(
    `video probe + poster: bare ffprobe + ffmpeg frame ${(vb * 1000).toFixed(0)} ms/file; immish probe + poster + derivatives ${(vo * 1000).toFixed(0)} ms/file (${(vb / vo).toFixed(2)}× the bare speed; target ≥ 0.8×)`,
  );

  // ── 3. stripping a 100 MB MOV ─────────────────────────────────────────────────────────────────────
  const copyRates: number[] = [];
  const stripRates: number[] = [];
  const out = join(dir, 'out.mov');
  // warm the page cache once, so neither side pays the first read
  copyFileSync(big, out);
  for (let r = 0; r < ROUNDS + 2; r++) {
    copyRates.push(bigBytes / 1e6 / (await timed(() => pipeline(createReadStream(big), createWriteStream(out)))));
    stripRates.push(
      bigBytes /
        1e6 /
        (await timed(() =>
          pipeline(createReadStream(big), createMetadataStripper('video/quicktime')!, createWriteStream(out)),
        )),
    );
  }
  const leaks =
    run('exiftool', ['-G1', '-a', out])
      .toString()
      .match(/GPS.*|Location.*/g) ?? [];
  const [cr, sr] = [median(copyRates), median(stripRates)];
  console.log(
    `strip ${(bigBytes / 1e6).toFixed(0)} MB MOV: plain stream copy ${cr.toFixed(0)} MB/s; stripper ${sr.toFixed(0)} MB/s (${(sr / cr).toFixed(2)}×; target ≥ 0.9×); GPS left: ${leaks.length === 0 ? 'none' : leaks.join(', ')}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
