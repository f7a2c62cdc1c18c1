// npm run db:migrate — applies pending migrations to DATABASE_URL's database (or the embedded one).
import { loadConfig } from '../config/env.js';
import { backfillEmailSkeletons } from './backfill-skeletons.js';
import { migrate } from './migrate.js';
import { openDatabase } from './open.js';

const config = loadConfig();
const db = await openDatabase(config);
try {
  const applied = await migrate(db.pool, undefined, { directUrl: config.DATABASE_URL ? config.DATABASE_DIRECT_URL : undefined });
  console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'Database is up to date.');
  // What only the application can compute (the server would fill it in the background).
  const filled = await backfillEmailSkeletons(db.pool);
  if (filled) console.log(`Filled in the address skeletons of ${filled} customers.`);
} catch (err) {
  console.error((err as Error).message);
  process.exitCode = 1;
} finally {
  await db.close();
}
