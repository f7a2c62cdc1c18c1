// One log line per request (pino-http) and its duration in the http_request_duration_seconds
// histogram. What a line holds: request id, method, the matched route pattern, the path with
// tokens and addresses taken out (never the query string: it can hold search text, addresses and
// private-link tokens), status, duration in ms, the signed-in staff member's id. Never headers,
// cookies, bodies or CSRF tokens.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../../log.js';
import { httpRequestDuration } from '../../observability/metrics.js';

/** An X-Request-Id from the balancer is taken when it looks like one (no room for log injection). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** Polled every few seconds by balancers and Prometheus: measured, not logged when they succeed. */
const QUIET = new Set(['/health', '/ready', '/metrics']);

/**
 * The path as safe to log: no query, private-link tokens and other long opaque segments as
 * `:token`, anything with an @ as `:address`.
 */
export function loggablePath(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path
    .slice(0, 300)
    .split('/')
    .map((seg, i, all) => {
      if (seg.includes('@') || seg.includes('%40')) return ':address';
      if (i > 0 && all[i - 1] === 's') return ':token';
      if (/^[A-Za-z0-9_~.-]{24,}$/.test(seg)) return ':token';
      return seg;
    })
    .join('/');
}

type Req = IncomingMessage & Partial<Pick<Request, 'route' | 'baseUrl' | 'originalUrl' | 'user'>>;

/** The Express route that answered ("/tickets/:reference"), never the raw path (metrics' cardinality). */
export function routeOf(req: Req, status: number): string {
  const pattern = req.route?.path;
  if (typeof pattern === 'string') return `${req.baseUrl ?? ''}${pattern}` || '/';
  if ((req.originalUrl ?? req.url ?? '').startsWith('/public/')) return '/public/*';
  return status === 404 ? '(unmatched)' : '(middleware)';
}

function withRoute(req: Req, res: ServerResponse, value: Record<string, unknown>) {
  // pino-http's own object, added to in place (a spread with new keys is slow in Node 20: bench-spread.ts).
  value.route = routeOf(req, res.statusCode);
  const userId = req.user?.id;
  if (userId !== undefined) value.userId = userId;
  return value;
}

const statusClass = (status: number) => `${Math.floor(status / 100)}xx`;

export function requestLogging(logger: Logger): RequestHandler {
  const http = pinoHttp<Req, ServerResponse>({
    logger,
    genReqId(req, res) {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    autoLogging: { ignore: (req) => QUIET.has(loggablePath(req.url ?? '')) },
    // Only what is listed here is logged of the request and the response.
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: loggablePath(req.url) }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // Known once the response is done: added to the line itself (a child logger per request
    // for them would cost more than the line).
    customSuccessObject: (req, res, value: Record<string, unknown>) => withRoute(req, res, value),
    customErrorObject: (req, res, _err, value: Record<string, unknown>) => withRoute(req, res, value),
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${loggablePath(req.originalUrl ?? req.url ?? '')} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${loggablePath(req.originalUrl ?? req.url ?? '')} ${res.statusCode}`,
    customAttributeKeys: { responseTime: 'durationMs' },
  });
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      httpRequestDuration.observe({ method: req.method, route: routeOf(req, res.statusCode), status_class: statusClass(res.statusCode) }, seconds);
    });
    http(req, res, next);
  };
}
