// The app's one logger: JSON lines on stdout (pino), one per event, level from LOG_LEVEL.
// Under vitest it is silent unless LOG_LEVEL says otherwise (tests that look at log lines make
// their own logger with a destination they read: see src/web/middleware/request-log.ts).
//
// Never log secrets or personal data: no cookies, Authorization headers, CSRF tokens, passwords,
// form bodies, email addresses or customers' names. The paths below are redacted as a last line of
// defence should an object carrying them be logged by mistake.
import pino, { type DestinationStream, type Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-csrf-token"]',
  'req.headers["x-sentry-auth"]',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'email',
  '*.email',
  'body',
  '*.body',
  '_csrf',
  '*._csrf',
];

function defaultLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const wanted = env.LOG_LEVEL as LogLevel | undefined;
  if (wanted && (LOG_LEVELS as readonly string[]).includes(wanted)) return wanted;
  return env.VITEST ? 'silent' : 'info';
}

/** A logger with the app's settings; `destination` for tests that read what was logged. */
export function createLogger(opts: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? defaultLevel(),
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      // Errors logged as { err } keep their type, message and stack.
      serializers: { err: pino.stdSerializers.err },
    },
    opts.destination,
  );
}

/** The process's logger (server, jobs, mail); `log.child({ component: 'mail' })` tags the source. */
export const log: Logger = createLogger();

/** Sets the process logger's level (server.ts, from the validated LOG_LEVEL). */
export function setLogLevel(level: LogLevel): void {
  log.level = level;
}

export type { Logger };

// For messages written console-style ("[mail] … :", err): the same text, as a JSON line; an
// Error among the arguments is kept whole (type, message, stack) under `err`.
import { format } from 'node:util';
const split = (args: unknown[]) => {
  const err = args.find((a) => a instanceof Error);
  const text = format(...args.map((a) => (a instanceof Error ? a.message : a)));
  return { err, text };
};
export function logInfo(...args: unknown[]): void {
  log.info(format(...args));
}
export function logWarn(...args: unknown[]): void {
  const { err, text } = split(args);
  log.warn(err ? { err } : {}, text);
}
export function logError(...args: unknown[]): void {
  const { err, text } = split(args);
  log.error(err ? { err } : {}, text);
}
