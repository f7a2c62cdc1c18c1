import { join } from 'node:path';
import type { Config } from '../config/env.js';
import { connectDatabase, type Database } from './client.js';
import { startEmbeddedDatabase } from './embedded.js';

export interface OpenDatabase extends Database {
  /** Where the data lives, for the start-up log (never includes a password). */
  description: string;
}

/**
 * DATABASE_URL's server when set; otherwise the embedded PostgreSQL with its data in DATA_DIR/pg.
 * Either way the app talks to it over the wire through the same pool and client.
 */
export async function openDatabase(config: Config): Promise<OpenDatabase> {
  if (config.DATABASE_URL) {
    const db = connectDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE, {
      namedStatements: config.DATABASE_PREPARED_STATEMENTS,
      sharedSession: false,
    });
    const u = new URL(config.DATABASE_URL);
    return { ...db, description: `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}` };
  }
  const dataDir = join(config.DATA_DIR, 'pg');
  const embedded = await startEmbeddedDatabase({ dataDir, port: config.EMBEDDED_DB_PORT });
  const db = connectDatabase(embedded.url, config.DATABASE_POOL_SIZE, { namedStatements: false });
  return {
    ...db,
    description: `embedded PostgreSQL (PGlite), data in ${dataDir}`,
    async close() {
      await db.close();
      await embedded.stop();
    },
  };
}
