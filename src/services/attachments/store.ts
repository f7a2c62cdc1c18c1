// Where attached files' bytes live, behind a small interface so that another store (an
// S3-compatible object store) can be added without touching the services.
//
// The default and only store today is PostgreSQL itself ("FileContent", one row per SHA-256):
// the embedded default and several app instances on one database need no extra service, the
// bytes are written in the same transaction as the attachment rows (a failed or aborted upload
// leaves nothing behind), and backups hold files and tickets together. The cost: a 20 MB file
// is 20 MB in the database (TOAST compresses what compresses) and is read whole to be served.
//
// A store outside the database could not join the transaction: it would write the bytes first
// (keyed by hash, so a retry writes nothing new), and a sweep would delete objects that no
// attachment references after a grace period (a rolled-back transaction's bytes).
import type { Tx } from '../../db/client.js';

export interface ContentStore {
  /** Keeps the bytes under their hash, once (the same file twice is stored once), in the caller's transaction. */
  put(tx: Tx, sha256: string, bytes: Buffer): Promise<void>;
  /** The bytes under a hash, or null when there are none (released). */
  get(db: Tx, sha256: string): Promise<Buffer | null>;
  /** Deletes the bytes when no attachment references them any more; whether it did. */
  release(tx: Tx, sha256: string): Promise<boolean>;
}

/**
 * Saving and releasing one hash at a time: a release that finds no reference and an upload of the
 * same bytes at that moment would otherwise race (the upload finding the row, the release deleting it).
 */
async function lockHash(tx: Tx, sha256: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`caseboard.file:${sha256}`}::text, 0))`;
}

export const postgresStore: ContentStore = {
  async put(tx, sha256, bytes) {
    await lockHash(tx, sha256);
    await tx.fileContent.createMany({ data: [{ sha256, size: bytes.length, bytes: new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength) }], skipDuplicates: true });
  },
  async get(db, sha256) {
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

let current: ContentStore = postgresStore;
/** The content store in use. */
export const contentStore = (): ContentStore => current;
/** For another store (configured at start). */
export function useContentStore(store: ContentStore): void {
  current = store;
}
