import { createDb, createPool, migrateToLatest } from '@immish/db';
import { ensureAdmin } from '@immish/domain';
import { loadDotEnv } from '@immish/runtime';

// `npm run create-admin -- <email> [name]`: creates the first admin (or reuses it) and prints a new API key.
loadDotEnv();
const [email, name] = process.argv.slice(2);
const url = process.env.DATABASE_URL;
if (!url || !email || !/^[^@\s]+@[^@\s]+$/.test(email)) {
  console.error('usage: DATABASE_URL=postgres://… npm run create-admin -- <email> [name]');
  process.exit(1);
}
const db = createDb(createPool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 }));
try {
  await migrateToLatest(db);
  const { user, secret, created } = await ensureAdmin(db, email, name);
  console.log(`${created ? 'created' : 'existing'} admin ${user.email} (${user.id})`);
  console.log(`API key: ${secret}`);
} catch (err) {
  console.error(`create-admin failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
