import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { startEmbeddedDatabase } from '../../src/db/embedded.js';

export interface TestDatabase extends Database {
  url: string;
}

/**
 * A fresh, migrated (or, with `empty`, unmigrated) database of this test file's own: a clone of the run's template on the
 * PostgreSQL server (DATABASE_URL), or an embedded PGlite loaded from the template's dump.
 * close() drops it.
 */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
  const cfg = inject('testDb');
  if (cfg.mode === 'server') {
    const name = `caseboard_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: cfg.adminUrl });
    await admin.connect();
    await admin.query(opts.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${cfg.template}`);
    await admin.end();
    const u = new URL(cfg.adminUrl);
    u.pathname = `/${name}`;
    const db = connectDatabase(u.toString(), 10);
    return {
      ...db,
      url: u.toString(),
      async close() {
        await db.close();
        const c = new pg.Client({ connectionString: cfg.adminUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const embedded = await startEmbeddedDatabase(
    opts.empty ? {} : { loadDataDir: new Blob([readFileSync(cfg.dumpFile)]) },
  );
  const db = connectDatabase(embedded.url, 10, { namedStatements: false });
  return {
    ...db,
    url: embedded.url,
    async close() {
      await db.close();
      await embedded.stop();
    },
  };
}

/** Row counts of the tables a change can touch: compare before and after to prove nothing was written. */
export async function countRows(db: Database): Promise<Record<string, number>> {
  const tables = [
    'Ticket', 'TicketHistory', 'WorkLogEntry', 'Customer', 'CustomerHistory', 'User', 'UserHistory',
    'Article', 'ArticleRevision', 'ArticleHistory', 'TicketArticle', 'OutboundMail', 'TicketAccessToken', 'InboundMail',
    'Attachment', 'FileContent', 'Team', 'TeamMember', 'TeamHistory', 'TicketFollower', 'Notification', 'NotificationPreference',
    'Organization', 'OrganizationDomain', 'OrganizationHistory', 'SavedView',
    'BusinessCalendar', 'CalendarHoliday', 'SlaPolicy', 'SlaTarget', 'SlaEvent', 'SlaHistory',
    'AutomationRule', 'AutomationRuleHistory', 'AutomationRuleLog', 'AutomationRuleFiring', 'Macro', 'CannedReply',
    'Runbook', 'RunbookVersion', 'RunbookStep', 'RunbookSecret', 'RunbookHistory', 'TicketRunbook', 'TicketRunbookStep', 'AutomationDelivery',
    'WebhookEndpoint', 'WebhookEndpointHistory', 'WebhookDelivery', 'WebhookAttempt',
    // The REST API (ApiRateLimit holds request counters, not records: left out).
    'ApiToken', 'ApiTokenHistory', 'ApiIdempotencyKey',
    'ErrorProject', 'ErrorProjectHistory', 'ErrorProblem', 'ErrorEvent', 'ErrorRateWindow',
  ];
  const { rows } = await db.pool.query<{ t: string; n: number }>(
    tables.map((t) => `SELECT '${t}' AS t, count(*)::int AS n FROM "${t}"`).join(' UNION ALL '),
  );
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}
