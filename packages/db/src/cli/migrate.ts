import { migrateToLatest } from '../migrate.ts';
import { createDb, createPool } from '../pool.ts';

// `npm run migrate`: applies pending migrations to DATABASE_URL.
try {
  process.loadEnvFile();
} catch {}
const url = process.env.DATABASE_URL;
if (!url) {
  console.error('DATABASE_URL: required (e.g. postgres://postgres@127.0.0.1:5432/immish)');
  process.exit(1);
}
const db = createDb(createPool({ connectionString: url, max: 2, connectionTimeoutMillis: 10_000 }));
try {
  const { applied } = await migrateToLatest(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
} catch (err) {
  console.error(`migration failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
