// Starts Caseboard: configuration, database (migrated), first admin, then the web server.
import { ConfigError, loadConfig } from './config/env.js';
import { sessionSecret } from './config/secret.js';
import { backfillEmailSkeletons } from './db/backfill-skeletons.js';
import { sweepStagedFiles } from './services/attachments/store.js';
import { migrate, MigrationError } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { setPasswordCost } from './services/passwords.js';
import { bootstrapAdmin } from './services/users/bootstrap-admin.js';
import { createApp, errorIntakeOf, lifecycleOf, liveHubOf, metricsOf } from './app.js';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { log, setLogLevel } from './log.js';
import { serveMetrics } from './web/routes/metrics.js';
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
import { startErrorRetention } from './jobs/error-retention.js';

// Background database work (the job queue's polling and bookkeeping) can fail while PostgreSQL is
// restarting; if a library leaves such a rejection unhandled, Node would end the whole app. A
// database that is away is no reason to die (a job that was running expires back to the queue:
// the mail is late, not lost, and sendQueuedMail never sends a mail twice once it is marked sent).
// Anything else still stops the process, as Node would.
process.on('unhandledRejection', (reason) => {
  if (isDatabaseUnavailable(reason)) {
    log.error({ err: reason }, 'background database work failed while the database was away');
    return;
  }
  log.fatal({ err: reason }, 'unhandled rejection');
  process.exit(1);
});

async function main() {
  const config = loadConfig();
  if (config.LOG_LEVEL) setLogLevel(config.LOG_LEVEL);
  // WEB_CONCURRENCY > 1: this process only forks and supervises the workers (src/cluster.ts).
  if (await runClusterPrimary(config)) return;
  setPasswordCost(config.PASSWORD_COST_LOG2);
  const db = await openDatabase(config);
  log.info(`database: ${db.description}`);
  const applied = await migrate(db.pool, undefined, { directUrl: config.DATABASE_URL ? config.DATABASE_DIRECT_URL : undefined });
  if (applied.length) log.info({ migrations: applied }, `applied migrations: ${applied.join(', ')}`);

  const admin = await bootstrapAdmin(db.prisma, {
    email: config.ADMIN_EMAIL,
    password: config.ADMIN_PASSWORD,
    name: config.ADMIN_NAME,
  });
  if (admin?.generatedPassword) {
    // The one secret ever printed: the first admin's generated password, once, on the console.
    // Kept out of the JSON log stream (log collectors keep lines for months).
    console.log(`[caseboard] first start: created admin ${admin.email} with password ${admin.generatedPassword}`);
    console.log('[caseboard] (shown only this once: sign in and change it under Admin → Users)');
  } else if (admin) {
    log.info('first start: created the admin from ADMIN_EMAIL/ADMIN_PASSWORD');
  }

  const { secret, generated } = sessionSecret(config.SESSION_SECRET, config.DATA_DIR);
  if (generated) log.info(`no SESSION_SECRET set: generated one in ${config.DATA_DIR}/session-secret`);

  // Mail: the outbox worker sends what committed changes queued (SMTP_URL, or .eml files).
  const mailer = createMailer(db, config, secret);
  await mailer.startWorker();
  log.info(
    `mail: ${config.SMTP_URL ? `SMTP ${new URL(config.SMTP_URL).host}` : `.eml files in ${config.DATA_DIR}/mail`}` +
      (config.MAIL_WORKER_CONCURRENCY === 0 ? ' (sending off in this process)' : ''),
  );

  // SLA warnings and breaches: jobs queued for each ticket's next due moment (src/services/sla/timer.ts).
  const slaTimer = config.SLA_POLL_MS > 0 ? await startSlaTimer(db, { pollInterval: config.SLA_POLL_MS }) : undefined;
  // Time-based automation rules ("no update for N hours"): a scheduled sweep, one at a time across instances.
  const automation = await startAutomationSweeps(db.pool, db.prisma, config.AUTOMATION_SWEEP_MINUTES);
  // Reported errors' kept events past their retention: an hourly job, one at a time across instances.
  const errorRetention = await startErrorRetention(db.pool, db.prisma, config.ERROR_EVENTS_RETENTION_DAYS);
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
    log.info(`inbound mail: SMTP on ${config.INBOUND_SMTP_HOST}:${inbound.port}`);
  }

  const app = createApp({ db, config, sessionSecret: secret });
  // Caches kept per process are dropped when another instance changes what they copy (LISTEN).
  await shareCaches(liveHubOf(app));
  const listen = async (server: Server, port: number, host: string) => {
    server.listen(port, host);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return server;
  };
  const server = await listen(createServer(app), config.PORT, config.HOST ?? '::');
  // Metrics without a token on a port of their own (keep it private: firewall, cluster network).
  let metricsServer: Server | undefined;
  if (config.METRICS_PORT !== undefined) {
    const metricsApp = express();
    metricsApp.disable('x-powered-by');
    metricsApp.get('/metrics', serveMetrics(metricsOf(app)));
    metricsServer = await listen(createServer(metricsApp), config.METRICS_PORT, config.METRICS_HOST ?? config.HOST ?? '::');
    const address = metricsServer.address();
    log.info(`metrics: http://localhost:${typeof address === 'object' && address ? address.port : config.METRICS_PORT}/metrics`);
  }
  log.info(`listening on http://localhost:${config.PORT}`);

  // Data only the application can compute (the skeletons of customers' addresses, after the
  // migration that added them): filled in the background, so that a large installation is not
  // kept from serving meanwhile (~150 µs per customer, once); `npm run db:migrate` fills them
  // before a start instead.
  const filling = backfillEmailSkeletons(db.pool).then(
    (n) => n > 0 && log.info(`filled in the address skeletons of ${n} customers`),
    (err: unknown) => log.error({ err }, 'could not fill in address skeletons (next start tries again)'),
  );

  // Bytes staged for uploads whose transaction never finished (a process killed meanwhile): at
  // start and every hour (src/services/attachments/store.ts). Any instance may do it.
  const sweep = () =>
    sweepStagedFiles(db.prisma).then(
      (n) => n > 0 && log.info(`deleted ${n} staged uploads left by an unfinished request`),
      (err: unknown) => log.error({ err }, 'could not sweep staged uploads'),
    );
  void sweep();
  const sweeping = setInterval(() => void sweep(), 3600_000);
  sweeping.unref();

  // SIGTERM (or Ctrl-C): stop taking requests, let those in flight and the running jobs finish
  // (within SHUTDOWN_GRACE_MS, then they are cut), close the database, exit 0.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const started = Date.now();
    log.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, `${signal}: shutting down`);
    // /ready answers 503 from now on (on connections still open), so a balancer stops sending.
    lifecycleOf(app).stopping = true;
    // No new connections; idle keep-alive connections closed now and every 100 ms, busy ones
    // once their response is sent (app.ts adds "Connection: close" to answers meanwhile).
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    // Open ticket pages' event streams never end by themselves: ended now (their browsers
    // reconnect to another instance), or the server would wait for them until the grace ends.
    await liveHubOf(app).stop();
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'cut'>((resolve) => {
      graceTimer = setTimeout(() => resolve('cut'), config.SHUTDOWN_GRACE_MS);
    });
    if ((await Promise.race([closed.then(() => 'done' as const), graceOver])) === 'cut') {
      log.warn(`requests still in flight after ${config.SHUTDOWN_GRACE_MS} ms: their connections are closed`);
      server.closeAllConnections();
      await closed;
    }
    clearTimeout(graceTimer);
    clearInterval(idleSweep);
    // Error reports accepted but still buffered (src/services/errors/intake.ts) are written now.
    await errorIntakeOf(app).stop().catch((err: unknown) => log.error({ err }, 'could not write buffered error reports'));
    clearInterval(sweeping);
    metricsServer?.closeAllConnections();
    metricsServer?.close();
    // Mail in: no new SMTP sessions; the messages being taken are stored first.
    await inbound?.stop();
    // Jobs running now finish (each worker's stop waits for them, pg-boss: graceful, at most
    // 10 s); none starts. All at once, so that the waits do not add up.
    const stopped = await Promise.allSettled([
      mailer.stop(),
      slaTimer?.stop(),
      automation?.stop(),
      errorRetention.stop(),
      automations?.stop(),
      webhooks.stop(),
      apiCleanup.stop(),
    ]);
    for (const r of stopped) if (r.status === 'rejected') log.error({ err: r.reason }, 'a job worker did not stop cleanly');
    await filling;
    await db.close();
    log.info({ ms: Date.now() - started }, 'shut down: exiting');
    process.exit(0);
  };
  const stopOn = (signal: string) =>
    void stop(signal).catch((err: unknown) => {
      log.fatal({ err }, 'shutdown failed');
      process.exit(1);
    });
  process.on('SIGINT', () => stopOn('SIGINT'));
  process.on('SIGTERM', () => stopOn('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof MigrationError) log.fatal(err.message);
  else log.fatal({ err }, 'failed to start');
  process.exit(1);
});
