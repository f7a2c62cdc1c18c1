import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../../services/errors.js';
import { isRecordNotFound, isUniqueViolation } from '../../db/errors.js';
import { isDatabaseUnavailable } from '../../db/client.js';
import { logError } from '../../log.js';
import { loggablePath } from './request-log.js';

const TITLES: Record<number, string> = {
  400: 'That request was not understood',
  401: 'Please sign in',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Changed by someone else',
  413: 'Too much data',
  422: 'Please check your input',
  429: 'Too many attempts',
  500: 'Something went wrong',
  503: 'Service unavailable',
};

export function notFound(_req: Request, res: Response): void {
  res.status(404).render('error', { status: 404, title: TITLES[404], message: 'There is no page at this address.' });
}

function describe(err: unknown): { status: number; message: string } {
  if (err instanceof AppError) return { status: err.status, message: err.message };
  if (isRecordNotFound(err)) return { status: 404, message: 'That record does not exist.' };
  if (isUniqueViolation(err)) return { status: 409, message: 'That value is already taken.' };
  const e = err as { code?: string; status?: number; type?: string };
  if (e?.code === 'EBADCSRFTOKEN') {
    return {
      status: 403,
      message: 'This form has expired or did not come from Caseboard. Go back, reload the page and try again.',
    };
  }
  if (e?.type === 'entity.too.large') return { status: 413, message: 'The form sent more text than Caseboard accepts.' };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return { status: e.status, message: 'The request could not be read.' };
  }
  if (isDatabaseUnavailable(err)) {
    return { status: 503, message: 'The database is not answering right now. Try again in a moment.' };
  }
  return { status: 500, message: 'Caseboard hit an unexpected error. Nothing was saved; try again.' };
}

/** The one error handler: typed errors become pages with their status; the rest are logged. */
export function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  const { status, message } = describe(err);
  if (status >= 500) logError(`[error] ${req.method} ${loggablePath(req.originalUrl)} (request ${String(req.id)}):`, err); // no query: it can hold personal data
  if (res.headersSent) return;
  res.status(status).render('error', { status, title: TITLES[status] ?? 'Error', message });
}
