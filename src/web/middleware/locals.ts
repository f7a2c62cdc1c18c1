import type { NextFunction, Request, Response } from 'express';
import { unambiguousAddress, viewAddress } from '../../domain/email-address.js';
import * as labels from '../../domain/enums.js';
import { can } from '../../services/policy.js';
import { attachmentLimits } from '../../services/attachments/limits.js';
import { bodyParts } from '../presenters/inline-images.js';

/** What every template may use: the user, their permissions, labels, and a CSRF token on demand. */
export function templateLocals(generateToken: (req: Request, res: Response) => string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    res.locals.user = req.user;
    res.locals.can = (permission: Parameters<typeof can>[1]) => can(req.user, permission);
    // One token per response, however many forms the page has (each call would set the cookie).
    let token: string | undefined;
    res.locals.csrfToken = () => (token ??= generateToken(req, res));
    res.locals.labels = labels;
    // views/partials/address.ejs: how an email address is shown (punycode, look-alike marks).
    res.locals.addressView = viewAddress;
    res.locals.unambiguousAddress = unambiguousAddress;
    res.locals.path = req.path;
    // views/partials/file-input.ejs says how much may be attached.
    res.locals.fileLimits = attachmentLimits();
    // views/partials/body.ejs: an entry's text with its inline images in place.
    res.locals.bodyParts = bodyParts;
    next();
  };
}
