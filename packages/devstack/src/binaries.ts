import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export class MissingBinaryError extends Error {
  readonly code = 'MISSING_BINARY';
}

const INSTALL_HINT =
  'Install it (Debian/Ubuntu: `sudo apt-get install -y postgresql redis-server`), point DATABASE_URL/REDIS_URL ' +
  'at running servers, or use `docker compose up` instead.';

/** The newest PostgreSQL server binaries on this machine (Debian layout first, then PATH). */
export function findPostgresBinDir(): string {
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot)
      .filter((v) => existsSync(join(debianRoot, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(debianRoot, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  } catch {}
  throw new MissingBinaryError(`PostgreSQL server binaries (initdb, postgres) not found. ${INSTALL_HINT}`);
}

export function findRedisServer(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/local/bin']) {
    if (dir && existsSync(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  }
  throw new MissingBinaryError(`redis-server not found. ${INSTALL_HINT}`);
}

/** PostgreSQL refuses to run as root: when we are root, its processes run as the `postgres` user. */
export function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) {
    throw new MissingBinaryError(
      'running as root, but there is no `postgres` user to run PostgreSQL as (the Debian package creates it).',
    );
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
