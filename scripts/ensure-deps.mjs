// prestart/pretest: install dependencies when node_modules is missing or older than the lockfile, so a fresh
// clone needs nothing but `npm start` / `npm test`. Plain JavaScript: it runs before the pinned Node exists.
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.log('[immish] installing dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}

// The media decoders are Debian binaries, installed like PostgreSQL and Redis (README "Requirements"): sharp's
// prebuilt libvips has no HEVC decoder (HEIC), and ffmpeg/ffprobe make video posters, probes and renditions.
const tools = [
  ['ffmpeg', 'ffmpeg'],
  ['ffprobe', 'ffmpeg'],
  ['heif-convert', 'libheif-examples'],
  ['exiftool', 'libimage-exiftool-perl'],
];
const onPath = (cmd) => (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, cmd)));
const missing = [...new Set(tools.filter(([cmd]) => !onPath(cmd)).map(([, pkg]) => pkg))];
if (missing.length > 0) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && onPath('apt-get')) {
    console.log(`[immish] installing system packages: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  } else {
    console.error(
      `[immish] missing system packages: ${missing.join(' ')}\n` +
        `         install them (Debian/Ubuntu: sudo apt-get install -y ${missing.join(' ')}) and run this again.`,
    );
    process.exit(1);
  }
}
