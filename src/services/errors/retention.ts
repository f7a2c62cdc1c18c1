// Retention of reported errors: kept events (stack traces, breadcrumbs, user context) older than
// ERROR_EVENTS_RETENTION_DAYS are deleted, in batches (no long lock, no huge transaction); the
// problems' counters, first/last seen and releases stay. Throttle windows older than an hour go too.
import type { Db } from '../../db/client.js';

const BATCH = 5000;

export async function pruneErrorEvents(db: Db, days: number, now = new Date()): Promise<number> {
  const before = new Date(now.getTime() - days * 86_400_000);
  let deleted = 0;
  for (;;) {
    const n = await db.$executeRaw`
      DELETE FROM "ErrorEvent" WHERE id IN (SELECT id FROM "ErrorEvent" WHERE "receivedAt" < ${before} LIMIT ${BATCH})`;
    deleted += n;
    if (n < BATCH) break;
  }
  await db.$executeRaw`DELETE FROM "ErrorRateWindow" WHERE "windowStart" < ${new Date(now.getTime() - 3600_000)}`;
  return deleted;
}
