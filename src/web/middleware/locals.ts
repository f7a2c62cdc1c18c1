import type { NextFunction, Request, Response } from 'express';
import { unambiguousAddress, viewAddress } from '../../domain/email-address.js';
import * as labels from '../../domain/enums.js';
import { can } from '../../services/policy.js';
import { attachmentLimits } from '../../services/attachments/limits.js';
import { bodyParts } from '../presenters/inline-images.js';
import { listedTimeZone } from '../../domain/time-zones.js';
import { DEFAULT_TIME_ZONE, when, zoneLabel } from '../presenters/time.js';

/** The zone a response shows times in (see templateLocals; customer-facing pages set UTC). */
export function timeZoneOf(res: Response): string {
  return (res.locals.timeZone as string | undefined) ?? DEFAULT_TIME_ZONE;
}

/** Customer-facing pages: times in UTC (and said so), the system's theme, whoever is signed in. */
export function customerFacing(_req: Request, res: Response, next: NextFunction): void {
  res.locals.customerFacing = true;
  res.locals.timeZone = DEFAULT_TIME_ZONE;
  res.locals.theme = 'SYSTEM';
  next();
}

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
    // The user's own settings (their profile): every time in their zone, their colour theme
    // (views/partials/header.ejs puts it on <html>; SYSTEM follows prefers-color-scheme).
    // (A stored zone this runtime does not list, after an upgrade of its zone data, falls back to
    // its current name or UTC instead of failing every page.)
    res.locals.timeZone = (req.user?.timeZone && listedTimeZone(req.user.timeZone)) || DEFAULT_TIME_ZONE;
    res.locals.theme = req.user?.theme ?? 'SYSTEM';
    // For the few times a template formats itself (a redacted file's time), in the page's zone.
    res.locals.when = (date: Date) => when(date, timeZoneOf(res));
    res.locals.zoneLabel = () => zoneLabel(timeZoneOf(res));
    next();
  };
}
