// Puts email together from the configuration: signed Message-IDs, the transport, the outbox worker.
import { join } from 'node:path';
import type { Config } from '../config/env.js';
import type { Database } from '../db/client.js';
import { DIGEST_QUEUE, MAIL_QUEUE, startWorker, type JobRunner } from '../jobs/queue.js';
import { queueDigest } from '../services/notifications/digest.js';
import { domainOf, MessageIds } from './message-id.js';
import { sendQueuedMail, type MailSender } from './send-mail.js';
import { createMailTransport } from './transport.js';

export interface Mailer {
  ids: MessageIds;
  sender: MailSender;
  /** Starts sending queued mail, and staff digests, from this process (unless MAIL_WORKER_CONCURRENCY is 0). */
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

export function createMailer(db: Database, config: Config, secret: string): Mailer {
  const ids = new MessageIds(config.MAIL_SECRET ?? secret, domainOf(config.MAIL_FROM));
  const transport = createMailTransport({ smtpUrl: config.SMTP_URL, mailDir: join(config.DATA_DIR, 'mail') });
  const sender: MailSender = {
    pool: db.pool,
    transport,
    ids,
    from: config.MAIL_FROM,
    publicUrl: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, ''),
    accessLinkDays: config.ACCESS_LINK_DAYS,
  };
  let runner: JobRunner | undefined;
  let digests: JobRunner | undefined;
  return {
    ids,
    sender,
    async startWorker() {
      if (config.MAIL_WORKER_CONCURRENCY === 0) return;
      runner = await startWorker(
        db.pool,
        MAIL_QUEUE,
        async (data, job) => {
          const { mailId } = data as { mailId: number };
          await sendQueuedMail(sender, mailId, job.lastAttempt);
        },
        { concurrency: config.MAIL_WORKER_CONCURRENCY, pollInterval: config.MAIL_POLL_MS },
      );
      // Staff notification digests: each job writes one outbox row (sent by the workers above).
      digests = await startWorker(
        db.pool,
        DIGEST_QUEUE,
        async (data) => {
          const { userId } = data as { userId: number };
          await queueDigest(db.pool, userId);
        },
        { concurrency: 1, pollInterval: config.MAIL_POLL_MS },
      );
    },
    async stop() {
      await digests?.stop();
      await runner?.stop();
      transport.close();
    },
  };
}
