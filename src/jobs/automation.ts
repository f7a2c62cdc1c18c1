// The time-based automation rules' sweep (services/automation/sweep.ts) as a pg-boss scheduled
// job: every instance keeps the schedule (pg-boss's cron monitor queues one job per tick across
// all of them), and the queue's "stately" policy lets at most one sweep run at a time (and one
// wait), so several instances never run one sweep twice at once.
import type pg from 'pg';
import PgBoss from 'pg-boss';
import type { Db } from '../db/client.js';
import { runRuleSweep } from '../services/automation/sweep.js';
import { logError, logInfo } from '../log.js';
import { AUTOMATION_SWEEP_QUEUE, SCHEDULED_QUEUE_OPTIONS } from './queue.js';

/** Created with the other queues at migration (src/jobs/queue.ts); here only if it is missing. */
export const AUTOMATION_QUEUE = AUTOMATION_SWEEP_QUEUE;

const through = (pool: pg.Pool): PgBoss.Db => ({ executeSql: (text, values) => pool.query(text, values) });

export interface AutomationSweeps {
  stop(): Promise<void>;
}

/**
 * Schedules the sweep every `minutes` minutes and runs it in this process (0: this process
 * neither schedules nor runs it, e.g. web-only instances).
 */
export async function startAutomationSweeps(pool: pg.Pool, db: Db, minutes: number): Promise<AutomationSweeps | null> {
  if (minutes === 0) return null;
  const boss = new PgBoss({ db: through(pool), migrate: false, supervise: true, schedule: true });
  boss.on('error', (err: Error) => logError('[automation] queue error:', err.message));
  await boss.start();
  if (!(await boss.getQueue(AUTOMATION_QUEUE))) {
    try {
      await boss.createQueue(AUTOMATION_QUEUE, { name: AUTOMATION_QUEUE, ...SCHEDULED_QUEUE_OPTIONS[AUTOMATION_QUEUE] });
    } catch (err) {
      // Another instance created it at the same moment.
      if (!(await boss.getQueue(AUTOMATION_QUEUE))) throw err;
    }
  }
  await boss.schedule(AUTOMATION_QUEUE, minutes === 60 ? '0 * * * *' : `*/${minutes} * * * *`);
  await boss.work(AUTOMATION_QUEUE, { batchSize: 1, pollingIntervalSeconds: 10 }, async () => {
    const result = await runRuleSweep(db);
    if (result.fired || result.failed) logInfo(`[automation] sweep: ${result.examined} tickets looked at, ${result.fired} rule firings, ${result.failed} failed`);
  });
  return {
    async stop() {
      await boss.stop({ graceful: true, close: false, timeout: 10_000 });
    },
  };
}
