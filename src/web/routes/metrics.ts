import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';

/** Serves a registry's metrics in Prometheus' text format. */
export function serveMetrics(registry: Registry): RequestHandler {
  return async (_req, res, next) => {
    try {
      const body = await registry.metrics();
      res.set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(body);
    } catch (err) {
      next(err);
    }
  };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * GET /metrics on the app's own port: only with METRICS_TOKEN set, and only for a request
 * carrying it (`Authorization: Bearer <token>`). Without METRICS_TOKEN it does not exist (404):
 * metrics are then served on METRICS_PORT only, or not at all.
 */
export function metricsRoutes(registry: Registry, token: string | undefined): Router {
  const router = Router();
  const expected = token ? digest(token) : undefined;
  const serve = serveMetrics(registry);
  router.get('/metrics', (req, res, next) => {
    if (!expected) return next();
    const m = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '');
    // Compared as hashes, in constant time.
    if (!m?.[1] || !timingSafeEqual(digest(m[1]), expected)) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').type('text/plain').send('A valid metrics token is needed.\n');
      return;
    }
    return serve(req, res, next);
  });
  return router;
}
