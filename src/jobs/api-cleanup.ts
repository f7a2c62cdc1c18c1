// The REST API's housekeeping as a pg-boss scheduled job (hourly): Idempotency-Keys older than
// 24 hours and rate-limit windows long over are deleted. Every instance keeps the schedule
// (pg-boss's cron monitor queues one job per tick across all of them); the "stately" queue runs
// one at a time.
import type pg from 'pg';
import PgBoss from 'pg-boss';
import type { Db } from '../db/client.js';
import { deleteOldIdempotencyKeys } from '../web/api/idempotency.js';
import { PostgresRateLimitStore } from '../web/middleware/pg-rate-limit.js';
import { logError, logInfo } from '../log.js';
import { API_CLEANUP_QUEUE, SCHEDULED_QUEUE_OPTIONS } from './queue.js';

/** Created with the other queues at migration (src/jobs/queue.ts); here only if it is missing. */
export { API_CLEANUP_QUEUE };

const through = (pool: pg.Pool): PgBoss.Db => ({ executeSql: (text, values) => pool.query(text, values) });

/** One cleanup: what the job does (tests call it directly). */
export async function cleanUpApi(db: Db, pool: pg.Pool): Promise<{ keys: number; windows: number }> {
  return { keys: await deleteOldIdempotencyKeys(db), windows: await PostgresRateLimitStore.deleteExpired(pool) };
}

export async function startApiCleanup(pool: pg.Pool, db: Db): Promise<{ stop(): Promise<void> }> {
  const boss = new PgBoss({ db: through(pool), migrate: false, supervise: true, schedule: true });
  boss.on('error', (err: Error) => logError('[api cleanup] queue error:', err.message));
  await boss.start();
  if (!(await boss.getQueue(API_CLEANUP_QUEUE))) {
    try {
      await boss.createQueue(API_CLEANUP_QUEUE, { name: API_CLEANUP_QUEUE, ...SCHEDULED_QUEUE_OPTIONS[API_CLEANUP_QUEUE] });
    } catch (err) {
      // Another instance created it at the same moment.
      if (!(await boss.getQueue(API_CLEANUP_QUEUE))) throw err;
    }
  }
  await boss.schedule(API_CLEANUP_QUEUE, '17 * * * *');
  await boss.work(API_CLEANUP_QUEUE, { batchSize: 1, pollingIntervalSeconds: 30 }, async () => {
    const done = await cleanUpApi(db, pool);
    if (done.keys || done.windows) logInfo(`[api cleanup] deleted ${done.keys} idempotency keys, ${done.windows} rate-limit windows`);
  });
  return {
    async stop() {
      await boss.stop({ graceful: true, close: false, timeout: 10_000 });
    },
  };
}
