// Several instances on one PostgreSQL (issue 14): throttles counted in the database, and caches
// kept per process dropped when another instance (here: another writer on its own connection,
// which calls none of this process's invalidate… functions) changes what they copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildUser } from '../helpers/factories.js';
import { csrfOf, testApp } from '../helpers/http.js';
import { liveHubOf } from '../../src/app.js';
import { shareCaches } from '../../src/web/cache-sync.js';
import { listTeams } from '../../src/services/teams/teams.js';
import { listAssignableUsers } from '../../src/services/users/list-users.js';
import { organizationNames } from '../../src/services/organizations/read-organizations.js';
import type { Actor } from '../../src/services/context.js';
import { connectDatabase } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { createLiveFeed } from '../../src/services/live/feed.js';
import { ConfigError, loadConfig } from '../../src/config/env.js';

let db: TestDatabase;
let a: Express;
let b: Express;
let admin: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  a = testApp(db, { LOGIN_MAX_ATTEMPTS: '3' });
  b = testApp(db, { LOGIN_MAX_ATTEMPTS: '3' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
});
afterAll(async () => {
  await liveHubOf(a)?.stop();
  await liveHubOf(b)?.stop();
  await db?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `seen` holds; the milliseconds it took (or fails after `within`). */
async function seenWithin(within: number, seen: () => Promise<boolean>): Promise<number> {
  const began = Date.now();
  while (Date.now() - began < within) {
    if (await seen()) return Date.now() - began;
    await sleep(25);
  }
  throw new Error(`not seen within ${within} ms`);
}

describe('throttles shared by every instance', () => {
  it('counts failed sign-ins made on either instance together', async () => {
    const victim = await buildUser(db);
    const attempt = async (app: Express, password: string) => {
      const agent = request.agent(app);
      const token = csrfOf((await agent.get('/login')).text);
      return agent.post('/login').type('form').send({ email: victim.email, password, _csrf: token });
    };
    expect((await attempt(a, 'guess 1')).status).toBe(401);
    expect((await attempt(b, 'guess 2')).status).toBe(401);
    expect((await attempt(a, 'guess 3')).status).toBe(401);
    // Three failures in all: the fourth is refused on either instance (per process, each had seen fewer).
    expect((await attempt(b, 'guess 4')).status).toBe(429);
    expect((await attempt(a, 'guess 5')).status).toBe(429);
    const { rows } = await db.pool.query(`SELECT key, hits FROM "ApiRateLimit" WHERE key LIKE 'login:%'`);
    expect(rows).toHaveLength(1);
  });

  it('keeps a long key (an address and a 254-character email) within the column, as its hash', async () => {
    const email = `${'x'.repeat(240)}@example.com`;
    const agent = request.agent(a);
    const token = csrfOf((await agent.get('/login')).text);
    await agent.post('/login').type('form').send({ email, password: 'nope', _csrf: token }).expect(401);
    const { rows } = await db.pool.query<{ key: string }>(`SELECT key FROM "ApiRateLimit" WHERE key LIKE 'login:#%'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.key).toMatch(/^login:#[0-9a-f]{64}$/);
  });
});

// The embedded PGlite is one instance (LISTEN does not work there): its caches stay local.
describe.skipIf(!process.env.DATABASE_URL)('caches dropped across instances (LISTEN/NOTIFY on a server)', () => {
  beforeAll(async () => {
    await shareCaches(liveHubOf(a));
    await shareCaches(liveHubOf(b));
  });

  it('sees a team renamed by another instance within a second', async () => {
    const ctx = as(db, admin);
    const [team] = await listTeams(ctx);
    expect(team).toBeDefined();
    // Another writer: no invalidateTeamsCache() in this process, only the database's notice.
    await db.pool.query(`UPDATE "Team" SET name = 'Renamed elsewhere' WHERE id = $1`, [team!.id]);
    const ms = await seenWithin(1000, async () => (await listTeams(ctx)).some((t) => t.name === 'Renamed elsewhere'));
    expect(ms).toBeLessThan(1000);
  });

  it('sees a person deactivated elsewhere leave the assignable staff within a second', async () => {
    const ctx = as(db, admin);
    const leaving = await buildUser(db, { name: 'Leaving Soon' });
    await sleep(300); // the creation's own notice has come and gone
    expect((await listAssignableUsers(ctx)).some((u) => u.id === leaving.id)).toBe(true);
    await db.pool.query(`UPDATE "User" SET active = false WHERE id = $1`, [leaving.id]);
    await seenWithin(1000, async () => !(await listAssignableUsers(ctx)).some((u) => u.id === leaving.id));
  });

  it('sees an organization added or renamed elsewhere in the forms\' suggestions within a second (kept a minute otherwise)', async () => {
    const ctx = as(db, admin);
    const before = await organizationNames(ctx);
    expect(before).not.toContain('Added Elsewhere Ltd');
    await db.pool.query(`INSERT INTO "Organization" (name, "nameKey", "updatedAt") VALUES ('Added Elsewhere Ltd', 'added elsewhere ltd', now())`);
    await seenWithin(1000, async () => (await organizationNames(ctx)).includes('Added Elsewhere Ltd'));
    await db.pool.query(`UPDATE "Organization" SET name = 'Renamed Elsewhere Ltd', "nameKey" = 'renamed elsewhere ltd' WHERE name = 'Added Elsewhere Ltd'`);
    await seenWithin(1000, async () => (await organizationNames(ctx)).includes('Renamed Elsewhere Ltd'));
  });
});

describe.skipIf(!process.env.DATABASE_URL)('DATABASE_DIRECT_URL (behind a transaction-pooling PgBouncer)', () => {
  it('is what the LISTEN connection uses; the pool keeps DATABASE_URL', async () => {
    const direct = new URL(db.url);
    direct.searchParams.set('application_name', 'caseboard_direct');
    const app = testApp(db, { DATABASE_URL: db.url, DATABASE_DIRECT_URL: direct.toString() });
    try {
      await shareCaches(liveHubOf(app));
      const { rows } = await db.pool.query<{ query: string }>(
        `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'caseboard_direct'`,
      );
      expect(rows.map((r) => r.query)).toEqual(['LISTEN caseboard_ticket']);
    } finally {
      await liveHubOf(app).stop();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('DATABASE_PREPARED_STATEMENTS=false (PgBouncer before 1.21, transaction pooling)', () => {
  it('prepares no named statement, and still LISTENs (a server, not the embedded database)', async () => {
    for (const named of [true, false]) {
      const one = connectDatabase(db.url, 1, { namedStatements: named, sharedSession: false });
      try {
        expect(createLiveFeed(one).mode).toBe('notify');
        expect(await one.prisma.user.count({ where: { role: 'ADMIN' } })).toBeGreaterThan(0);
        const { rows } = await one.pool.query(`SELECT name FROM pg_prepared_statements`);
        if (named) expect(rows.length).toBeGreaterThan(0);
        else expect(rows).toEqual([]);
      } finally {
        await one.close();
      }
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('instances started at the same moment on an empty database', () => {
  it('migrate one at a time: every migration applied once, the job queue installed once, both start', async () => {
    const empty = await createTestDatabase({ empty: true });
    const one = connectDatabase(empty.url, 5);
    const two = connectDatabase(empty.url, 5);
    try {
      const [first, second] = await Promise.all([migrate(one.pool), migrate(two.pool)]);
      // One of them applied everything, the other found it done.
      expect([first.length, second.length].sort((x, y) => x - y)[0]).toBe(0);
      const { rows } = await empty.pool.query(`SELECT migration_name FROM "_prisma_migrations" GROUP BY 1 HAVING count(*) > 1`);
      expect(rows).toEqual([]);
      const queues = await empty.pool.query(`SELECT name FROM pgboss.queue`);
      expect(queues.rowCount).toBeGreaterThan(0);
    } finally {
      await one.close();
      await two.close();
      await empty.close();
    }
  });
});

describe('WEB_CONCURRENCY', () => {
  it('is 1 by default (no fork), and more than 1 needs a PostgreSQL server (the embedded one is one process)', () => {
    expect(loadConfig({}).WEB_CONCURRENCY).toBe(1);
    expect(loadConfig({ WEB_CONCURRENCY: '4', DATABASE_URL: 'postgresql://h/db' }).WEB_CONCURRENCY).toBe(4);
    expect(() => loadConfig({ WEB_CONCURRENCY: '2' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEB_CONCURRENCY: '0', DATABASE_URL: 'postgresql://h/db' })).toThrow(/WEB_CONCURRENCY/);
  });
});
