// WEB_CONCURRENCY=N: N worker processes on this host (Node's cluster), each a whole Caseboard
// (web server, job workers, live feed) sharing the listening port; the primary only supervises.
// - Before forking, the primary makes what the workers must share: the session secret file
//   (when SESSION_SECRET is unset; N workers would each generate their own) and the migrations
//   (applied once here; each worker's migrate() then finds nothing to do, under the same advisory
//   lock that keeps instances on several hosts apart: src/db/migrate.ts).
// - A worker that dies is replaced (after a second, longer if it keeps dying at start-up).
// - SIGTERM/SIGINT go to every worker (each shuts down gracefully: server.ts); the primary exits
//   when they have, or SIGKILLs them 20 s after SHUTDOWN_GRACE_MS.
// Job workers run in every process: pg-boss hands each job to one of them, and its cron schedules
// queue one job per tick across all (as with several hosts).
// WEB_CONCURRENCY=1 (the default): no fork at all; server.ts runs the app in this process.
import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config/env.js';
import { sessionSecret } from './config/secret.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open.js';
import { logError, logInfo } from './log.js';

/** A worker that dies sooner than this after its start counts as failing to start. */
const EARLY_DEATH_MS = 10_000;

/**
 * In the primary of a WEB_CONCURRENCY > 1 installation: prepares, forks and supervises the
 * workers, and resolves true (the caller runs nothing else). Otherwise resolves false at once.
 */
export async function runClusterPrimary(config: Config): Promise<boolean> {
  if (config.WEB_CONCURRENCY <= 1 || !cluster.isPrimary) return false;
  const { generated } = sessionSecret(config.SESSION_SECRET, config.DATA_DIR);
  if (generated) logInfo(`[cluster] no SESSION_SECRET set: generated one in ${config.DATA_DIR}/session-secret`);
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db.pool, undefined, { directUrl: config.DATABASE_DIRECT_URL });
    if (applied.length) logInfo(`[cluster] applied migrations: ${applied.join(', ')}`);
  } finally {
    await db.close();
  }

  let stopping = false;
  let failures = 0;
  /** The live workers and when each started. */
  const startedAt = new Map<number, number>();
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };
  const alive = () => [...startedAt.keys()].map((id) => cluster.workers?.[id]).filter((w): w is Worker => w !== undefined);
  cluster.on('exit', (worker: Worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      if (startedAt.size === 0) process.exit(0);
      return;
    }
    failures = lived < EARLY_DEATH_MS ? failures + 1 : 0;
    const wait = Math.min(1000 * 2 ** Math.max(0, failures - 1), 30_000);
    logError(`[cluster] worker ${worker.process.pid} died (${signal ?? `code ${code}`}); a new one in ${wait} ms`);
    setTimeout(() => !stopping && fork(), wait);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logInfo(`[cluster] ${signal}: stopping ${startedAt.size} workers`);
    for (const worker of alive()) worker.process.kill('SIGTERM');
    if (startedAt.size === 0) process.exit(0);
    setTimeout(() => {
      for (const worker of alive()) worker.process.kill('SIGKILL');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS + 20_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  logInfo(`[cluster] primary ${process.pid}: starting ${config.WEB_CONCURRENCY} workers`);
  for (let i = 0; i < config.WEB_CONCURRENCY; i++) fork();
  return true;
}
