// The error intake, compatible with the Sentry protocol: any application using a Sentry SDK
// reports here by pointing its DSN at Caseboard (`https://<key>@<host>/<projectId>`):
//   POST /api/:projectId/envelope/   (current SDKs)     POST /api/:projectId/store/  (older ones)
// with the key in X-Sentry-Auth (`sentry_key=`), the `sentry_key` query parameter or the
// envelope header's `dsn`. And, for programs without an SDK, a small JSON endpoint:
//   POST /api/:projectId/events   Authorization: Bearer <key>   (README: "Error reports")
// Mounted before the session and CSRF middleware: these requests carry no cookies and need none.
// Bodies may be gzip, deflate or br: the raw body and the decompressed one each have a hard cap.
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { Router, type Request, type Response } from 'express';
import getRawBody from 'raw-body';
import { parseEnvelope } from '@sentry/core';
import type { Db } from '../../db/client.js';
import type { ErrorProject } from '../../generated/prisma/client.js';
import { BadEventError, fromJsonEvent, fromSentryEvent, jsonEventSchema, type ReportedEvent } from '../../services/errors/event.js';
import { projectByKey } from '../../services/errors/projects.js';
import { IntakeBusyError, KeyThrottle, type ErrorIntake } from '../../services/errors/intake.js';

export interface IntakeLimits {
  /** Bytes of a request body as sent (compressed or not). */
  maxBodyBytes: number;
  /** Bytes of a body once decompressed (a zip bomb stops here). */
  maxDecompressedBytes: number;
  /** Events per minute per project key (a project may set its own). */
  perMinute: number;
}

/** Refused with a status and a message (JSON; problem+json on the JSON endpoint). */
class IntakeError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

async function readBody(req: Request, limits: IntakeLimits): Promise<Buffer> {
  let raw: Buffer;
  try {
    raw = await getRawBody(req, { limit: limits.maxBodyBytes });
  } catch (err) {
    const status = (err as { status?: number }).status ?? 400;
    throw new IntakeError(status === 413 ? 413 : 400, status === 413 ? `The body is larger than ${limits.maxBodyBytes} bytes.` : 'The body could not be read.');
  }
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const opts = { maxOutputLength: limits.maxDecompressedBytes };
  try {
    switch (encoding) {
      case 'identity':
      case '':
        return raw;
      case 'gzip':
      case 'x-gzip':
        return await gunzip(raw, opts);
      case 'deflate':
        // zlib-wrapped as HTTP says, or raw deflate as some clients send.
        return await inflate(raw, opts).catch((err: unknown) => {
          if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw err;
          return inflateRaw(raw, opts);
        });
      case 'br':
        return await brotli(raw, opts);
      default:
        throw new IntakeError(415, `Content-Encoding ${encoding.slice(0, 40)} is not supported (gzip, deflate, br or none).`);
    }
  } catch (err) {
    if (err instanceof IntakeError) throw err;
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new IntakeError(413, `The body is larger than ${limits.maxDecompressedBytes} bytes once decompressed.`);
    }
    throw new IntakeError(400, `The body is not valid ${encoding} data.`);
  }
}

/** The key from X-Sentry-Auth / Authorization (`Sentry sentry_key=…` or `Bearer …`) or the query. */
function keyFromRequest(req: Request): string | null {
  const auth = `${req.get('x-sentry-auth') ?? ''} ${req.get('authorization') ?? ''}`;
  const sentry = /(?:^|[\s,])sentry_key\s*=\s*([^,\s]+)/i.exec(auth);
  if (sentry) return sentry[1]!;
  const bearer = /(?:^|\s)Bearer\s+(\S+)/i.exec(auth);
  if (bearer) return bearer[1]!;
  const q = req.query.sentry_key;
  return typeof q === 'string' && q ? q : null;
}

/** The key in an envelope header's DSN, when it is for this project. */
function keyFromDsn(dsn: unknown): string | null {
  if (typeof dsn !== 'string' || dsn.length > 2000) return null;
  try {
    return decodeURIComponent(new URL(dsn).username) || null;
  } catch {
    return null;
  }
}

async function authenticate(db: Db, key: string | null, projectId: number): Promise<ErrorProject> {
  if (!key || key.length > 200) throw new IntakeError(401, 'No project key: send X-Sentry-Auth with sentry_key, or use the DSN you were given.');
  const project = await projectByKey(db, key);
  if (!project) throw new IntakeError(401, 'Unknown project key.');
  if (project.id !== projectId) throw new IntakeError(403, 'This key is not for that project.');
  if (!project.active) throw new IntakeError(403, 'This project is switched off.');
  return project;
}

const parseJson = (bytes: Uint8Array | Buffer, what: string): unknown => {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new IntakeError(400, `The ${what} is not valid JSON.`);
  }
};

/** The event items of an envelope (every other kind — sessions, client reports, transactions, attachments — is accepted and ignored). */
function envelopeEvents(bytes: Buffer): { header: Record<string, unknown>; events: unknown[] } {
  let envelope: ReturnType<typeof parseEnvelope>;
  try {
    envelope = parseEnvelope(bytes);
  } catch {
    throw new IntakeError(400, 'The body is not a valid Sentry envelope.');
  }
  const [header, items] = envelope;
  if (typeof header !== 'object' || header === null || !Array.isArray(items)) throw new IntakeError(400, 'The body is not a valid Sentry envelope.');
  const events: unknown[] = [];
  for (const item of items) {
    const [itemHeader, payload] = item as [{ type?: unknown }, unknown];
    if (itemHeader?.type !== 'event') continue;
    events.push(payload instanceof Uint8Array ? parseJson(payload, 'event') : payload);
  }
  if (events.length > 10) throw new IntakeError(400, 'An envelope carries at most 10 events.');
  return { header: header as Record<string, unknown>, events };
}

function send(res: Response, err: unknown, problemJson: boolean): void {
  if (err instanceof IntakeBusyError) err = new IntakeError(503, 'Busy writing reports: try again in a second.', { 'Retry-After': '1' });
  if (!(err instanceof IntakeError)) throw err;
  res.set(err.headers);
  if (problemJson) {
    res.status(err.status).type('application/problem+json').send(JSON.stringify({ type: 'about:blank', title: err.message, status: err.status, errors: err.errors }));
  } else {
    res.status(err.status).json({ detail: err.message });
  }
}

export function errorIntakeRoutes(db: Db, intake: ErrorIntake, limits: IntakeLimits): Router {
  const router = Router();
  const throttle = new KeyThrottle(db, limits.perMinute);

  /** The events of one request: throttled together, then buffered (answered at once). */
  const take = async (project: ErrorProject, events: ReportedEvent[]) => {
    if (events.length === 0) return;
    const t = await throttle.take(project, events.length);
    if (!t.allowed) {
      throw new IntakeError(429, 'Too many events for this key: try again later.', {
        'Retry-After': String(t.retryAfter),
        // Sentry's format: seconds:categories (none = all):scope.
        'X-Sentry-Rate-Limits': `${t.retryAfter}::key`,
      });
    }
    return events.map((e) => intake.accept(project, e));
  };

  const projectIdOf = (req: Request): number | null => {
    const id = String(req.params.projectId);
    return /^\d{1,9}$/.test(id) ? Number(id) : null;
  };

  // Browser SDKs post with a CORS-safe content type and the key in the query (no preflight):
  // answers say any origin may read them.
  router.post('/api/:projectId/store', async (req, res, next) => {
    const projectId = projectIdOf(req);
    if (projectId === null) return next();
    res.set('Access-Control-Allow-Origin', '*');
    try {
      const body = await readBody(req, limits);
      const project = await authenticate(db, keyFromRequest(req), projectId);
      const event = readEvent(parseJson(body, 'body'));
      await take(project, [event]);
      res.json({ id: event.eventId });
    } catch (err) {
      send(res, err, false);
    }
  });

  router.post('/api/:projectId/envelope', async (req, res, next) => {
    const projectId = projectIdOf(req);
    if (projectId === null) return next();
    res.set('Access-Control-Allow-Origin', '*');
    try {
      const body = await readBody(req, limits);
      // A key in the headers or query is checked before the body is parsed; else the envelope's DSN's.
      const sent = keyFromRequest(req);
      const known = sent === null ? null : await authenticate(db, sent, projectId);
      const { header, events } = envelopeEvents(body);
      const project = known ?? (await authenticate(db, keyFromDsn(header.dsn), projectId));
      const read = events.map(readEvent);
      await take(project, read);
      res.json(read.length ? { id: read[0]!.eventId } : {});
    } catch (err) {
      send(res, err, false);
    }
  });

  router.post('/api/:projectId/events', async (req, res, next) => {
    const projectId = projectIdOf(req);
    if (projectId === null) return next();
    try {
      const body = await readBody(req, limits);
      const project = await authenticate(db, keyFromRequest(req), projectId);
      if (!req.is('application/json')) throw new IntakeError(415, 'Send the event as application/json.');
      const parsed = jsonEventSchema.safeParse(parseJson(body, 'body'));
      if (!parsed.success) {
        const errors = Object.fromEntries(parsed.error.issues.map((i) => [i.path.join('.') || '(body)', i.message]));
        throw new IntakeError(422, 'The event is not valid: see errors.', {}, errors);
      }
      const event = fromJsonEvent(parsed.data);
      const [written] = (await take(project, [event]))!;
      const recorded = await written!;
      res.status(202).json({ eventId: event.eventId, problemId: recorded.problemId, ticket: recorded.reference, created: recorded.created, reopened: recorded.reopened });
    } catch (err) {
      send(res, err, true);
    }
  });

  return router;
}

function readEvent(raw: unknown): ReportedEvent {
  try {
    return fromSentryEvent(raw);
  } catch (err) {
    if (err instanceof BadEventError) throw new IntakeError(400, err.message);
    throw err;
  }
}
