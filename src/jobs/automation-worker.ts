// Sends run book automations' requests (src/services/runbooks/automation.ts) from this process.
import type { Config } from '../config/env.js';
import type { Database } from '../db/client.js';
import { deliverAutomation } from '../services/runbooks/automation.js';
import { configureOutgoing } from '../services/outgoing/signed-request.js';
import { AUTOMATION_QUEUE, startWorker, type JobRunner } from './queue.js';

/** Starts the automation worker (none when AUTOMATION_WORKER_CONCURRENCY is 0). */
export async function startAutomationWorker(db: Database, config: Config): Promise<JobRunner | undefined> {
  const policy = { allowPrivate: config.AUTOMATION_ALLOW_PRIVATE, timeoutMs: config.AUTOMATION_TIMEOUT_MS };
  configureOutgoing(policy);
  if (config.AUTOMATION_WORKER_CONCURRENCY === 0) return undefined;
  return startWorker(
    db.pool,
    AUTOMATION_QUEUE,
    async (data, job) => {
      const { deliveryId } = data as { deliveryId: number };
      await deliverAutomation(db, deliveryId, job.lastAttempt, policy);
    },
    { concurrency: config.AUTOMATION_WORKER_CONCURRENCY, pollInterval: config.MAIL_POLL_MS },
  );
}
