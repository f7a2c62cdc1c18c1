import { createHash } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;
/** The client handed to services: the root client or an interactive transaction's. */
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

export interface Database {
  prisma: PrismaClient;
  /** The same pool Prisma uses; shared with the session store and the migrator. */
  pool: pg.Pool;
  close(): Promise<void>;
}

/** Named prepared statements: PostgreSQL plans each distinct query once per connection. */
function statementName(query: { sql: string }): string {
  return 'cb_' + createHash('sha1').update(query.sql).digest('hex').slice(0, 24);
}

/**
 * namedStatements: cache query plans per connection. Off for the embedded PGlite, whose socket
 * connections all share one PostgreSQL session (a second PREPARE of a name would collide).
 */
export function connectDatabase(url: string, poolSize = 10, opts: { namedStatements?: boolean } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 30_000 });
  // A dropped connection (database restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => console.error('[db] idle connection error:', err.message));
  const adapter = new PrismaPg(pool, opts.namedStatements === false ? {} : { statementNameGenerator: statementName });
  const prisma = new PrismaClient({ adapter });
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
