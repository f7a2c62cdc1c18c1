// Where attached files' bytes live, behind a small interface so that another store (an
// S3-compatible object store) can be added without touching the services.
//
// The default and only store today is PostgreSQL itself ("FileContent", one row per SHA-256):
// the embedded default and several app instances on one database need no extra service, the
// bytes become content in the same transaction as the attachment rows (a failed or aborted upload
// leaves no content behind), and backups hold files and tickets together. The cost: a 20 MB file
// is 20 MB in the database (TOAST compresses what compresses) and is read whole to be served.
//
// Bytes never go through Prisma's query layer, which held the event loop for 160-750 ms per 20 MB
// (measured): before the transaction, withStagedFiles writes them over the pool (binary
// parameters, ~5 ms of the event loop) into the UNLOGGED "FileUpload"; inside it, put() moves
// them into "FileContent" within the database and deletes the staged row. A staged row whose
// transaction failed is deleted right after; one of a process that died is swept after an hour
// (sweepStagedFiles). Reads go over the pool too. Small files (mail signatures, icons) skip the
// staging: through Prisma they cost less than the extra round trips.
//
// A store outside the database could not join the transaction: it would write the bytes first
// (keyed by hash, so a retry writes nothing new) in stage(), and a sweep would delete objects
// that no attachment references after a grace period.
import { poolOf, type Db, type Tx } from '../../db/client.js';
import type { IncomingFile } from './files.js';
import { logError } from '../../log.js';

/** The bytes to keep: a file's hash and bytes, and where they were staged (if they were). */
export type FileBytes = Pick<IncomingFile, 'sha256' | 'bytes' | 'stagedId'>;

export interface ContentStore {
  /** Keeps the bytes under their hash, once (the same file twice is stored once), in the caller's transaction. */
  put(tx: Tx, file: FileBytes): Promise<void>;
  /** The bytes under a hash, or null when there are none (released). */
  get(db: Db, sha256: string): Promise<Buffer | null>;
  /** Deletes the bytes when no attachment references them any more; whether it did. */
  release(tx: Tx, sha256: string): Promise<boolean>;
}

/** Files smaller than this go through Prisma in the transaction (no staging round trips). */
const STAGE_FROM_BYTES = 256 * 1024;

/**
 * Saving and releasing one hash at a time: a release that finds no reference and an upload of the
 * same bytes at that moment would otherwise race (the upload finding the row, the release deleting it).
 */
async function lockHash(tx: Tx, sha256: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`caseboard.file:${sha256}`}::text, 0))`;
}

export const postgresStore: ContentStore = {
  async put(tx, file) {
    await lockHash(tx, file.sha256);
    if (file.stagedId) {
      const moved = await tx.$executeRaw`
        WITH staged AS (DELETE FROM "FileUpload" WHERE id = ${file.stagedId}::uuid RETURNING bytes)
        INSERT INTO "FileContent" (sha256, size, bytes)
        SELECT ${file.sha256}::char(64), octet_length(bytes), bytes FROM staged
        ON CONFLICT (sha256) DO NOTHING`;
      if (moved > 0) return;
      // Already kept (the same file before), or the staged row is gone: the content must be there.
      const [kept] = await tx.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "FileContent" WHERE sha256 = ${file.sha256}::char(64)`;
      if (kept!.n > 0) return;
      throw new Error(`The upload of ${file.sha256} was lost before it was kept; send the file again.`);
    }
    await tx.fileContent.createMany({
      data: [{ sha256: file.sha256, size: file.bytes.length, bytes: new Uint8Array(file.bytes.buffer as ArrayBuffer, file.bytes.byteOffset, file.bytes.byteLength) }],
      skipDuplicates: true,
    });
  },
  async get(db, sha256) {
    const pool = poolOf(db);
    if (pool) {
      const { rows } = await pool.query<{ bytes: Buffer }>('SELECT bytes FROM "FileContent" WHERE sha256 = $1', [sha256]);
      return rows[0]?.bytes ?? null;
    }
    const row = await db.fileContent.findUnique({ where: { sha256 }, select: { bytes: true } });
    return row ? Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength) : null;
  },
  async release(tx, sha256) {
    await lockHash(tx, sha256);
    const deleted = await tx.$executeRaw`
      DELETE FROM "FileContent" f WHERE f.sha256 = ${sha256}::char(64)
        AND NOT EXISTS (SELECT 1 FROM "Attachment" a WHERE a.sha256 = f.sha256)`;
    return deleted > 0;
  },
};

/**
 * Runs `work` (which opens the transaction that attaches `files`) with the larger files' bytes
 * staged first, outside any transaction; whatever happens, staged rows left over are deleted after.
 * Without a pool behind `db` (a transaction's client), nothing is staged.
 */
export async function withStagedFiles<T>(db: Db, files: readonly IncomingFile[], work: (files: IncomingFile[]) => Promise<T>): Promise<T> {
  const pool = poolOf(db);
  const big = pool ? files.filter((f) => f.bytes.length >= STAGE_FROM_BYTES && !f.stagedId) : [];
  if (!pool || big.length === 0) return work([...files]);
  const ids = new Map<IncomingFile, string>();
  try {
    for (const f of big) {
      const { rows } = await pool.query<{ id: string }>('INSERT INTO "FileUpload" (bytes) VALUES ($1) RETURNING id', [f.bytes]);
      ids.set(f, rows[0]!.id);
    }
    return await work(files.map((f) => (ids.has(f) ? { ...f, stagedId: ids.get(f)! } : f)));
  } finally {
    if (ids.size > 0) {
      await pool
        .query('DELETE FROM "FileUpload" WHERE id = ANY($1::uuid[])', [[...ids.values()]])
        .catch((err: unknown) => logError('[files] could not delete staged uploads (swept later):', (err as Error).message));
    }
  }
}

/** Deletes staged bytes of transactions that never finished (a process that died): older than an hour. */
export async function sweepStagedFiles(db: Db): Promise<number> {
  return db.$executeRaw`DELETE FROM "FileUpload" WHERE "createdAt" < now() - interval '1 hour'`;
}

let current: ContentStore = postgresStore;
/** The content store in use. */
export const contentStore = (): ContentStore => current;
/** For another store (configured at start). */
export function useContentStore(store: ContentStore): void {
  current = store;
}
