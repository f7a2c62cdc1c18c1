// The job queue: graphile-worker on the app's own PostgreSQL (no other service to run).
// Jobs are queued by SQL inside the transaction that needs them (see the OutboundMail trigger),
// taken with FOR UPDATE SKIP LOCKED (several instances never run one job twice), and retried
// with exponential backoff when their task throws.
import type pg from 'pg';
import { Logger, run, runMigrations, type Runner, type TaskList } from 'graphile-worker';

/** graphile-worker's own chatter stays quiet; warnings and errors reach the log. */
const logger = new Logger((scope) => (level, message) => {
  if (level === 'error' || level === 'warning') {
    console.error(`[jobs] ${level}${scope.taskIdentifier ? ` (${scope.taskIdentifier})` : ''}: ${message}`);
  }
});

/** Creates or updates graphile-worker's schema (it keeps its own migrations and lock). */
export async function installJobQueue(pool: pg.Pool): Promise<void> {
  await runMigrations({ pgPool: pool, logger });
}

export interface WorkerOptions {
  concurrency: number;
  pollInterval: number;
  /** Off for the embedded PGlite, whose connections share one session. */
  preparedStatements: boolean;
}

/** Runs the tasks' jobs in this process until stop() (which waits for running jobs). */
export function startWorker(pool: pg.Pool, taskList: TaskList, opts: WorkerOptions): Promise<Runner> {
  return run({
    pgPool: pool,
    taskList,
    concurrency: opts.concurrency,
    pollInterval: opts.pollInterval,
    noPreparedStatements: !opts.preparedStatements,
    noHandleSignals: true,
    crontab: '',
    logger,
  });
}
