// /api/v1: built from the operation registry (operations/), like the OpenAPI document
// (openapi.ts). Mounted in app.ts before the session, passport and CSRF middleware: the API
// authenticates only with `Authorization: Bearer <token>` and never reads a session cookie, so a
// cross-site form or fetch carrying the browser's cookies gets 401 (no CSRF hole to close).
// No CORS headers are sent (browsers on other sites cannot read answers).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { Database } from '../../db/client.js';
import type { Actor } from '../../services/context.js';
import { authenticateToken } from '../../services/api/tokens.js';
import { API_OPERATIONS } from './operations/index.js';
import { buildOpenApiDocument } from './openapi.js';
import { ApiProblem, apiErrorHandler, InputError, sendProblem, zodErrors } from './problem.js';
import { checkKey, requestHash, withIdempotencyKey, type StoredAnswer } from './idempotency.js';
import { PostgresRateLimitStore } from '../middleware/pg-rate-limit.js';
import type { Operation } from './registry.js';

export interface ApiOptions {
  /** Check every answer against its schema (tests, development): a mismatch is a 500. */
  checkAnswers?: boolean;
}

const actorOf = (res: Response): Actor => res.locals.apiActor as Actor;

/** JSON bodies nest at most this deep (no operation needs more than 3): deeper is a 400, not a stack overflow. */
export const MAX_JSON_DEPTH = 16;

/**
 * What no text may hold: U+0000 (PostgreSQL text cannot) anywhere in the value. Walked without
 * recursion, refusing values nested deeper than MAX_JSON_DEPTH: a 256 KB body of `[[[[…` is 128k
 * levels, which a recursive walk (or zod) would overflow the stack on.
 */
function refusedText(value: unknown): string | null {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return 'Text cannot hold the character U+0000.';
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) return `The body nests deeper than ${MAX_JSON_DEPTH} levels.`;
      for (const child of Object.values(v)) stack.push([child, depth + 1]);
    }
  }
  return null;
}

function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new InputError(zodErrors(r.error, where ? [where] : []));
  return r.data;
}

/** `If-Match: "7"` (a weak W/"7" too) → 7; missing → 428; anything else → 400. */
function ifMatchVersion(req: Request): number {
  const raw = req.get('If-Match');
  if (raw === undefined) throw new ApiProblem(428, 'Send If-Match with the version your change is based on (the ETag of the record, e.g. "7").');
  const m = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(raw);
  if (!m) throw new ApiProblem(400, 'If-Match must be one version in quotes, e.g. "7".');
  return Number(m[1]);
}

function handler(db: Database, op: Operation, opts: ApiOptions) {
  return async (req: Request, res: Response) => {
    const actor = actorOf(res);
    if (!actor.token?.scopes.includes(op.scope)) throw new ApiProblem(403, `This token does not have the scope ${op.scope}.`);
    const params = op.params ? parse(op.params, req.params, 'path') : undefined;
    const query = op.query ? parse(op.query, req.query, 'query') : undefined;
    const body = op.body ? parse(op.body, req.body ?? {}, '') : undefined;
    let version: number | undefined;
    if (op.ifMatch) {
      version = ifMatchVersion(req);
      res.locals.presentCurrent = op.present;
    }
    const ctx = { db: db.prisma, actor };
    const key = op.idempotent ? checkKey(req.get('Idempotency-Key')) : undefined;
    const status = op.status ?? 200;
    let out: StoredAnswer;
    if (key !== undefined) {
      const hash = requestHash(req.method, req.baseUrl + req.path, body);
      const done = await withIdempotencyKey(db.prisma, actor.token.id, key, hash, async (tx) => ({ status, ...(await op.handle(ctx, { params, query, body, version, tx })) }));
      if (done.replayed) res.set('Idempotent-Replayed', 'true');
      out = done;
    } else {
      out = { status, ...(await op.handle(ctx, { params, query, body, version, tx: undefined })) };
    }
    if (opts.checkAnswers) {
      const checked = op.response.safeParse(out.body);
      if (!checked.success) throw new Error(`${op.id}: the answer does not match its schema: ${JSON.stringify(checked.error.issues).slice(0, 500)}`);
    }
    if (out.version !== undefined) res.set('ETag', `"${out.version}"`);
    if (out.location) res.location(out.location);
    res.status(out.status).json(out.body);
  };
}

export function apiRouter(db: Database, config: Config, opts: ApiOptions = {}): Router {
  const router = express.Router();
  const document = buildOpenApiDocument();
  const documentJson = JSON.stringify(document);

  // The document and its reference page need no token (they describe, they hold no data).
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(documentJson);
  });
  router.get('/docs', (_req, res) => {
    res.render('api/reference', { title: 'API reference', doc: document, path: '/api/v1/docs' });
  });

  // Bearer tokens only; a Cookie header is never looked at.
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const m = /^Bearer ([\x21-\x7e]{1,200})$/.exec(req.get('Authorization') ?? '');
    const actor = m ? await authenticateToken(db.prisma, m[1]!) : null;
    if (!actor) {
      res.set('WWW-Authenticate', 'Bearer realm="caseboard"');
      return sendProblem(res, 401, m ? 'This token is unknown, revoked or expired.' : 'Send an API token: Authorization: Bearer <token>.');
    }
    res.locals.apiActor = actor;
    next();
  });

  // API_RATE_LIMIT requests per token per minute, counted in PostgreSQL (every instance shares it).
  router.use(
    rateLimit({
      windowMs: 60_000,
      limit: config.API_RATE_LIMIT,
      standardHeaders: 'draft-6',
      legacyHeaders: false,
      store: new PostgresRateLimitStore(db.pool),
      keyGenerator: (_req, res) => `token:${actorOf(res).token!.id}`,
      handler: (_req, res) => sendProblem(res, 429, `More than ${config.API_RATE_LIMIT} requests a minute with this token; wait and retry.`),
      validate: { keyGeneratorIpFallback: false },
    }),
  );

  // JSON bodies only (a clear 415 for forms and the rest), within API_MAX_BODY_BYTES.
  const json = express.json({ limit: config.API_MAX_BODY_BYTES, strict: true });
  router.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const length = req.get('Content-Length');
    const hasBody = req.get('Transfer-Encoding') !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) return next();
    if (!req.is(['application/json', 'application/*+json'])) return sendProblem(res, 415, 'Send the body as JSON (Content-Type: application/json).');
    json(req, res, (err?: unknown) => {
      if (err) return next(err);
      const refused = refusedText(req.body);
      next(refused ? new ApiProblem(400, refused) : undefined);
    });
  });
  router.use((req, _res, next) => {
    const refused = refusedText(req.query);
    next(refused ? new ApiProblem(400, refused) : undefined);
  });

  for (const op of API_OPERATIONS) router[op.method](op.path, handler(db, op, opts));

  router.use((_req, res) => sendProblem(res, 404, 'There is no such API endpoint (see /api/v1/openapi.json).'));
  router.use(apiErrorHandler);
  return router;
}
