import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { installJobQueue } from '../jobs/queue.js';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../prisma/migrations');

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export class MigrationError extends Error {}

/** Migrations in Prisma's layout: prisma/migrations/<timestamp>_<name>/migration.sql, in name order. */
export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'migration.sql')))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

// Prisma's own bookkeeping table, so that `prisma migrate status` on a machine that has the
// schema engine sees these migrations as applied.
const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                  VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"            VARCHAR(64) NOT NULL,
    "finished_at"         TIMESTAMPTZ,
    "migration_name"      VARCHAR(255) NOT NULL,
    "logs"                TEXT,
    "rolled_back_at"      TIMESTAMPTZ,
    "started_at"          TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;
const LOCK_KEY = 72_616_190; // any constant: serialises migrators of several app instances

/**
 * Applies pending migrations, each in its own transaction with its bookkeeping row.
 * Refuses to go on when an applied migration's file was edited or is missing.
 */
export async function migrate(pool: pg.Pool, files = readMigrations(), opts: { directUrl?: string } = {}): Promise<string[]> {
  // Instances started at the same moment (a deployment, WEB_CONCURRENCY workers) take turns: the
  // lock is held until the job queue is installed too, since pg-boss's first install (CREATE
  // SCHEMA pgboss) fails on a race ("duplicate key … pg_namespace"; seen with two instances
  // started at once on an empty database, tests/faults/scale-out.test.ts).
  // On a connection of its own, not the pool's: pg-boss installs through the pool meanwhile,
  // which may hold a single connection. A session lock needs a session: behind a
  // transaction-pooling PgBouncer, DATABASE_DIRECT_URL.
  const client = new pg.Client(opts.directUrl ? { connectionString: opts.directUrl } : pool.options);
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    const done = await applyMigrations(client, files);
    // The job queue's schema and queues (pg-boss keeps its own migrations): the outbox trigger uses them.
    await installJobQueue(pool);
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function applyMigrations(client: pg.Client, files: MigrationFile[]): Promise<string[]> {
  await client.query(BOOKKEEPING);
  const { rows } = await client.query<{ migration_name: string; checksum: string }>(
    `SELECT migration_name, checksum FROM "_prisma_migrations"
      WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  const applied = new Map(rows.map((r) => [r.migration_name, r.checksum]));
  const known = new Set(files.map((f) => f.name));
  for (const name of applied.keys()) {
    if (!known.has(name)) {
      throw new MigrationError(`Migration ${name} is applied to the database but its file is missing.`);
    }
  }
  const done: string[] = [];
  for (const file of files) {
    const checksum = applied.get(file.name);
    if (checksum !== undefined) {
      if (checksum !== file.checksum) {
        throw new MigrationError(
          `Migration ${file.name} was edited after it was applied (checksum differs). ` +
            'Restore the file and put the change in a new migration.',
        );
      }
      continue;
    }
    await client.query('BEGIN');
    try {
      await client.query(file.sql);
      await client.query(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at, applied_steps_count)
         VALUES ($1, $2, $3, now(), 1)`,
        [randomUUID(), file.checksum, file.name],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw new MigrationError(`Migration ${file.name} failed: ${(err as Error).message}`);
    }
    done.push(file.name);
  }
  return done;
}
