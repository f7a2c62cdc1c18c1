// Settings kept for seconds per process (src/services/kept.ts: SLA settings and calendars, the
// active rules, macros, published run books) are read by pages and by transactions alike. A
// transaction must never wait for a read running on another connection, nor a page for one
// running inside a transaction: with every pooled connection held by transactions waiting for a
// read that waits for a connection, everything stalled until Prisma's 30 s transaction timeout
// (CI, PostgreSQL server: a customer's reply while the queue loaded). Here the pool has one
// connection, so that the stall is certain without the rule.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase, isTransactionClient, type Database, type Db, type Tx } from '../../src/db/client.js';
import { keptFor } from '../../src/services/kept.js';
import { activeRules, invalidateRulesCache } from '../../src/services/automation/rules.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

let db: TestDatabase;
/** A second client on the same database with a pool of one connection. */
let one: Database;

beforeAll(async () => {
  db = await createTestDatabase();
  one = connectDatabase(db.url, 1, { namedStatements: inject('testDb').mode === 'server' });
}, 60_000);
afterAll(async () => {
  await one?.close();
  await db?.close();
});

const readOne = async (d: Db | Tx): Promise<number> => {
  const [row] = await d.$queryRaw<{ n: number }[]>`SELECT 1::int AS n`;
  return row!.n;
};

describe('settings kept for seconds', () => {
  it('tells a transaction’s client from a root client', async () => {
    expect(isTransactionClient(one.prisma)).toBe(false);
    await one.prisma.$transaction(async (tx) => {
      expect(isTransactionClient(tx)).toBe(true);
    });
  });

  it('a transaction does not wait for a page’s read that waits for the connection it holds', async () => {
    const kept = keptFor(10_000, readOne);
    let outside: Promise<number> | undefined;
    const inside = await one.prisma.$transaction(
      async (tx) => {
        // A page asks meanwhile: its read needs the pool's only connection, which this transaction holds.
        outside = kept.get(one.prisma);
        return kept.get(tx);
      },
      { timeout: 3_000, maxWait: 3_000 },
    );
    expect(inside).toBe(1);
    expect(await outside).toBe(1);
  });

  it('the active rules: a change’s transaction reads them itself while a page’s read waits', async () => {
    invalidateRulesCache();
    let outside: Promise<unknown> | undefined;
    const inside = await one.prisma.$transaction(
      async (tx) => {
        outside = activeRules(one.prisma);
        return activeRules(tx);
      },
      { timeout: 3_000, maxWait: 3_000 },
    );
    expect(inside.rules).toEqual([]);
    await expect(outside).resolves.toMatchObject({ rules: [] });
  });

  it('a page never gets a read made inside a transaction that then rolled back', async () => {
    const kept = keptFor(10_000, async (d: Db | Tx) => {
      const [row] = await d.$queryRaw<{ n: number }[]>`SELECT 2::int AS n FROM pg_sleep(0.2)`;
      return row!.n;
    });
    let fromPage: Promise<number> | undefined;
    await expect(
      db.prisma.$transaction(async (tx) => {
        void kept.get(tx).catch(() => undefined);
        // The page asks while the transaction's read runs; the transaction then fails.
        fromPage = kept.get(db.prisma);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await fromPage).toBe(2);
  });

  it('keeps what a transaction read once it is read, and drop() forgets it', async () => {
    let loads = 0;
    const kept = keptFor(10_000, async (d: Db | Tx) => {
      loads++;
      return readOne(d);
    });
    await db.prisma.$transaction((tx) => kept.get(tx));
    expect(await kept.get(db.prisma)).toBe(1);
    expect(loads).toBe(1);
    kept.drop();
    expect(await kept.get(db.prisma)).toBe(1);
    expect(loads).toBe(2);
  });
});
