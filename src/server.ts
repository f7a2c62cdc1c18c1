// Starts Caseboard: configuration, database (migrated), first admin, then the web server.
import { ConfigError, loadConfig } from './config/env.js';
import { sessionSecret } from './config/secret.js';
import { backfillEmailSkeletons } from './db/backfill-skeletons.js';
import { sweepStagedFiles } from './services/attachments/store.js';
import { migrate, MigrationError } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { setPasswordCost } from './services/passwords.js';
import { bootstrapAdmin } from './services/users/bootstrap-admin.js';
import { createApp, liveHubOf } from './app.js';
import { shareCaches } from './web/cache-sync.js';
import { runClusterPrimary } from './cluster.js';
import { createMailer } from './mail/mailer.js';
import { startAutomationSweeps } from './jobs/automation.js';
import { startAutomationWorker } from './jobs/automation-worker.js';
import { startWebhookWorker } from './jobs/webhook-worker.js';
import { startApiCleanup } from './jobs/api-cleanup.js';
import { startInboundSmtp, type InboundSmtp } from './mail/inbound-smtp.js';
import { isDatabaseUnavailable } from './db/client.js';
import { startSlaTimer } from './services/sla/timer.js';

// Background database work (the job queue's polling and bookkeeping) can fail while PostgreSQL is
// restarting; if a library leaves such a rejection unhandled, Node would end the whole app. A
// database that is away is no reason to die (a job that was running expires back to the queue:
// the mail is late, not lost, and sendQueuedMail never sends a mail twice once it is marked sent).
// Anything else still stops the process, as Node would.
process.on('unhandledRejection', (reason) => {
  if (isDatabaseUnavailable(reason)) {
    console.error('[caseboard] background database work failed while the database was away:', (reason as Error).message);
    return;
  }
  console.error('[caseboard] unhandled rejection:', reason);
  process.exit(1);
});

async function main() {
  const config = loadConfig();
  // WEB_CONCURRENCY > 1: this process only forks and supervises the workers (src/cluster.ts).
  if (await runClusterPrimary(config)) return;
  setPasswordCost(config.PASSWORD_COST_LOG2);
  const db = await openDatabase(config);
  console.log(`[caseboard] database: ${db.description}`);
  const applied = await migrate(db.pool, undefined, { directUrl: config.DATABASE_URL ? config.DATABASE_DIRECT_URL : undefined });
  if (applied.length) console.log(`[caseboard] applied migrations: ${applied.join(', ')}`);

  const admin = await bootstrapAdmin(db.prisma, {
    email: config.ADMIN_EMAIL,
    password: config.ADMIN_PASSWORD,
    name: config.ADMIN_NAME,
  });
  if (admin?.generatedPassword) {
    console.log(`[caseboard] first start: created admin ${admin.email} with password ${admin.generatedPassword}`);
    console.log('[caseboard] (shown only this once: sign in and change it under Admin → Users)');
  } else if (admin) {
    console.log(`[caseboard] first start: created admin ${admin.email} from ADMIN_EMAIL/ADMIN_PASSWORD`);
  }

  const { secret, generated } = sessionSecret(config.SESSION_SECRET, config.DATA_DIR);
  if (generated) console.log(`[caseboard] no SESSION_SECRET set: generated one in ${config.DATA_DIR}/session-secret`);

  // Mail: the outbox worker sends what committed changes queued (SMTP_URL, or .eml files).
  const mailer = createMailer(db, config, secret);
  await mailer.startWorker();
  console.log(
    `[caseboard] mail: ${config.SMTP_URL ? `SMTP ${new URL(config.SMTP_URL).host}` : `.eml files in ${config.DATA_DIR}/mail`}` +
      (config.MAIL_WORKER_CONCURRENCY === 0 ? ' (sending off in this process)' : ''),
  );

  // SLA warnings and breaches: jobs queued for each ticket's next due moment (src/services/sla/timer.ts).
  const slaTimer = config.SLA_POLL_MS > 0 ? await startSlaTimer(db, { pollInterval: config.SLA_POLL_MS }) : undefined;
  // Time-based automation rules ("no update for N hours"): a scheduled sweep, one at a time across instances.
  const automation = await startAutomationSweeps(db.pool, db.prisma, config.AUTOMATION_SWEEP_MINUTES);
  // Run book automations: signed requests that committed step completions queued.
  const automations = await startAutomationWorker(db, config);
  // Webhooks: signed deliveries that committed ticket changes queued, with retries, and the sweep.
  const webhooks = await startWebhookWorker(db, config);
  // The REST API's Idempotency-Keys (kept 24 h) and spent rate-limit windows: an hourly job.
  const apiCleanup = await startApiCleanup(db.pool, db.prisma);

  // Mail in: an SMTP listener the organisation's mail server delivers support mail to.
  let inbound: InboundSmtp | undefined;
  if (config.INBOUND_SMTP_PORT !== undefined) {
    inbound = await startInboundSmtp({ db, ids: mailer.ids, config });
    console.log(`[caseboard] inbound mail: SMTP on ${config.INBOUND_SMTP_HOST}:${inbound.port}`);
  }

  const app = createApp({ db, config, sessionSecret: secret });
  // Caches kept per process are dropped when another instance changes what they copy (LISTEN).
  await shareCaches(liveHubOf(app));
  const server = app.listen(config.PORT, config.HOST ?? '::');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  console.log(`[caseboard] listening on http://localhost:${config.PORT}`);

  // Data only the application can compute (the skeletons of customers' addresses, after the
  // migration that added them): filled in the background, so that a large installation is not
  // kept from serving meanwhile (~150 µs per customer, once); `npm run db:migrate` fills them
  // before a start instead.
  const filling = backfillEmailSkeletons(db.pool).then(
    (n) => n > 0 && console.log(`[caseboard] filled in the address skeletons of ${n} customers`),
    (err: unknown) => console.error('[caseboard] could not fill in address skeletons (next start tries again):', (err as Error).message),
  );

  // Bytes staged for uploads whose transaction never finished (a process killed meanwhile): at
  // start and every hour (src/services/attachments/store.ts). Any instance may do it.
  const sweep = () =>
    sweepStagedFiles(db.prisma).then(
      (n) => n > 0 && console.log(`[caseboard] deleted ${n} staged uploads left by an unfinished request`),
      (err: unknown) => console.error('[caseboard] could not sweep staged uploads:', (err as Error).message),
    );
  void sweep();
  const sweeping = setInterval(() => void sweep(), 3600_000);
  sweeping.unref();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[caseboard] ${signal}: shutting down`);
    // Open ticket pages' event streams never end by themselves: ended first (their browsers
    // reconnect to another instance), or the server would wait for them forever.
    await liveHubOf(app).stop();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearInterval(sweeping);
    await inbound?.stop();
    await mailer.stop();
    await slaTimer?.stop();
    await automation?.stop();
    await automations?.stop();
    await webhooks.stop();
    await apiCleanup.stop();
    await filling;
    await db.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof MigrationError) console.error(`[caseboard] ${err.message}`);
  else console.error('[caseboard] failed to start:', err);
  process.exit(1);
});
