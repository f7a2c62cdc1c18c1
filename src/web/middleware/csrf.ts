// Cross-site request forgery: one stateless mechanism for every form, signed-in or not
// (csrf-csrf's signed double-submit cookie). The token is an HMAC, under a key derived from the
// session secret, of a random value and of who the visitor is: the session id once signed in, so
// a token is worth nothing in another session or after sign-out; nothing for an anonymous
// visitor, whose random value lives only in their own HttpOnly cookie, which another site can
// neither read nor set. A form must send the same token as that cookie (in the `_csrf` field of
// a urlencoded body, nowhere else) and it must verify.
//
// Nothing is stored on the server: an anonymous visitor reading /status, /request, /login or a
// private link gets a cookie, never a session row (express-session saves none while nothing is
// written to the session), so reading pages cannot grow the database.
import { createHmac } from 'node:crypto';
import type { Request, Response } from 'express';
import { doubleCsrf } from 'csrf-csrf';
import type { Config } from '../../config/env.js';

export const CSRF_COOKIE = 'caseboard.csrf';

export function csrfProtection(config: Config, sessionSecret: string) {
  const key = createHmac('sha256', sessionSecret).update('caseboard csrf tokens').digest('hex');
  const secure = (req: Request) => (config.COOKIE_SECURE === 'auto' ? req.secure : config.COOKIE_SECURE === 'true');
  const { doubleCsrfProtection, generateCsrfToken, validateRequest } = doubleCsrf({
    getSecret: () => key,
    getSessionIdentifier: (req) => (req.user ? `session:${req.sessionID}` : 'anonymous'),
    cookieName: CSRF_COOKIE,
    cookieOptions: { httpOnly: true, sameSite: 'lax', path: '/', maxAge: config.SESSION_TTL_HOURS * 3600 * 1000 },
    getCsrfTokenFromRequest: (req) => (req.body as Record<string, unknown> | undefined)?._csrf as string | undefined,
  });
  return {
    protect: doubleCsrfProtection,
    /**
     * Whether `token` is this request's valid token (the same check as `protect`, for a form whose
     * body is still arriving: multipart.ts reads no file before the form's token is found good).
     */
    verify: (req: Request, token: string) => validateRequest(Object.assign(Object.create(req) as Request, { body: { _csrf: token } })),
    /** The token for this request's forms; sets the cookie (a valid one is kept as it is). */
    generateToken: (req: Request, res: Response) => generateCsrfToken(req, res, { cookieOptions: { secure: secure(req) } }),
  };
}
