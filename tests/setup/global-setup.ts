// Prepares one migrated template database for the whole run:
// - DATABASE_URL set: a template database on that server, cloned per test file (CREATE DATABASE … TEMPLATE);
// - unset: an embedded PGlite, migrated, its data directory dumped to a file each test file loads.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/db/migrate.js';
import { startEmbeddedDatabase } from '../../src/db/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testDb: { mode: 'server'; adminUrl: string; template: string } | { mode: 'embedded'; dumpFile: string };
  }
}

export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (url) {
    const template = `caseboard_test_tpl_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${template}`);
    await admin.query(`CREATE DATABASE ${template}`);
    await admin.end();
    const tplUrl = new URL(url);
    tplUrl.pathname = `/${template}`;
    const pool = new pg.Pool({ connectionString: tplUrl.toString(), max: 1 });
    await migrate(pool);
    await pool.end();
    project.provide('testDb', { mode: 'server', adminUrl: url, template });
    return async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
      await c.end();
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'caseboard-test-'));
  const embedded = await startEmbeddedDatabase({});
  const pool = new pg.Pool({ connectionString: embedded.url, max: 1 });
  await migrate(pool);
  await pool.end();
  const dump = await embedded.db.dumpDataDir('none');
  const dumpFile = join(dir, 'template.tar');
  writeFileSync(dumpFile, Buffer.from(await dump.arrayBuffer()));
  await embedded.stop();
  project.provide('testDb', { mode: 'embedded', dumpFile });
  return () => rmSync(dir, { recursive: true, force: true });
}
