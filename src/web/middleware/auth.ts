import type { NextFunction, Request, Response } from 'express';
import type { Actor } from '../../services/context.js';
import type { Preferences } from '../../services/users/sessions.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    // The signed-in staff member, as passport keeps it in the session, with their preferences.
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends Actor, Partial<Preferences> {}
  }
}

/** Only a local path may be a place to return to after sign-in (no open redirect). */
export function safeReturnPath(value: unknown): string {
  return typeof value === 'string' && /^\/(?![/\\])/.test(value) && value.length < 500 ? value : '/tickets';
}

/** Staff pages: anyone not signed in is sent to sign in, and brought back afterwards. */
export function requireSignIn(req: Request, res: Response, next: NextFunction): void {
  if (req.user) return next();
  if (req.method === 'GET' || req.method === 'HEAD') {
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  res.status(401).render('error', { status: 401, title: 'Please sign in', message: 'Your session has ended: sign in again.' });
}

/** The acting user of a signed-in request, for service calls. */
export function actorOf(req: Request): Actor {
  const user = req.user;
  if (!user) throw new Error('actorOf called on a request without a signed-in user');
  return user;
}
