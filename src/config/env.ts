import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const schema = z.object({
  // production unless said otherwise: `npm start` serves at full speed (compiled templates);
  // `npm run dev` sets development (templates re-read on every request).
  NODE_ENV: z.enum(['development', 'production', 'test']).default('production'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  // A connection that is not transaction-pooled (PostgreSQL itself, or a PgBouncer database in
  // session mode), for what needs a session of its own: the LISTEN connection (live updates and
  // cache notices) and the migrator's advisory lock. Default: DATABASE_URL.
  DATABASE_DIRECT_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
  // Named prepared statements on the server (query plans kept per connection). false behind a
  // transaction-pooling PgBouncer older than 1.21 (Debian 12 ships 1.18), which cannot keep them.
  DATABASE_PREPARED_STATEMENTS: bool.default(true),
  // Worker processes on this host (Node's cluster: src/cluster.ts); 1 = no fork at all.
  WEB_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  DATA_DIR: z.string().min(1).default('./data'),
  EMBEDDED_DB_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SESSION_TTL_HOURS: z.coerce.number().min(1).max(24 * 30).default(12),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  TRUST_PROXY: bool.default(false),
  LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(10),
  LOGIN_WINDOW_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  PASSWORD_COST_LOG2: z.coerce.number().int().min(14).max(20).default(17),
  ADMIN_EMAIL: z.email().optional(),
  ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  ADMIN_NAME: z.string().min(1).max(120).default('Administrator'),

  // Customer-facing pages and email.
  /** The address customers reach Caseboard at: links in mails are built from it. */
  PUBLIC_URL: z.url().optional(),
  /** Outgoing mail over SMTP (smtp://user:pass@host:587, smtps://…); unset: .eml files in DATA_DIR/mail. */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('Caseboard Support <support@caseboard.localhost>'),
  /** The key that signs outgoing Message-IDs (replies are matched by it); default: derived from the session secret. */
  MAIL_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** Mails sent at once by this process's worker; 0 = this process sends none (another instance does). */
  MAIL_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(32).default(2),
  // Time-based automation rules: the sweep every N minutes (1-60); 0: not in this process.
  AUTOMATION_SWEEP_MINUTES: z.coerce.number().int().min(0).max(60).default(5),
  MAIL_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** How often this process looks for due SLA checks (warnings, breaches); 0: it runs none (another instance does). */
  SLA_POLL_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  /** Private access links in mails stay valid this long (each new mail carries a fresh one). */
  ACCESS_LINK_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /** Inbound SMTP listener (for an MTA to deliver support mail to); unset: off. */
  INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  INBOUND_SMTP_HOST: z.string().min(1).default('127.0.0.1'),
  INBOUND_MAX_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(10 * 1024 * 1024),
  /** More new tickets than this from one address within an hour are held in quarantine (mail loops, floods). */
  INBOUND_MAX_NEW_PER_HOUR: z.coerce.number().int().min(1).max(10_000).default(20),
  /**
   * authserv-ids (comma-separated) of the organisation's own mail servers, whose
   * Authentication-Results fields are believed (see src/mail/auth-results.ts). Unset: every
   * such field is ignored, since anyone can write one into a message.
   */
  MAIL_TRUSTED_AUTHSERV_ID: z
    .string()
    .transform((v) => v.split(',').map((id) => id.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[^\s;()"]{1,255}$/, 'must be authserv-ids (host names) separated by commas')).min(1))
    .optional(),
  /** With MAIL_TRUSTED_AUTHSERV_ID: mail that the trusted server did not find authenticated (PASS) goes to quarantine. */
  MAIL_REQUIRE_AUTHENTICATION: bool.default(false),
  /** "Request received" mails to one address / one domain per hour, at most (backscatter). */
  MAIL_ACK_MAX_PER_ADDRESS: z.coerce.number().int().min(0).max(10_000).default(5),
  MAIL_ACK_MAX_PER_DOMAIN: z.coerce.number().int().min(0).max(100_000).default(50),
  /** Customer-facing forms (status lookup, requests, replies): attempts per client per 15 minutes. */
  PUBLIC_FORM_LIMIT: z.coerce.number().int().min(1).max(100_000).default(30),

  // Attached files (web forms, customers, inbound mail): src/services/attachments/limits.ts.
  /** Bytes per file. */
  ATTACHMENT_MAX_FILE_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(20 * 1024 * 1024),
  /** Bytes of all files of one form or mail together. */
  ATTACHMENT_MAX_TOTAL_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(25 * 1024 * 1024),
  /** Files per form or mail. */
  ATTACHMENT_MAX_FILES: z.coerce.number().int().min(1).max(1000).default(10),
  /** Bytes that all uploads in flight in one process may hold in memory together. */
  UPLOAD_MEMORY_BYTES: z.coerce.number().int().min(1024 * 1024).max(16 * 1024 * 1024 * 1024).default(256 * 1024 * 1024),

  // Live updates of ticket pages (src/web/live.ts).
  /** Live ticket pages (event streams) one user may have open on one instance (a browser has 6 connections per server). */
  LIVE_MAX_PER_USER: z.coerce.number().int().min(1).max(100).default(4),
  /** Live ticket pages open on one instance, at most. */
  LIVE_MAX_STREAMS: z.coerce.number().int().min(1).max(100_000).default(1000),

  // Run book automations (src/services/runbooks/automation.ts, src/services/outgoing/).
  /** Let automations reach private, loopback and link-local addresses, and plain http:// to them (a receiver on the LAN; tests). */
  AUTOMATION_ALLOW_PRIVATE: bool.default(false),
  /** Longest one automation request may take (ms); past it the attempt failed and is retried. */
  AUTOMATION_TIMEOUT_MS: z.coerce.number().int().min(500).max(60_000).default(10_000),
  /** Automation requests this process sends at once; 0 = this process sends none (another instance does). */
  AUTOMATION_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(32).default(2),

  // Webhooks (src/services/webhooks/): the same outgoing policy (AUTOMATION_ALLOW_PRIVATE,
  // AUTOMATION_TIMEOUT_MS) applies to their requests.
  /** Webhook deliveries this process sends at once; 0 = this process sends none (another instance does). */
  WEBHOOK_WORKER_CONCURRENCY: z.coerce.number().int().min(0).max(32).default(2),
  /** Attempts per delivery at most (the first included); then it is marked failed. */
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
  /** The wait before the first retry (ms); each later wait is 3 times the one before (8 attempts: about 18 hours in all). */
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).max(24 * 3600_000).default(60_000),
  /** How often deliveries that are due and have no job (their process died) are queued again (seconds); 0: not in this process. */
  WEBHOOK_SWEEP_SECONDS: z.coerce.number().int().min(0).max(3600).default(60),
  // The REST API (src/web/api).
  /** Requests one API token may make per minute, counted across all instances (then 429). */
  API_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(600),
  /** Largest JSON body the API accepts, in bytes (then 413). */
  API_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
  // Automatic error reports (src/services/errors/, src/web/routes/error-intake.ts).
  /** Events accepted per minute per project key, across all instances (a project may set its own). */
  ERROR_REPORTS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000_000).default(12_000),
  /** How often each process writes the events it buffered (ms); 0: each event at once. */
  ERROR_REPORTS_FLUSH_MS: z.coerce.number().int().min(0).max(10_000).default(500),
  /** Bytes of an error report's body as sent (compressed or not). */
  ERROR_REPORTS_MAX_BYTES: z.coerce.number().int().min(1024).max(100 * 1024 * 1024).default(1024 * 1024),
  /** Bytes of an error report's body once decompressed (zip bombs stop here). */
  ERROR_REPORTS_MAX_DECOMPRESSED_BYTES: z.coerce.number().int().min(1024).max(200 * 1024 * 1024).default(8 * 1024 * 1024),
  /** Kept events (stack traces, breadcrumbs) older than this are deleted; counters stay. */
  ERROR_EVENTS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),

  // Running in production: logs, metrics, shutdown (README, "Running in production").
  /** Log level of the JSON log lines on stdout (default info; silent under vitest unless set). */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** GET /metrics on the app's port needs `Authorization: Bearer <this>`; unset: no /metrics there. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** A separate listener serving /metrics without a token (keep the port private); unset: none. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** The address METRICS_PORT listens on (default: HOST, else all interfaces). */
  METRICS_HOST: z.string().min(1).optional(),
  /** On SIGTERM: how long requests in flight and running jobs may take to finish (ms); then they are cut. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),

  // Rendering of users' texts (Markdown, comparisons of revisions) in worker threads.
  /** Render worker threads at most in this process. */
  RENDER_WORKERS: z.coerce.number().int().min(1).max(16).default(1),
  /** Longest one rendering or comparison may take (ms); past it the text is shown as written. */
  RENDER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
});

export type Config = Readonly<z.infer<typeof schema>>;

export class ConfigError extends Error {}

/** Reads and validates the environment once; a bad value names the variable and stops start-up. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings (as left by copying .env.example) mean "unset".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  if (parsed.data.MAIL_REQUIRE_AUTHENTICATION && !parsed.data.MAIL_TRUSTED_AUTHSERV_ID) {
    throw new ConfigError('Invalid configuration:\n  MAIL_REQUIRE_AUTHENTICATION: needs MAIL_TRUSTED_AUTHSERV_ID (whose results to believe)');
  }
  if (parsed.data.WEB_CONCURRENCY > 1 && !parsed.data.DATABASE_URL) {
    throw new ConfigError(
      'Invalid configuration:\n  WEB_CONCURRENCY: more than 1 needs DATABASE_URL (the embedded database belongs to one process)',
    );
  }
  return Object.freeze(parsed.data);
}
