import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import { Passport } from 'passport';
import cookieParser from 'cookie-parser';
import type { Config } from './config/env.js';
import type { Database } from './db/client.js';
import { errorHandler, notFound } from './web/middleware/errors.js';
import { customerFacing, templateLocals } from './web/middleware/locals.js';
import { requireSignIn } from './web/middleware/auth.js';
import { csrfProtection } from './web/middleware/csrf.js';
import { multipartBody } from './web/middleware/multipart.js';
import { configureAttachmentLimits } from './services/attachments/limits.js';
import { configureOutgoing } from './services/outgoing/signed-request.js';
import { cachedPgSessionStore } from './web/middleware/session-store.js';
import { healthRoutes, type Lifecycle } from './web/routes/health.js';
import { metricsRoutes } from './web/routes/metrics.js';
import { requestLogging } from './web/middleware/request-log.js';
import { log, type Logger } from './log.js';
import { metricsFor } from './observability/metrics.js';
import { authRoutes } from './web/routes/auth.js';
import { ticketRoutes } from './web/routes/tickets.js';
import { adminRoutes } from './web/routes/admin.js';
import { webhookRoutes } from './web/routes/webhooks.js';
import { configureWebhooksFrom } from './jobs/webhook-worker.js';
import { profileRoutes } from './web/routes/profile.js';
import { articleRoutes } from './web/routes/articles.js';
import { customerRoutes } from './web/routes/customers.js';
import { organizationRoutes } from './web/routes/organizations.js';
import { publicRoutes } from './web/routes/public.js';
import { mailRoutes } from './web/routes/mail.js';
import { automationRoutes } from './web/routes/automation.js';
import { macroRoutes } from './web/routes/macros.js';
import { teamRoutes } from './web/routes/teams.js';
import { slaRoutes } from './web/routes/sla.js';
import { runbookRoutes, ticketRunbookRoutes } from './web/routes/runbooks.js';
import { notificationPreferenceRoutes, notificationRoutes } from './web/routes/notifications.js';
import { unreadNotificationCount } from './web/middleware/unread.js';
import { compiledEjs } from './web/view-engine.js';
import { createRenderer, type Renderer } from './web/rendering/renderer.js';
import { BULK_LIMIT } from './services/tickets/bulk.js';
import { createLiveHub, type LiveHub } from './web/live.js';
import { apiRouter } from './web/api/router.js';
import { tokenRoutes } from './web/routes/tokens.js';
import { ErrorIntake } from './services/errors/intake.js';
import { errorIntakeRoutes } from './web/routes/error-intake.js';
import { errorRoutes } from './web/routes/errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface AppDeps {
  db: Database;
  config: Config;
  sessionSecret: string;
  /** Delete expired sessions every so often (off in tests). */
  pruneSessions?: boolean;
  /** Markdown and comparisons in worker threads; default: one made from the configuration. */
  renderer?: Renderer;
  /** Live updates of ticket pages; default: one made from the configuration (see liveHubOf). */
  live?: LiveHub;
  /** Where request log lines go; default: the process's logger (src/log.ts). */
  logger?: Logger;
  /** The error-report buffer; default: one made from the configuration (see errorIntakeOf). */
  errorIntake?: ErrorIntake;
}

/** The app's error-report buffer: server.ts flushes it at shutdown. */
export function errorIntakeOf(app: Express): ErrorIntake {
  return app.locals.errorIntake as ErrorIntake;
}

/** The app's live-update hub: server.ts stops it at shutdown (it ends the open event streams). */
export function liveHubOf(app: Express): LiveHub {
  return app.locals.live as LiveHub;
}

/** Whether the app is shutting down: server.ts sets `stopping` on SIGTERM (/ready answers 503). */
export function lifecycleOf(app: Express): Lifecycle {
  return app.locals.lifecycle as Lifecycle;
}

/** The metrics this app serves (the process's and its database's): server.ts serves them on METRICS_PORT. */
export function metricsOf(app: Express): ReturnType<typeof metricsFor> {
  return app.locals.metrics as ReturnType<typeof metricsFor>;
}

/** The customer-facing pages' paths (src/web/routes/public.ts). */
const CUSTOMER_PAGES = /^\/(?:status|s|request|help)(?:\/|$)/;

const hasNul = (v: unknown): boolean =>
  typeof v === 'string' ? v.includes('\u0000') : v !== null && typeof v === 'object' && Object.values(v).some(hasNul);

/** Builds the web app from its dependencies; server.ts listens, tests use it with supertest. */
export function createApp({ db, config, sessionSecret, pruneSessions = true, renderer, live, logger, errorIntake }: AppDeps): Express {
  const app = express();
  const lifecycle: Lifecycle = { stopping: false };
  app.locals.lifecycle = lifecycle;
  const metrics = metricsFor(db);
  app.locals.metrics = metrics;
  const render = renderer ?? createRenderer(db, { workers: config.RENDER_WORKERS, timeoutMs: config.RENDER_TIMEOUT_MS });
  // Holds nothing until the first live page opens (the feed starts then: src/services/live/feed.ts).
  const hub =
    live ??
    createLiveHub(db, {
      maxPerUser: config.LIVE_MAX_PER_USER,
      maxStreams: config.LIVE_MAX_STREAMS,
      // The LISTEN connection needs a session of its own (behind PgBouncer: DATABASE_DIRECT_URL).
      listenUrl: config.DATABASE_URL ? config.DATABASE_DIRECT_URL : undefined,
    });
  app.locals.live = hub;
  app.set('views', join(ROOT, 'views'));
  app.set('view engine', 'ejs');
  // Templates are compiled once, without `with` (see view-engine.ts), everywhere but in
  // development, where template edits show at once.
  if (config.NODE_ENV !== 'development') {
    app.set('view cache', true);
    app.engine('ejs', compiledEjs());
  }
  app.set('trust proxy', config.TRUST_PROXY ? 1 : false);
  app.set('query parser', 'simple');
  app.disable('x-powered-by');
  // No ETag on pages: each is personal (CSRF token, relative times) and hashing a 40 KB queue
  // page on every request costs more than the rare 304 saves. Static files keep theirs.
  app.set('etag', false);

  // First: every request gets an id, a log line and its duration measured (src/web/middleware/request-log.ts).
  app.use(requestLogging(logger ?? log));
  // Shutting down: requests still arriving on open keep-alive connections are answered, and
  // their clients told not to send more on that connection.
  app.use((_req, res, next) => {
    if (lifecycle.stopping) res.setHeader('Connection', 'close');
    next();
  });
  app.use(helmet({ contentSecurityPolicy: { directives: { 'form-action': ["'self'"] } } }));
  app.use('/public', express.static(join(ROOT, 'public'), { maxAge: '1h', index: false }));
  app.use(healthRoutes(db, lifecycle)); // no session: load balancers poll it
  app.use(metricsRoutes(metrics, config.METRICS_TOKEN)); // a bearer token, no session
  // The REST API: bearer tokens only, before (and so without) the session, passport and CSRF
  // middleware; its own JSON body parser and problem+json errors (src/web/api/router.ts).
  app.use('/api/v1', apiRouter(db, config, { checkAnswers: config.NODE_ENV !== 'production' }));
  // Error reports from applications (Sentry protocol, JSON): no session, no cookies, no CSRF.
  const intake = errorIntake ?? new ErrorIntake(db.prisma, { flushMs: config.ERROR_REPORTS_FLUSH_MS, perMinute: config.ERROR_REPORTS_PER_MINUTE });
  app.locals.errorIntake = intake;
  app.use(
    errorIntakeRoutes(db.prisma, intake, {
      maxBodyBytes: config.ERROR_REPORTS_MAX_BYTES,
      maxDecompressedBytes: config.ERROR_REPORTS_MAX_DECOMPRESSED_BYTES,
      perMinute: config.ERROR_REPORTS_PER_MINUTE,
    }),
  );

  // Session rows are kept in memory for a second (src/db/session-cache.ts).
  app.use(
    session({
      name: 'caseboard.sid',
      secret: sessionSecret,
      store: cachedPgSessionStore({
        pool: db.pool,
        tableName: 'session',
        createTableIfMissing: false,
        // Sessions last SESSION_TTL_HOURS from sign-in: no write per request to extend them.
        disableTouch: true,
        pruneSessionInterval: pruneSessions ? 15 * 60 : false,
      }),
      resave: false,
      saveUninitialized: false,
      cookie: {
        httpOnly: true,
        sameSite: 'lax',
        secure: config.COOKIE_SECURE === 'auto' ? 'auto' : config.COOKIE_SECURE === 'true',
        maxAge: config.SESSION_TTL_HOURS * 3600 * 1000,
      },
    }),
  );
  const passport = new Passport(); // one per app: no global state shared between apps
  app.use(passport.initialize());
  app.use(passport.session());

  // Stateless CSRF tokens (see middleware/csrf.ts): no session row for anonymous visitors.
  app.use(cookieParser());
  const csrf = csrfProtection(config, sessionSecret);
  // Locals first, so that even a refused form's error page shows who is signed in.
  app.use(templateLocals(csrf.generateToken));
  // The header's unread count: one indexed query per page a signed-in user gets (not per redirect).
  app.use(unreadNotificationCount(db));
  // Form bodies (after the session: an upload knows who sends it, and its token is checked before
  // its files are read), for the methods that carry them (GET and HEAD pages skip the parser).
  const formBody = express.urlencoded({ extended: false, limit: '200kb', parameterLimit: 100 });
  // The queue's bulk form sends one field per selected row: room for more than BULK_LIMIT, so
  // that too many is a clear 422 rather than the parser's 413.
  const bulkFormBody = express.urlencoded({ extended: false, limit: '200kb', parameterLimit: BULK_LIMIT + 40 });
  // A run book's form sends ten fields per step (up to 30 steps of up to 20,000 characters).
  const runbookFormBody = express.urlencoded({ extended: false, limit: '1mb', parameterLimit: 400 });
  // Forms with files: busboy, limits from the configuration (src/web/middleware/multipart.ts).
  const limits = {
    maxFileBytes: config.ATTACHMENT_MAX_FILE_BYTES,
    maxTotalBytes: config.ATTACHMENT_MAX_TOTAL_BYTES,
    maxFiles: config.ATTACHMENT_MAX_FILES,
  };
  configureAttachmentLimits(limits);
  // Which automation addresses run book steps may have (checked again when a request is sent).
  configureOutgoing({ allowPrivate: config.AUTOMATION_ALLOW_PRIVATE, timeoutMs: config.AUTOMATION_TIMEOUT_MS });
  // Webhooks: the same outgoing policy, their retry settings and the ticket links in payloads.
  configureWebhooksFrom(config);
  const multipart = multipartBody({ limits: () => limits, memoryBytes: config.UPLOAD_MEMORY_BYTES, verifyToken: csrf.verify });
  app.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    if (req.is('multipart/form-data')) return multipart(req, res, next);
    return (req.path === '/tickets/bulk' ? bulkFormBody : req.path.startsWith('/runbooks') ? runbookFormBody : formBody)(req, res, next);
  });

  // PostgreSQL text cannot hold U+0000: refuse it at the edge with a clear 400, whatever the form.
  app.use((req, _res, next) => {
    next(hasNul(req.query) || hasNul(req.body) ? Object.assign(new Error('U+0000 in the request'), { status: 400 }) : undefined);
  });
  app.use(csrf.protect);

  app.use(authRoutes(db, config, passport, (sid) => hub.endSession(sid)));
  // Customer-facing pages: no staff sign-in (status, private links, web requests, help centre);
  // their times are in UTC whoever looks at them.
  app.use((req, res, next) => (CUSTOMER_PAGES.test(req.path) ? customerFacing(req, res, next) : next()));
  app.use(publicRoutes(db, config, render));
  app.get('/', (_req, res) => res.redirect(303, '/tickets'));
  app.use('/tickets', requireSignIn, ticketRunbookRoutes(db, render));
  app.use('/tickets', requireSignIn, ticketRoutes(db, hub, render));
  app.use('/runbooks', requireSignIn, runbookRoutes(db, render));
  app.use('/articles', requireSignIn, articleRoutes(db, render));
  app.use('/customers', requireSignIn, customerRoutes(db));
  app.use('/organizations', requireSignIn, organizationRoutes(db));
  app.use('/mail', requireSignIn, mailRoutes(db));
  app.use('/teams', requireSignIn, teamRoutes(db));
  app.use('/sla', requireSignIn, slaRoutes(db));
  app.use('/rules', requireSignIn, automationRoutes(db));
  app.use('/macros', requireSignIn, macroRoutes(db));
  app.use('/webhooks', requireSignIn, webhookRoutes(db));
  app.use('/admin/tokens', requireSignIn, tokenRoutes(db, true));
  app.use('/admin', requireSignIn, adminRoutes(db));
  app.use('/errors', requireSignIn, errorRoutes(db, config));
  app.use('/notifications', requireSignIn, notificationRoutes(db));
  app.use('/profile/notifications', requireSignIn, notificationPreferenceRoutes(db));
  app.use('/profile/tokens', requireSignIn, tokenRoutes(db, false));
  app.use('/profile', requireSignIn, profileRoutes(db));

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
