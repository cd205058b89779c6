// prestart/pretest: install dependencies when node_modules is missing or older than the lockfile, so a fresh
// clone needs nothing but `npm start` / `npm test`. Plain JavaScript: it runs before the pinned Node exists.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  console.log('[immish] installing dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}
