// Sends webhook deliveries (src/services/webhooks/deliver.ts) from this process, and sweeps for
// deliveries whose job was lost (a process killed mid-send): every WEBHOOK_SWEEP_SECONDS and once
// at start, one sweep at a time across instances (an advisory lock in PostgreSQL). A timer rather
// than a pg-boss schedule: pg-boss's cron ticks by the minute, tests and small desks want seconds.
import type { Config } from '../config/env.js';
import type { Database } from '../db/client.js';
import { configureOutgoing } from '../services/outgoing/signed-request.js';
import { configureWebhookLinks } from '../services/webhooks/handler.js';
import { configureWebhooks, deliverWebhook, sweepWebhookDeliveries } from '../services/webhooks/deliver.js';
import { startWorker, WEBHOOK_QUEUE, type JobRunner } from './queue.js';
import { logError, logInfo } from '../log.js';

export function configureWebhooksFrom(config: Config): void {
  configureOutgoing({ allowPrivate: config.AUTOMATION_ALLOW_PRIVATE, timeoutMs: config.AUTOMATION_TIMEOUT_MS });
  configureWebhooks({ maxAttempts: config.WEBHOOK_MAX_ATTEMPTS, retryBaseMs: config.WEBHOOK_RETRY_BASE_MS });
  configureWebhookLinks(config.PUBLIC_URL);
}

/** Starts the webhook worker and sweep (neither when their settings are 0). */
export async function startWebhookWorker(db: Database, config: Config): Promise<JobRunner> {
  configureWebhooksFrom(config);
  const runner =
    config.WEBHOOK_WORKER_CONCURRENCY === 0
      ? undefined
      : await startWorker(
          db.pool,
          WEBHOOK_QUEUE,
          async (data) => {
            const { deliveryId } = data as { deliveryId: number };
            await deliverWebhook(db, deliveryId);
          },
          // A burst of changes is a burst of deliveries: each worker takes the next at once.
          { concurrency: config.WEBHOOK_WORKER_CONCURRENCY, pollInterval: config.MAIL_POLL_MS, drain: true },
        );
  let timer: NodeJS.Timeout | undefined;
  let sweeping: Promise<unknown> = Promise.resolve();
  if (config.WEBHOOK_SWEEP_SECONDS > 0) {
    const sweep = () => {
      sweeping = sweepWebhookDeliveries(db).then(
        (n) => n > 0 && logInfo(`[webhooks] queued again ${n} deliveries whose job was lost`),
        (err: unknown) => logError('[webhooks] sweep failed:', (err as Error).message),
      );
    };
    sweep();
    timer = setInterval(sweep, config.WEBHOOK_SWEEP_SECONDS * 1000);
    timer.unref();
  }
  return {
    async stop() {
      clearInterval(timer);
      await sweeping;
      await runner?.stop();
    },
  };
}
