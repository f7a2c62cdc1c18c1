// The retention of reported errors (services/errors/retention.ts) as a pg-boss scheduled job, once
// an hour: every instance keeps the schedule, one job per tick runs ("stately": never two at once).
import type pg from 'pg';
import PgBoss from 'pg-boss';
import type { Db } from '../db/client.js';
import { pruneErrorEvents } from '../services/errors/retention.js';
import { logError, logInfo } from '../log.js';

import { ERROR_RETENTION_QUEUE, SCHEDULED_QUEUE_OPTIONS } from './queue.js';

export { ERROR_RETENTION_QUEUE };

const through = (pool: pg.Pool): PgBoss.Db => ({ executeSql: (text, values) => pool.query(text, values) });

export async function startErrorRetention(pool: pg.Pool, db: Db, days: number): Promise<{ stop(): Promise<void> }> {
  const boss = new PgBoss({ db: through(pool), migrate: false, supervise: true, schedule: true });
  boss.on('error', (err: Error) => logError('[errors] queue error:', err.message));
  await boss.start();
  if (!(await boss.getQueue(ERROR_RETENTION_QUEUE))) {
    try {
      // Normally made by installJobQueue under the migrator's lock (two instances creating it at
      // once deadlocked); here for a database whose queues were installed before it existed.
      await boss.createQueue(ERROR_RETENTION_QUEUE, { name: ERROR_RETENTION_QUEUE, ...SCHEDULED_QUEUE_OPTIONS[ERROR_RETENTION_QUEUE] });
    } catch (err) {
      if (!(await boss.getQueue(ERROR_RETENTION_QUEUE))) throw err;
    }
  }
  await boss.schedule(ERROR_RETENTION_QUEUE, '17 * * * *');
  await boss.work(ERROR_RETENTION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 30 }, async () => {
    const n = await pruneErrorEvents(db, days);
    if (n) logInfo(`[errors] deleted ${n} error events older than ${days} days`);
  });
  return {
    async stop() {
      await boss.stop({ graceful: true, close: false, timeout: 10_000 });
    },
  };
}
