import { createHash } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { logError } from '../log.js';

export type Db = PrismaClient;
/** The client handed to services: the root client or an interactive transaction's. */
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;

export interface Database {
  prisma: PrismaClient;
  /** The same pool Prisma uses; shared with the session store and the migrator. */
  pool: pg.Pool;
  /** False on the embedded PGlite, whose connections share one session (no named statements), and behind an old PgBouncer. */
  namedStatements: boolean;
  /** True on the embedded PGlite: its connections share one session (LISTEN cannot work there). */
  sharedSession: boolean;
  close(): Promise<void>;
}

/**
 * PostgreSQL is away for now (restarting, shutting down, starting up, unreachable, out of
 * connections): node's socket errors, PostgreSQL's class 08 and 57P01-57P03 ("the database system
 * is starting up / shutting down"), 53300, and Prisma's P1001/P1002/P1008/P1017/P2024.
 */
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '53300', 'P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  return /connect|terminat|database system is|not queryable/i.test(String((err as Error | null)?.message));
}

/** Runs `work` in a transaction on one pooled connection (raw SQL), released whatever happens. */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Named prepared statements: PostgreSQL plans each distinct query once per connection. */
function statementName(query: { sql: string }): string {
  return 'cb_' + createHash('sha1').update(query.sql).digest('hex').slice(0, 24);
}

/** The pool behind each client made by connectDatabase, for sql() below. */
const direct = new WeakMap<object, { pool: pg.Pool; namedStatements: boolean }>();
const names = new Map<string, string>();

/**
 * Runs one SQL statement ($1, $2, ... placeholders) straight on the pool behind a client made by
 * connectDatabase: one round trip, without Prisma's per-query work. For the hottest pages
 * (queue, ticket page, new ticket), whose statements are written out in SQL anyway.
 * Given a transaction's client (or any other), it runs through Prisma in that client instead.
 * Rows come as `pg` makes them: timestamptz as Date, json parsed, int8 as string (cast to int).
 */
export async function sql<R>(db: Tx, text: string, values: readonly unknown[], opts: { prepared?: boolean } = {}): Promise<R[]> {
  const target = direct.get(db);
  if (!target) return db.$queryRawUnsafe<R[]>(text, ...values);
  let name: string | undefined;
  // prepared: false — planned for its values every time (an unnamed statement): for statements
  // whose best plan depends on the values, such as text searches (a rare word or a common one).
  if (target.namedStatements && opts.prepared !== false) {
    name = names.get(text);
    if (!name) {
      name = statementName({ sql: text });
      if (names.size < 1000) names.set(text, name);
    }
  }
  const result = await target.pool.query<R & pg.QueryResultRow>({ text, values: values as unknown[], name });
  return result.rows;
}

/**
 * Whether `db` is a transaction's client: anything but a root client made by connectDatabase.
 * (Prisma's transaction clients still answer `'$transaction' in tx`, so ask the registry.)
 */
export function isTransactionClient(db: object): boolean {
  return !direct.has(db);
}

/**
 * The pool behind a client made by connectDatabase (undefined for a transaction's client): for
 * statements that must not go through Prisma (bytes of files: see services/attachments/store.ts).
 */
export function poolOf(db: Tx): pg.Pool | undefined {
  return direct.get(db)?.pool;
}

/**
 * namedStatements: cache query plans per connection. Off for the embedded PGlite, whose socket
 * connections all share one PostgreSQL session (a second PREPARE of a name would collide), and
 * behind a transaction-pooling PgBouncer older than 1.21 (DATABASE_PREPARED_STATEMENTS=false).
 * sharedSession: the embedded PGlite (default: whenever named statements are off, as there).
 */
export function connectDatabase(url: string, poolSize = 10, opts: { namedStatements?: boolean; sharedSession?: boolean } = {}): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, idleTimeoutMillis: 30_000 });
  // A dropped connection (database restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => logError('[db] idle connection error:', err.message));
  // The same for a connection that is checked out (pg-pool only listens while it is idle): without
  // a listener of its own, its 'error' event would be unhandled and end the process. The holder
  // still gets the error from its next query.
  pool.on('connect', (client) => client.on('error', (err) => logError('[db] connection error:', err.message)));
  const adapter = new PrismaPg(pool, opts.namedStatements === false ? {} : { statementNameGenerator: statementName });
  const prisma = new PrismaClient({ adapter });
  direct.set(prisma, { pool, namedStatements: opts.namedStatements !== false });
  return {
    prisma,
    pool,
    namedStatements: opts.namedStatements !== false,
    sharedSession: opts.sharedSession ?? opts.namedStatements === false,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
