import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

/**
 * Runs PostgreSQL in-process (PGlite, WASM) and serves the wire protocol on a loopback port,
 * so the app connects to it exactly as to any PostgreSQL server.
 * dataDir undefined = in memory; loadDataDir = start from a dumped data directory (test template).
 */
export async function startEmbeddedDatabase(options: {
  dataDir?: string;
  port?: number;
  loadDataDir?: Blob;
}): Promise<EmbeddedDatabase & { db: PGlite }> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create({
    // Contrib extensions the migrations create (CREATE EXTENSION) must be handed to PGlite.
    extensions: { pg_trgm, unaccent, btree_gin },
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    // A pool needs several connections; the server keeps each connection's transaction together.
    maxConnections: 32,
  });
  keepProtocolBatchesTogether(server);
  await server.start();
  const hostPort = server.getServerConn();
  return {
    db,
    url: `postgresql://postgres@${hostPort}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** Messages after which a connection has nothing pending: Sync, a simple Query, Terminate. */
const BATCH_ENDS = new Set([0x53 /* S */, 0x51 /* Q */, 0x58 /* X */]);

interface QueueInternals {
  db: PGlite;
}

/**
 * pglite-socket 0.2.17 passes the messages of all connections, one message at a time, through one
 * queue into PGlite's single session, keeping a connection's messages together only inside an
 * explicit transaction. An extended-protocol query outside one (Parse, Bind, Describe, Execute,
 * then Sync) could interleave with another connection's: its unnamed statement was replaced
 * ("bind message supplies 2 parameters, but prepared statement "" requires 1", "portal "" does not
 * exist"). Seen with the mail worker's queries beside page requests. The queue already waits for
 * the connection that is inside a transaction; this makes it also wait for the one whose last
 * message did not end its batch, by answering its "in a transaction?" question accordingly.
 * (Checked by tests/integration/embedded-database.test.ts.)
 */
function keepProtocolBatchesTogether(server: PGLiteSocketServer): void {
  const queue = (server as unknown as { queryQueue: QueueInternals }).queryQueue;
  const db = queue.db;
  let midBatch = false;
  queue.db = new Proxy(db, {
    get(target, prop) {
      if (prop === 'isInTransaction') return () => midBatch || target.isInTransaction();
      if (prop === 'execProtocolRawStream') {
        return async (message: Uint8Array, opts: Parameters<PGlite['execProtocolRawStream']>[1]) => {
          try {
            return await target.execProtocolRawStream(message, opts);
          } finally {
            // A startup message begins with its length (no type byte): it ends nothing pending.
            midBatch = message.length > 0 && message[0] !== 0 && !BATCH_ENDS.has(message[0]!);
          }
        };
      }
      // A connection that went away mid-batch: the queue rolls back and moves on.
      if (prop === 'exec') {
        return (query: string, ...rest: unknown[]) => {
          if (query === 'ROLLBACK') midBatch = false;
          return (target.exec as (q: string, ...r: unknown[]) => unknown)(query, ...rest);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
