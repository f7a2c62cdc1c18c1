// The job queue: pg-boss on the app's own PostgreSQL (no other service to run).
// Jobs are queued by SQL inside the transaction that needs them (the OutboundMail trigger inserts
// into pg-boss's job table as its own send() does), taken with FOR UPDATE SKIP LOCKED (several
// instances never run one job at the same time), retried with exponential backoff when their
// handler throws, and expired back to the queue by pg-boss's maintenance when a process died
// while running one.
import type pg from 'pg';
import PgBoss from 'pg-boss';
import { logError } from '../log.js';

/** The queue of outgoing mails; its settings are read by the outbox trigger too. */
export const MAIL_QUEUE = 'send_mail';

const MAIL_QUEUE_OPTIONS: Omit<PgBoss.Queue, 'name'> = {
  // 12 attempts, 2 s, 4 s, 8 s, … apart (about 2 hours in all), then the mail is marked FAILED.
  retryLimit: 11,
  retryDelay: 2,
  retryBackoff: true,
  // A send that has not finished in 5 minutes (its process died) is retried.
  expireInSeconds: 300,
  retentionMinutes: 14 * 24 * 60,
};

/**
 * Staff notification digests: one job per person with mail pending, queued by a trigger on
 * "Notification" (migration 20261207060000_notifications) to start 60 s after the first notice of
 * a burst. Policy "short": at most one waiting job per singleton key (the person), so the rest of
 * the burst joins it. A failed digest is retried a few times; the mail itself is then an outbox
 * row with the mail queue's own retries.
 */
export const DIGEST_QUEUE = 'notification_digest';

const DIGEST_QUEUE_OPTIONS: Omit<PgBoss.Queue, 'name'> = {
  policy: 'short',
  retryLimit: 5,
  retryDelay: 5,
  retryBackoff: true,
  expireInSeconds: 300,
  retentionMinutes: 24 * 60,
};

/**
 * SLA checks: a job per ticket for the moment its next warning or breach is due, queued by a
 * trigger on "Ticket" when that moment is set or moves (migration 20261207100000_sla); a job for a
 * moment that has moved since does nothing (src/services/sla/timer.ts).
 */
export const SLA_QUEUE = 'sla_timer';

const SLA_QUEUE_OPTIONS: Omit<PgBoss.Queue, 'name'> = {
  retryLimit: 5,
  retryDelay: 5,
  retryBackoff: true,
  expireInSeconds: 300,
  retentionMinutes: 24 * 60,
};

/**
 * Run book automations: one job per AutomationDelivery row, queued by its trigger (migration
 * 20261207120000_runbooks). 6 attempts, 2 s, 4 s, 8 s, 16 s, 32 s apart (about a minute in all),
 * then the delivery is marked FAILED on the ticket. A request takes at most its timeout (10 s by
 * default): one whose process died expires back to the queue after 2 minutes.
 */
export const AUTOMATION_QUEUE = 'runbook_automation';

const AUTOMATION_QUEUE_OPTIONS: Omit<PgBoss.Queue, 'name'> = {
  retryLimit: 5,
  retryDelay: 2,
  retryBackoff: true,
  expireInSeconds: 120,
  retentionMinutes: 14 * 24 * 60,
};

/**
 * Webhook deliveries: one job per attempt, queued by the WebhookDelivery trigger (migration
 * 20261208020000_webhooks) and, for a retry, by the attempt that failed (with its backoff as the
 * job's start). pg-boss never retries these jobs itself: the delivery row keeps the count, and the
 * sweep (src/jobs/webhook-worker.ts) queues again a due delivery whose job was lost.
 */
export const WEBHOOK_QUEUE = 'webhook_delivery';

const WEBHOOK_QUEUE_OPTIONS: Omit<PgBoss.Queue, 'name'> = {
  retryLimit: 0,
  expireInSeconds: 120,
  retentionMinutes: 7 * 24 * 60,
};

/**
 * The scheduled jobs' queues (src/jobs/automation.ts, api-cleanup.ts, error-retention.ts): "stately", one
 * run at a time across instances. Created here, under the migrator's lock, rather than by each
 * instance as it starts: two instances creating one at the same moment deadlocked in pg-boss's
 * createQueue (seen in tests/faults/scale-out.test.ts).
 */
export const AUTOMATION_SWEEP_QUEUE = 'automation_sweep';
export const API_CLEANUP_QUEUE = 'api_cleanup';
export const ERROR_RETENTION_QUEUE = 'error_event_retention';
export const SCHEDULED_QUEUE_OPTIONS: Record<string, Omit<PgBoss.Queue, 'name'>> = {
  // A sweep that has not finished in 30 minutes (its process died) may run again.
  [AUTOMATION_SWEEP_QUEUE]: { policy: 'stately', retryLimit: 0, expireInSeconds: 1800, retentionMinutes: 24 * 60 },
  [API_CLEANUP_QUEUE]: { policy: 'stately', retryLimit: 0, expireInSeconds: 600, retentionMinutes: 24 * 60 },
  [ERROR_RETENTION_QUEUE]: { policy: 'stately', retryLimit: 0, expireInSeconds: 1800, retentionMinutes: 24 * 60 },
};

/** pg-boss runs its SQL through the app's pool (one pool, one place that knows the database). */
const through = (pool: pg.Pool): PgBoss.Db => ({
  executeSql: (text, values) => pool.query(text, values),
});

/** Creates or updates pg-boss's schema (it keeps its own migrations and lock) and the queues. */
export async function installJobQueue(pool: pg.Pool): Promise<void> {
  const boss = new PgBoss({ db: through(pool), migrate: true, supervise: false, schedule: false });
  boss.on('error', (err: Error) => logError('[jobs] error:', err.message));
  await boss.start();
  try {
    if (!(await boss.getQueue(MAIL_QUEUE))) await boss.createQueue(MAIL_QUEUE, { name: MAIL_QUEUE, ...MAIL_QUEUE_OPTIONS });
    if (!(await boss.getQueue(DIGEST_QUEUE))) await boss.createQueue(DIGEST_QUEUE, { name: DIGEST_QUEUE, ...DIGEST_QUEUE_OPTIONS });
    if (!(await boss.getQueue(SLA_QUEUE))) await boss.createQueue(SLA_QUEUE, { name: SLA_QUEUE, ...SLA_QUEUE_OPTIONS });
    if (!(await boss.getQueue(AUTOMATION_QUEUE))) await boss.createQueue(AUTOMATION_QUEUE, { name: AUTOMATION_QUEUE, ...AUTOMATION_QUEUE_OPTIONS });
    if (!(await boss.getQueue(WEBHOOK_QUEUE))) await boss.createQueue(WEBHOOK_QUEUE, { name: WEBHOOK_QUEUE, ...WEBHOOK_QUEUE_OPTIONS });
    for (const [name, options] of Object.entries(SCHEDULED_QUEUE_OPTIONS)) {
      if (!(await boss.getQueue(name))) await boss.createQueue(name, { name, ...options });
    }
  } finally {
    await boss.stop({ graceful: false, close: false });
  }
}

export interface WorkerOptions {
  /** Jobs run at once in this process. */
  concurrency: number;
  pollInterval: number;
  /** After a job, look for the next one at once (not after pollInterval): a backlog drains at full speed. */
  drain?: boolean;
}

export interface JobRunner {
  stop(): Promise<void>;
}

export interface JobContext {
  /** This is the last attempt: a failure now is final. */
  lastAttempt: boolean;
}

/** Runs the queue's jobs in this process until stop() (which lets running jobs finish). */
export async function startWorker(
  pool: pg.Pool,
  queue: string,
  handler: (data: unknown, job: JobContext) => Promise<void>,
  opts: WorkerOptions,
): Promise<JobRunner> {
  const boss = new PgBoss({ db: through(pool), migrate: false, supervise: true, schedule: false });
  // Polling and maintenance errors (the database restarting, say) are reported, never thrown:
  // the workers keep polling and carry on once the database is back.
  boss.on('error', (err: Error) => logError('[jobs] error:', err.message));
  await boss.start();
  const pollingIntervalSeconds = Math.max(0.5, opts.pollInterval / 1000);
  for (let i = 0; i < opts.concurrency; i++) {
    let workerId = '';
    workerId = await boss.work<unknown>(queue, { batchSize: 1, includeMetadata: true, pollingIntervalSeconds }, async ([job]) => {
      if (!job) return;
      try {
        await handler(job.data, { lastAttempt: job.retryCount >= job.retryLimit });
      } finally {
        if (opts.drain) boss.notifyWorker(workerId);
      }
    });
  }
  return {
    async stop() {
      await boss.stop({ graceful: true, close: false, timeout: 10_000 });
    },
  };
}
