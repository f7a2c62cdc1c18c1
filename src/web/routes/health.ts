import { Router } from 'express';
import type { Database } from '../../db/client.js';
import { readMigrations } from '../../db/migrate.js';

/** Whether this instance is shutting down (server.ts sets it on SIGTERM; /ready then answers 503). */
export interface Lifecycle {
  stopping: boolean;
}

/** How long one readiness answer is kept: a poll storm costs one database round trip a second. */
const READY_KEPT_MS = 1000;
/** A database that does not answer within this is not ready (a balancer's probe must not hang). */
const READY_TIMEOUT_MS = 2000;

type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * /health: the process is alive and reaches its database (one `SELECT 1`, no session: what load
 * balancers poll; unchanged, the fault suite relies on its 503 during a database outage).
 * /ready: it can take traffic — the database answers, every migration in prisma/migrations is
 * applied, and it is not shutting down (answers kept a second: a poll storm stays cheap).
 */
export function healthRoutes(db: Database, lifecycle: Lifecycle = { stopping: false }): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    try {
      await db.pool.query('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });

  const expected = readMigrations().map((m) => m.name);
  let kept: { at: number; value: Promise<Readiness> } | undefined;
  const check = async (): Promise<Readiness> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Readiness>((resolve) => {
      timer = setTimeout(() => resolve({ ready: false, reason: 'the database did not answer in time' }), READY_TIMEOUT_MS);
      timer.unref();
    });
    const probe = (async (): Promise<Readiness> => {
      try {
        const { rows } = await db.pool.query<{ migration_name: string }>(
          `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
        );
        const applied = new Set(rows.map((r) => r.migration_name));
        const missing = expected.filter((name) => !applied.has(name));
        return missing.length ? { ready: false, reason: `${missing.length} migrations not applied (first: ${missing[0]})` } : { ready: true };
      } catch (err) {
        // No table yet: nothing migrated. Anything else: the database is unreachable.
        const code = (err as { code?: string }).code;
        return { ready: false, reason: code === '42P01' ? 'migrations not applied' : 'database unreachable' };
      }
    })();
    try {
      return await Promise.race([probe, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  router.get('/ready', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    if (lifecycle.stopping) {
      res.status(503).json({ status: 'unavailable', reason: 'shutting down' });
      return;
    }
    const now = Date.now();
    if (!kept || now - kept.at > READY_KEPT_MS) kept = { at: now, value: check() };
    const r = await kept.value;
    if (r.ready) res.json({ status: 'ok' });
    else res.status(503).json({ status: 'unavailable', reason: r.reason });
  });
  return router;
}
