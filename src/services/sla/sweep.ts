// After a calendar or policy changed: every open ticket's due times recomputed, in batches of
// SWEEP_BATCH tickets, each batch a job of the SLA queue that queues the next one (so any instance
// may carry on after another stopped, and no request waits for it).
import type { Db } from '../../db/client.js';
import { SLA_QUEUE } from '../../jobs/queue.js';
import { recomputeSla } from './recompute.js';

export const SWEEP_BATCH = 500;

/** Queues a sweep from the ticket after `afterId` (a job row, as pg-boss's own send() writes it). */
export async function queueSlaSweep(db: Db, afterId = 0): Promise<void> {
  await db.$executeRaw`
    INSERT INTO pgboss.job (name, data, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, dead_letter, policy)
    SELECT q.name, jsonb_build_object('sweepAfter', ${afterId}::int),
           coalesce(q.retry_limit, 2), greatest(coalesce(q.retry_delay, 0), 1), coalesce(q.retry_backoff, false),
           coalesce(q.expire_seconds * interval '1 second', interval '15 minutes'),
           now() + coalesce(q.retention_minutes * interval '1 minute', interval '14 days'), q.dead_letter, q.policy
    FROM pgboss.queue q WHERE q.name = ${SLA_QUEUE}`;
}

/**
 * Recomputes one batch of open tickets after `afterId` (in id order) in one transaction; returns
 * the last id done, or null when none was left.
 */
export async function sweepSlaBatch(db: Db, afterId: number, batch = SWEEP_BATCH): Promise<number | null> {
  const rows = await db.$queryRaw<{ id: number }[]>`
    SELECT id FROM "Ticket"
    WHERE status IN ('NEW', 'OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER') AND id > ${afterId}::int
    ORDER BY id LIMIT ${batch}::int`;
  if (rows.length === 0) return null;
  await db.$transaction((tx) => recomputeSla(tx, rows.map((r) => r.id)), { timeout: 60_000 });
  return rows[rows.length - 1]!.id;
}

/** One sweep job: a batch, then the next batch queued (none when this one was the last). */
export async function runSlaSweepJob(db: Db, afterId: number): Promise<void> {
  const last = await sweepSlaBatch(db, afterId);
  if (last !== null) await queueSlaSweep(db, last);
}
