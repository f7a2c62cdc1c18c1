import { Router } from 'express';
import type { Passport } from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import type { Config } from '../../config/env.js';
import type { Database } from '../../db/client.js';
import type { Actor } from '../../services/context.js';
import { authenticate } from '../../services/users/authenticate.js';
import { sessionUser, type SessionIdentity, type SignedInUser } from '../../services/users/sessions.js';
import { safeReturnPath } from '../middleware/auth.js';
import { PostgresRateLimitStore } from '../middleware/pg-rate-limit.js';

const LoginForm = z.object({
  email: z.string().trim().max(254).default(''),
  password: z.string().max(1024).default(''),
  next: z.string().optional(),
});

const WRONG = 'Wrong email or password.';

/** onSignOut: the session that is signing out (its live pages end: src/web/live.ts). */
export function authRoutes(db: Database, config: Config, passport: InstanceType<typeof Passport>, onSignOut: (sid: string) => void = () => undefined): Router {
  passport.use(
    new LocalStrategy({ usernameField: 'email' }, (email, password, done) => {
      authenticate(db.prisma, email, password).then(
        (actor) => done(null, actor ?? false),
        (err: unknown) => done(err),
      );
    }),
  );
  // The session keeps who signed in and their security stamp; the session store hands back the
  // user as they are now, or no session once the stamp moved on (src/web/middleware/session-store.ts).
  passport.serializeUser((user, done) => {
    const { id, stamp } = user as SignedInUser;
    done(null, { id, stamp } satisfies SessionIdentity);
  });
  passport.deserializeUser((user: SignedInUser, done) =>
    done(null, { ...sessionUser(user), timeZone: user.timeZone, theme: user.theme }),
  );

  // Throttles guessing: per client address and account, counting only failed attempts. Counted
  // in PostgreSQL, so that every instance behind the load balancer shares the count.
  const throttle = rateLimit({
    store: new PostgresRateLimitStore(db.pool, 'login:'),
    windowMs: config.LOGIN_WINDOW_MINUTES * 60_000,
    limit: config.LOGIN_MAX_ATTEMPTS,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) =>
      `${ipKeyGenerator(req.ip ?? '')}|${String((req.body as Record<string, unknown>)?.email ?? '').trim().toLowerCase()}`,
    handler: (_req, res) => {
      res.status(429).render('login', {
        title: 'Sign in',
        email: '',
        next: '/tickets',
        error: 'Too many failed attempts. Wait a few minutes, then try again.',
      });
    },
  });

  // Password spraying (a few passwords against many accounts from one address): a wider limit
  // per client address alone.
  const sprayThrottle = rateLimit({
    store: new PostgresRateLimitStore(db.pool, 'spray:'),
    windowMs: config.LOGIN_WINDOW_MINUTES * 60_000,
    limit: config.LOGIN_MAX_ATTEMPTS * 10,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? ''),
    handler: (_req, res) => {
      res.status(429).render('login', {
        title: 'Sign in',
        email: '',
        next: '/tickets',
        error: 'Too many failed attempts from your address. Wait a few minutes, then try again.',
      });
    },
  });

  const router = Router();
  router.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, safeReturnPath(req.query.next));
    res.render('login', { title: 'Sign in', email: '', next: safeReturnPath(req.query.next), error: null });
  });

  router.post('/login', sprayThrottle, throttle, (req, res, next) => {
    const form = LoginForm.safeParse(req.body ?? {});
    const email = form.success ? form.data.email : '';
    const returnTo = safeReturnPath(form.success ? form.data.next : undefined);
    if (!form.success || !form.data.email || !form.data.password) {
      return res.status(422).render('login', { title: 'Sign in', email, next: returnTo, error: 'Enter your email and password.' });
    }
    passport.authenticate('local', (err: unknown, user: Actor | false) => {
      if (err) return next(err);
      if (!user) {
        return res.status(401).render('login', { title: 'Sign in', email, next: returnTo, error: WRONG });
      }
      // passport 0.7 regenerates the session id here (no fixation).
      req.logIn(user, (loginErr) => (loginErr ? next(loginErr) : res.redirect(303, returnTo)));
    })(req, res, next);
  });

  router.post('/logout', (req, res, next) => {
    onSignOut(req.sessionID);
    req.logout((err) => {
      if (err) return next(err);
      req.session.destroy((destroyErr) => {
        if (destroyErr) return next(destroyErr);
        res.clearCookie('caseboard.sid');
        res.redirect(303, '/login');
      });
    });
  });
  return router;
}
