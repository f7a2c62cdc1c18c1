import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
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
    extensions: { pg_trgm, unaccent },
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
