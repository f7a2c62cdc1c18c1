// The database that the hand-written migrations build is the one schema.prisma describes,
// the migrator keeps its promises, and history cannot be rewritten.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import internals from '@prisma/internals';
import { migrate, readMigrations, MigrationError, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildTicket, buildUser } from '../helpers/factories.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ empty: true });
});
afterAll(() => db?.close());

// How Prisma maps its scalar types (and @db native types) to PostgreSQL's, as format_type prints them.
function expectedType(field: { type: string; kind: string; nativeType?: unknown; isList?: boolean }): string {
  if (field.isList) return expectedType({ ...field, isList: false }) + '[]';
  const native = field.nativeType as [string, string[]] | null | undefined;
  if (native) {
    const [name, args] = native;
    const a = args.length ? `(${args.join(',')})` : '';
    const map: Record<string, string> = {
      VarChar: `character varying${a}`,
      Timestamptz: `timestamp${a} with time zone`,
      Timestamp: `timestamp${a} without time zone`,
      Json: 'json',
      Uuid: 'uuid',
      Char: `character${a}`,
      Date: 'date',
    };
    if (!map[name]) throw new Error(`add a mapping for @db.${name}`);
    return map[name]!;
  }
  if (field.kind === 'enum') return `"${field.type}"`;
  const map: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    Boolean: 'boolean',
    DateTime: 'timestamp(3) without time zone',
    Json: 'jsonb',
    BigInt: 'bigint',
    Bytes: 'bytea',
  };
  return map[field.type]!;
}

/** Unsupported("…") fields (e.g. generated tsvector columns): Prisma's DMMF leaves them out. */
function unsupportedFields(schema: string): { model: string; name: string; type: string; optional: boolean }[] {
  const out = [];
  for (const block of schema.matchAll(/^model (\w+) \{([\s\S]*?)^\}/gm)) {
    for (const f of block[2]!.matchAll(/^\s+(\w+)\s+Unsupported\("([^"]+)"\)(\?)?/gm)) {
      out.push({ model: block[1]!, name: f[1]!, type: f[2]!, optional: f[3] === '?' });
    }
  }
  return out;
}

describe('migrations', () => {
  it('apply to an empty database, once, recording each with its checksum', async () => {
    const files = readMigrations();
    expect(await migrate(db.pool)).toEqual(files.map((f) => f.name));
    expect(await migrate(db.pool)).toEqual([]); // nothing pending the second time
    const { rows } = await db.pool.query(`SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name`);
    expect(rows).toEqual(files.map((f) => ({ migration_name: f.name, checksum: f.checksum })));
  });

  it('refuse to run when an applied migration was edited', async () => {
    const files = readMigrations();
    const edited = files.map((f, i) => (i === 0 ? { ...f, sql: f.sql + '\n-- edited', checksum: 'x'.repeat(64) } : f));
    await expect(migrate(db.pool, edited)).rejects.toThrow(MigrationError);
    await expect(migrate(db.pool, edited)).rejects.toThrow(/was edited after it was applied/);
  });

  it('produce exactly the tables, columns, types, nullability, uniques and indexes of schema.prisma', async () => {
    const datamodel = readFileSync(join(MIGRATIONS_DIR, '..', 'schema.prisma'), 'utf8');
    const dmmf = await internals.getDMMF({ datamodel });

    const { rows: columns } = await db.pool.query<{ table: string; column: string; type: string; notnull: boolean }>(`
      SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
        AND c.relname <> '_prisma_migrations'`);
    const { rows: indexes } = await db.pool.query<{ table: string; name: string; method: string; columns: string[]; unique: boolean; primary: boolean }>(`
      SELECT t.relname AS table, i.relname AS name, am.amname AS method, ix.indisunique AS unique, ix.indisprimary AS primary,
             array(SELECT a.attname || CASE WHEN (ix.indoption[k.n - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                          || CASE WHEN oc.opcdefault THEN '' ELSE ' ' || oc.opcname END
                   FROM unnest(ix.indkey, ix.indclass) WITH ORDINALITY AS k(attnum, opclass, n)
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                   JOIN pg_opclass oc ON oc.oid = k.opclass ORDER BY k.n) AS columns
      FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
      JOIN pg_am am ON am.oid = i.relam
      JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`);

    const expectedColumns: typeof columns = [];
    const expectedIndexes: typeof indexes = [];
    for (const model of dmmf.datamodel.models) {
      const table = model.dbName ?? model.name;
      const scalars = model.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum');
      for (const f of scalars) {
        expectedColumns.push({ table, column: f.dbName ?? f.name, type: expectedType(f), notnull: f.isRequired });
      }
    }
    for (const f of unsupportedFields(datamodel)) {
      const model = dmmf.datamodel.models.find((m) => m.name === f.model)!;
      expectedColumns.push({ table: model.dbName ?? model.name, column: f.name, type: f.type, notnull: !f.optional });
    }
    for (const index of dmmf.datamodel.indexes) {
      const model = dmmf.datamodel.models.find((m) => m.name === index.model)!;
      const table = model.dbName ?? model.name;
      const cols = index.fields.map(
        (f) => f.name + (f.sortOrder === 'desc' ? ' DESC' : '') + (f.operatorClass ? ` ${f.operatorClass}` : ''),
      );
      const name =
        index.dbName ??
        (index.type === 'id'
          ? `${table}_pkey`
          : `${table}_${index.fields.map((f) => f.name).join('_')}_${index.type === 'unique' ? 'key' : 'idx'}`);
      const method = (index.algorithm ?? 'BTree').toLowerCase();
      expectedIndexes.push({ table, name, method, columns: cols, unique: index.type !== 'normal', primary: index.type === 'id' });
    }
    const byKey = <T extends { table: string }>(k: (r: T) => string) => (a: T, b: T) => k(a).localeCompare(k(b));
    expect([...columns].sort(byKey((r) => `${r.table}.${r.column}`))).toEqual(
      expectedColumns.sort(byKey((r) => `${r.table}.${r.column}`)),
    );
    // Indexes schema.prisma cannot express (on an expression, or partial, or a GIN over enum
    // columns with btree_gin): each named here, and present.
    const unexpressible = new Set([
      'Team_name_lower_key', 'Team_isDefault_key', 'BusinessCalendar_name_lower_key', 'SlaPolicy_isDefault_key',
      'Ticket_status_urgency_search_idx',
    ]);
    expect(indexes.filter((r) => unexpressible.has(r.name)).map((r) => r.name).sort()).toEqual([...unexpressible].sort());
    expect([...indexes].filter((r) => !unexpressible.has(r.name)).sort(byKey((r) => r.name))).toEqual(
      expectedIndexes.sort(byKey((r) => r.name)),
    );
  });
});

describe('history', () => {
  it('is append-only: the database refuses UPDATE, DELETE and TRUNCATE', async () => {
    const tech = await buildUser(db);
    const ticket = await buildTicket(db, tech);
    const before = await db.pool.query(`SELECT * FROM "TicketHistory" WHERE "ticketId" = $1`, [ticket.id]);
    expect(before.rowCount).toBe(1);
    await expect(db.pool.query(`UPDATE "TicketHistory" SET "newValue" = 'forged' WHERE "ticketId" = $1`, [ticket.id])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM "TicketHistory" WHERE "ticketId" = $1`, [ticket.id])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`TRUNCATE "TicketHistory" CASCADE`)).rejects.toThrow(/append-only/);
    await db.pool.query(`INSERT INTO "UserHistory" (action, "userId") VALUES ('CREATED', $1)`, [tech.id]);
    await expect(db.pool.query(`UPDATE "UserHistory" SET "newValue" = 'forged'`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM "UserHistory"`)).rejects.toThrow(/append-only/);
    const after = await db.pool.query(`SELECT * FROM "TicketHistory" WHERE "ticketId" = $1`, [ticket.id]);
    expect(after.rows).toEqual(before.rows);
  });

  it('every history table (and article revisions) has the append-only triggers', async () => {
    const { rows } = await db.pool.query<{ table: string; update: boolean; del: boolean }>(`
      SELECT c.relname AS table, bool_or((t.tgtype & 16) <> 0) AS update, bool_or((t.tgtype & 8) <> 0) AS del
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
      WHERE p.proname = 'caseboard_refuse_history_change' AND NOT t.tgisinternal
      GROUP BY c.relname ORDER BY c.relname`);
    expect(rows).toEqual(
      [
        'ApiTokenHistory', 'ArticleHistory', 'ArticleRevision', 'AutomationRuleHistory', 'CustomerHistory', 'ErrorProjectHistory', 'OrganizationHistory', 'RunbookHistory', 'RunbookSecret',
        'RunbookStep', 'SlaEvent', 'SlaHistory', 'TeamHistory', 'TicketHistory', 'TicketRunbook', 'TicketRunbookStep', 'UserHistory',
        'WebhookAttempt', 'WebhookEndpointHistory',
      ].map((table) => ({
        table,
        update: true,
        del: true,
      })),
    );
  });
});
