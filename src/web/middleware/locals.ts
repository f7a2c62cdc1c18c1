import type { NextFunction, Request, Response } from 'express';
import * as labels from '../../domain/enums.js';
import { can } from '../../services/policy.js';

const ANONYMOUS_SESSION_MS = 60 * 60 * 1000;

/** What every template may use: the user, their permissions, labels, and a CSRF token on demand. */
export function templateLocals(generateToken: (req: Request) => string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.locals.user = req.user;
    res.locals.can = (permission: Parameters<typeof can>[1]) => can(req.user, permission);
    res.locals.csrfToken = () => {
      // A visitor who is not signed in gets a session only to hold this token: an hour is enough
      // for a form, and keeps cookieless requests from piling up day-long session rows.
      if (!req.user && req.session) req.session.cookie.maxAge = ANONYMOUS_SESSION_MS;
      return generateToken(req);
    };
    res.locals.labels = labels;
    res.locals.path = req.path;
    next();
  };
}
