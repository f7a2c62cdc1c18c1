// RFC 9457 problem details: every API error is `application/problem+json` with a title, the
// status, a detail a person can act on, and for bad input the fields at fault
// (`errors: [{ field, message }]`, a zod issue's path joined with dots).
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { AppError, PreconditionFailedError, ValidationError } from '../../services/errors.js';
import { isRecordNotFound, isUniqueViolation } from '../../db/errors.js';
import { isDatabaseUnavailable } from '../../db/client.js';
import { logError } from '../../log.js';
import { loggablePath } from '../middleware/request-log.js';

export const PROBLEM_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  409: 'Conflict',
  412: 'Precondition failed',
  413: 'Content too large',
  415: 'Unsupported media type',
  422: 'Unprocessable content',
  428: 'Precondition required',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
};

export const FieldError = z.object({ field: z.string(), message: z.string() });
export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(FieldError).optional(),
    current: z.unknown().optional().meta({ description: 'With 412: the record as it is now.' }),
  })
  .meta({ id: 'Problem', description: 'An RFC 9457 problem (application/problem+json).' });
export type Problem = z.infer<typeof Problem>;

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Partial<Problem> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function sendProblem(res: Response, status: number, detail: string, extra: Partial<Problem> = {}): void {
  const body: Problem = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail, ...extra };
  res.status(status).type(PROBLEM_TYPE).send(JSON.stringify(body));
}

export const zodErrors = (error: z.ZodError, prefix: string[] = []) =>
  error.issues.map((i) => ({ field: [...prefix, ...i.path.map(String)].join('.') || '(body)', message: i.message }));

export class InputError extends Error {
  constructor(readonly errors: { field: string; message: string }[]) {
    super('The request has invalid fields.');
  }
}

/**
 * The API's error handler: typed service errors keep their status and message; body-parser's
 * errors (bad JSON, too large) are 4xx; anything else is a 500, logged, with nothing said of it.
 * `present` turns a 412's current record into its API shape.
 */
export function apiErrorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (res.headersSent) return;
  if (err instanceof ApiProblem) {
    res.set(err.headers);
    return sendProblem(res, err.status, err.message, err.extra);
  }
  if (err instanceof InputError) return sendProblem(res, 422, err.message, { errors: err.errors });
  if (err instanceof z.ZodError) return sendProblem(res, 422, 'The request has invalid fields.', { errors: zodErrors(err) });
  if (err instanceof PreconditionFailedError) {
    const present = res.locals.presentCurrent as ((x: unknown) => { version?: number }) | undefined;
    const current = present ? present(err.current) : undefined;
    if (current?.version !== undefined) res.set('ETag', `"${current.version}"`);
    return sendProblem(res, 412, err.message, current ? { current } : {});
  }
  if (err instanceof ValidationError) {
    const errors = Object.entries(err.fieldErrors).map(([field, message]) => ({ field, message }));
    return sendProblem(res, 422, err.message, errors.length ? { errors } : {});
  }
  if (err instanceof AppError) return sendProblem(res, err.status, err.message);
  if (isRecordNotFound(err)) return sendProblem(res, 404, 'That record does not exist.');
  if (isUniqueViolation(err)) return sendProblem(res, 409, 'That value is already taken.');
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.too.large') return sendProblem(res, 413, 'The body is larger than the API accepts.');
  if (e?.type === 'entity.parse.failed') return sendProblem(res, 400, 'The body is not valid JSON.');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return sendProblem(res, e.status, 'The request could not be read.');
  if (isDatabaseUnavailable(err)) return sendProblem(res, 503, 'The database is not answering right now. Try again in a moment.');
  logError(`[api error] ${req.method} ${loggablePath(req.originalUrl)} (request ${String(req.id)}):`, err); // no query: it can hold personal data
  sendProblem(res, 500, 'An unexpected error; nothing was saved. Try again.');
}
