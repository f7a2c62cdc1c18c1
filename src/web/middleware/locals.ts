import type { NextFunction, Request, Response } from 'express';
import * as labels from '../../domain/enums.js';
import { can } from '../../services/policy.js';

/** What every template may use: the user, their permissions, labels, and a CSRF token on demand. */
export function templateLocals(generateToken: (req: Request) => string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.locals.user = req.user;
    res.locals.can = (permission: Parameters<typeof can>[1]) => can(req.user, permission);
    res.locals.csrfToken = () => generateToken(req);
    res.locals.labels = labels;
    res.locals.path = req.path;
    next();
  };
}
